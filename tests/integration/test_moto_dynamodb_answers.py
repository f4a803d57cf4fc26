"""moto_dynamodb writes the item operations' answers as JSON itself: boto3 must read
every one of them, and every error, exactly as it reads moto's generic serializer's."""

from __future__ import annotations

from typing import Any
from unittest import mock

from botocore.exceptions import ClientError
from moto.core.responses import ActionResult

from tests.support.dynamodb import create_keyed_table, dynamodb_client

TABLE = "answers"
KEY = {"pk": {"S": "p"}, "sk": {"S": "a"}}
# Every kind of attribute value, binary ones (raw bytes in moto) included.
ITEM = {
    **KEY,
    "s": {"S": 'é ✓ "quoted"'},
    "n": {"N": "12.50"},
    "b": {"B": b"\x00\xffbinary"},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "list": {"L": [{"S": "a"}, {"N": "1"}, {"NULL": True}]},
    "map": {"M": {"nested": {"BOOL": False}, "deeper": {"M": {"z": {"B": b"zz"}}}}},
}


def script(db: Any) -> list[Any]:
    """Every item operation the service uses (and its errors), answers in order."""
    create_keyed_table(db, TABLE)
    answers: list[Any] = []

    def call(name: str, **request: Any) -> None:
        try:
            answer = getattr(db, name)(**request)
            answer.pop("ResponseMetadata")
            answers.append((name, answer))
        except ClientError as exc:
            answers.append((name, exc.response["Error"], exc.response.get("CancellationReasons")))

    total = {"ReturnConsumedCapacity": "TOTAL"}
    call("put_item", TableName=TABLE, Item=ITEM, **total)
    call("put_item", TableName=TABLE, Item=ITEM, ReturnValues="ALL_OLD")
    call(
        "put_item",
        TableName=TABLE,
        Item=KEY,
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    call("get_item", TableName=TABLE, Key=KEY, ConsistentRead=True, **total)
    call("get_item", TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "missing"}})
    call(
        "get_item",
        TableName=TABLE,
        Key=KEY,
        ProjectionExpression="s, #m.deeper",
        ExpressionAttributeNames={"#m": "map"},
    )
    call("get_item", TableName="no-such-table", Key=KEY)
    for n in range(5):
        call("put_item", TableName=TABLE, Item={"pk": {"S": "p"}, "sk": {"S": f"q{n}"}})
    call(
        "query",
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Limit=3,
        **total,
    )
    call("scan", TableName=TABLE, Limit=2)
    call(
        "update_item",
        TableName=TABLE,
        Key=KEY,
        UpdateExpression="SET n = n + :one, added = :b",
        ExpressionAttributeValues={":one": {"N": "1"}, ":b": {"B": b"new"}},
        ReturnValues="ALL_NEW",
    )
    call("batch_get_item", RequestItems={TABLE: {"Keys": [KEY, {**KEY, "sk": {"S": "q1"}}]}})
    call(
        "batch_write_item",
        RequestItems={TABLE: [{"PutRequest": {"Item": {**KEY, "sk": {"S": "w"}}}}]},
        **total,
    )
    call(
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**KEY, "sk": {"S": "t"}}}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": KEY,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ],
    )
    call("transact_write_items", TransactItems=[{"Delete": {"TableName": TABLE, "Key": KEY}}])
    call("transact_get_items", TransactItems=[{"Get": {"TableName": TABLE, "Key": KEY}}])
    call("delete_item", TableName=TABLE, Key={**KEY, "sk": {"S": "q0"}}, ReturnValues="ALL_OLD")
    return answers


def test_boto3_reads_every_item_answer_as_it_reads_motos_own() -> None:
    # Given the same operations against moto as it is
    with dynamodb_client(patched=False) as db:
        expected = script(db)
    # When they are made with the patch
    with dynamodb_client(patched=True) as db:
        answered = script(db)
    # Then every answer and every error reads the same, binary values included
    assert answered == expected
    assert any(isinstance(a[1], dict) and a[1].get("Item", {}).get("b") for a in answered)
    assert sum(1 for a in answered if "Code" in a[1]) >= 3  # conditions, a missing table


def test_item_answers_do_not_go_through_motos_serializer() -> None:
    # Given the patched moto with an item, where moto's serializer would fail
    with dynamodb_client(patched=True) as db:
        script(db)
        with mock.patch.object(ActionResult, "execute_result", side_effect=AssertionError):
            # When items are written and read
            db.put_item(TableName=TABLE, Item=ITEM)
            item = db.get_item(TableName=TABLE, Key=KEY)["Item"]
            page = db.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "p"}},
            )
    # Then they were answered, binary values decoded as boto3 gives them
    assert item["b"] == {"B": b"\x00\xffbinary"}
    assert page["Count"] == len(page["Items"]) > 1
