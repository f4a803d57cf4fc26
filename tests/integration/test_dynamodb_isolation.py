"""moto's DynamoDB under concurrent writers behaves as DynamoDB: a failed transaction
never undoes another request's acknowledged write (issue 7 item 13).

Without `flow_manager_local.moto_dynamodb`, moto restores a whole-table snapshot when a
transaction is cancelled, so a write acknowledged in between is lost; the snapshot can
also be torn by a concurrent writer. The race below shows it in nearly every burst
unpatched. To measure it (the figures in the closing note of issue 7):

    .venv/bin/python -m tests.integration.test_dynamodb_isolation --bursts 10 --unpatched
    .venv/bin/python -m tests.integration.test_dynamodb_isolation --bursts 10
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.dynamodb import dynamodb_client
from tests.support.sfn import REGION

TABLE = "race"
WRITERS = 4  # each increments its own counter item with conditional writes
CANCELLERS = 4  # each runs transactions that are always cancelled, on the same table
ROUNDS = 40  # acknowledged writes per writer per burst
FILLER_ITEMS = 50  # a table worth copying: moto's snapshot takes long enough to race
BURSTS = 2  # unpatched, a burst loses a write ~90% of the time (see the module's doc)


@dataclass
class Outcome:
    lost: int = 0  # acknowledged writes that a later read did not see
    errors: list[str] = field(default_factory=list)  # requests that failed for no reason


@contextmanager
def dynamodb(*, patched: bool) -> Iterator[Any]:
    with dynamodb_client(patched=patched) as db:
        db.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(FILLER_ITEMS):
            db.put_item(TableName=TABLE, Item={"pk": {"S": f"filler#{n}"}, "x": {"S": "x" * 200}})
        yield db


def burst(db: Any) -> Outcome:
    """Writers make conditional writes (single-item and transactional, as FlowStore does)
    while cancellers' transactions fail on the same table; every acknowledged write must
    still be there when it is read back, and at the end."""
    outcome = Outcome()
    done = threading.Event()
    acknowledged: dict[int, int] = {}
    lock = threading.Lock()

    def note_error(exc: Exception) -> None:
        with lock:
            outcome.errors.append(repr(exc))

    def writer(i: int) -> None:
        key = {"pk": {"S": f"counter#{i}"}}
        db.put_item(TableName=TABLE, Item={**key, "n": {"N": "0"}})
        current = 0
        for round_ in range(ROUNDS):
            values = {":next": {"N": str(current + 1)}, ":current": {"N": str(current)}}
            try:
                if round_ % 2:
                    db.transact_write_items(
                        TransactItems=[
                            {
                                "Update": {
                                    "TableName": TABLE,
                                    "Key": key,
                                    "UpdateExpression": "SET n = :next",
                                    "ConditionExpression": "n = :current",
                                    "ExpressionAttributeValues": values,
                                }
                            }
                        ]
                    )
                else:
                    db.put_item(
                        TableName=TABLE,
                        Item={**key, "n": values[":next"]},
                        ConditionExpression="n = :current",
                        ExpressionAttributeValues={":current": values[":current"]},
                    )
                current += 1  # acknowledged
            except Exception as exc:  # nobody else writes this item: no condition may fail
                note_error(exc)
            seen = int(db.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]["n"]["N"])
            if seen < current:
                with lock:
                    outcome.lost += current - seen
            current = seen
        acknowledged[i] = current

    def canceller(j: int) -> None:
        while not done.is_set():
            try:
                db.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"scratch#{j}"}}}},
                        {
                            "ConditionCheck": {
                                "TableName": TABLE,
                                "Key": {"pk": {"S": "missing"}},
                                "ConditionExpression": "attribute_exists(pk)",
                            }
                        },
                    ]
                )
            except db.exceptions.TransactionCanceledException:
                pass  # what it is for
            except Exception as exc:
                note_error(exc)

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    cancellers = [threading.Thread(target=canceller, args=(j,)) for j in range(CANCELLERS)]
    for thread in writers + cancellers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in cancellers:
        thread.join()
    for i, count in acknowledged.items():
        item = db.get_item(TableName=TABLE, Key={"pk": {"S": f"counter#{i}"}}, ConsistentRead=True)
        outcome.lost += max(0, count - int(item["Item"]["n"]["N"]))
    # a scratch item exists only if a cancelled transaction's first write survived
    scratch = [
        db.get_item(TableName=TABLE, Key={"pk": {"S": f"scratch#{j}"}}).get("Item")
        for j in range(CANCELLERS)
    ]
    outcome.lost += sum(1 for item in scratch if item is not None)
    return outcome


def test_a_cancelled_transaction_never_undoes_a_concurrent_acknowledged_write() -> None:
    # Given moto's DynamoDB with the local stack's patch, writers and failing transactions
    with dynamodb(patched=True) as db:
        # When they race on one table, burst after burst
        outcomes = [burst(db) for _ in range(BURSTS)]
    # Then every acknowledged write is still there, and no request failed for nothing
    assert [o.lost for o in outcomes] == [0] * BURSTS
    assert [e for o in outcomes for e in o.errors] == []


MISSING_CHECK = {
    "ConditionCheck": {
        "TableName": TABLE,
        "Key": {"pk": {"S": "missing"}},
        "ConditionExpression": "attribute_exists(pk)",
    }
}


def test_a_cancelled_transaction_puts_back_every_item_it_had_written() -> None:
    # Given an item to update, one to delete, and a key that does not exist yet
    with dynamodb(patched=True) as db:
        db.put_item(TableName=TABLE, Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
        db.put_item(TableName=TABLE, Item={"pk": {"S": "doomed"}, "n": {"N": "1"}})
        # When one transaction writes all three, then fails its last condition
        with pytest.raises(db.exceptions.TransactionCanceledException):
            db.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": {"pk": {"S": "kept"}},
                            "UpdateExpression": "SET n = :two, added = :two",
                            "ExpressionAttributeValues": {":two": {"N": "2"}},
                        }
                    },
                    {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "doomed"}}}},
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "new"}}}},
                    MISSING_CHECK,
                ]
            )

        # Then each item is as it was before: updated in place, deleted, created
        def read(pk: str) -> Any:
            return db.get_item(TableName=TABLE, Key={"pk": {"S": pk}}).get("Item")

        assert read("kept") == {"pk": {"S": "kept"}, "n": {"N": "1"}}
        assert read("doomed") == {"pk": {"S": "doomed"}, "n": {"N": "1"}}
        assert read("new") is None


def test_a_transaction_keeps_its_table_and_the_items_it_did_not_write() -> None:
    # Given the table the filler items live in
    with dynamodb(patched=True) as db:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        table = backend.tables[TABLE]
        # When a transaction commits and another is cancelled
        db.transact_write_items(
            TransactItems=[{"Put": {"TableName": TABLE, "Item": {"pk": {"S": "a"}}}}]
        )
        with pytest.raises(db.exceptions.TransactionCanceledException):
            db.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "b"}}}},
                    MISSING_CHECK,
                ]
            )
        # Then the table is the same object, not a snapshot put back, and holds the rest
        assert backend.tables[TABLE] is table
        assert db.scan(TableName=TABLE, Select="COUNT")["Count"] == FILLER_ITEMS + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--unpatched", action="store_true", help="moto as it ships")
    options = parser.parse_args()
    with dynamodb(patched=not options.unpatched) as db:
        outcomes = [burst(db) for _ in range(options.bursts)]
    print(
        f"{'unpatched' if options.unpatched else 'patched'} moto: bursts={options.bursts} "
        f"bursts_losing_writes={sum(1 for o in outcomes if o.lost)} "
        f"lost_writes={sum(o.lost for o in outcomes)} "
        f"failed_requests={sum(len(o.errors) for o in outcomes)}"
    )


if __name__ == "__main__":
    main()
