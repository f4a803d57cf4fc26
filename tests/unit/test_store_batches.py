"""FlowStore's batch calls retry what DynamoDB left unprocessed with backoff and jitter,
a bounded number of times (issue 7 item 16)."""

from __future__ import annotations

from typing import Any

import pytest

from flow_manager.errors import ServiceUnavailable
from flow_manager.store import (
    BATCH_ATTEMPTS,
    BATCH_BACKOFF_BASE_SECONDS,
    EXEC_SK,
    FlowStore,
    exec_pk,
)

TABLE = "FlowsTable"


class StubDynamoDB:
    """Answers batch writes with some items unprocessed, `refusals` times in a row."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.requests: list[dict[str, Any]] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        if len(self.requests) <= self.refusals:
            return {"UnprocessedItems": {TABLE: RequestItems[TABLE][:1]}}
        return {"UnprocessedItems": {}}

    def delete_item(self, **_: Any) -> dict[str, Any]:
        return {}


def store_with(db: StubDynamoDB, sleeps: list[float]) -> FlowStore:
    store = FlowStore(TABLE, "us-east-1", sleep=sleeps.append, jitter=lambda: 1.0)
    store.__dict__["_db"] = db  # the cached client, replaced
    return store


def test_unprocessed_items_are_retried_with_growing_pauses_until_done() -> None:
    # Given DynamoDB that leaves one item unprocessed twice, then takes it
    db, sleeps = StubDynamoDB(refusals=2), list[float]()
    store = store_with(db, sleeps)
    keys = [(exec_pk(f"e{n}"), EXEC_SK) for n in range(3)]
    # When the keys are deleted
    store._delete_keys(keys)
    # Then only the unprocessed item is sent again, after pauses that double
    assert [len(r[TABLE]) for r in db.requests] == [3, 1, 1]
    assert sleeps == [BATCH_BACKOFF_BASE_SECONDS, 2 * BATCH_BACKOFF_BASE_SECONDS]


def test_a_batch_that_never_gets_done_is_a_retryable_error() -> None:
    # Given DynamoDB that never processes the item
    db, sleeps = StubDynamoDB(refusals=1000), list[float]()
    store = store_with(db, sleeps)
    # When a key is deleted / Then after the bounded attempts the request is told to retry
    with pytest.raises(ServiceUnavailable):
        store._delete_keys([(exec_pk("e"), EXEC_SK)])
    assert len(db.requests) == BATCH_ATTEMPTS
    assert len(sleeps) == BATCH_ATTEMPTS - 1
