"""moto_dynamodb: a Query of a table's own key reads that partition only (moto lists and
sorts every item of the table for it), and answers exactly what moto answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from moto.dynamodb.models.table import Table

from tests.support.dynamodb import create_keyed_table, dynamodb_client

TABLE = "partitions"

# Each a Query's parameters besides TableName: sort-key conditions, order, paging,
# filters and projections, on the partition of "p1" (and one of a missing partition).
QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p1"}}},
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": "p1"}, ":s": {"S": "EXEC#"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":p": {"S": "p1"}, ":a": {"S": "A"}, ":b": {"S": "F"}},
    },
    {
        "KeyConditionExpression": "pk = :p",
        "FilterExpression": "n > :n",
        "ProjectionExpression": "sk, n",
        "ExpressionAttributeValues": {":p": {"S": "p1"}, ":n": {"N": "3"}},
    },
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
]


@contextmanager
def table(*, patched: bool) -> Iterator[Any]:
    with dynamodb_client(patched=patched) as db:
        create_keyed_table(db, TABLE)
        for partition in ("p0", "p1", "p2"):
            for n, sort in enumerate(["EXEC#b", "B", "EXEC#a", "D", "A", "Z", "EXEC#c"]):
                item = {"pk": {"S": partition}, "sk": {"S": sort}, "n": {"N": str(n)}}
                db.put_item(TableName=TABLE, Item=item)
        yield db


def every_page(db: Any, query: dict[str, Any], limit: int | None) -> list[Any]:
    """Every page's items and LastEvaluatedKey, following the keys."""
    pages: list[Any] = []
    request = {"TableName": TABLE, **query, **({"Limit": limit} if limit else {})}
    while True:
        page = db.query(**request)
        pages.append((page["Items"], page.get("LastEvaluatedKey"), page["Count"]))
        if "LastEvaluatedKey" not in page:
            return pages
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("limit", [None, 2])
@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_a_partition_query_answers_what_moto_answers(
    query: dict[str, Any], limit: int | None
) -> None:
    # Given the same table in moto as it is and with the patch
    with table(patched=False) as db:
        expected = every_page(db, query, limit)
    # When the same query is paged through with the patch
    with table(patched=True) as db:
        answered = every_page(db, query, limit)
    # Then every page, its items in order and its key, is the same
    assert answered == expected
    assert any(items for items, _, _ in answered) or query is QUERIES[-1]


def test_a_partition_query_does_not_list_the_whole_table() -> None:
    # Given the patched table, where listing every item would fail
    with (
        table(patched=True) as db,
        mock.patch.object(Table, "all_items", side_effect=AssertionError),
    ):
        # When a partition is queried
        page = db.query(TableName=TABLE, **QUERIES[0])
    # Then it answers that partition's items, sorted by sort key, without listing all
    assert [item["sk"]["S"] for item in page["Items"]] == sorted(
        ["EXEC#b", "B", "EXEC#a", "D", "A", "Z", "EXEC#c"]
    )
