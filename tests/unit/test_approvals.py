"""flow_manager.approvals: the token items' conditions, and the decision as a task result."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from flow_manager.approvals import (
    CLAIM_SECONDS,
    ApprovalBeingDecided,
    ApprovalStore,
    decision_result,
    record_waiting,
)
from tests.support.template import create_tables, load_template

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp())


def event(token: str = "token-1", **extra: Any) -> dict[str, Any]:
    return {
        "flow_id": "orders",
        "flow_version": 1,
        "execution_id": "e1",
        "task": "manager_ok",
        "retry_count": 0,
        "parameters": {"message": "Approve order?"},
        "context": {},
        "results": {},
        "task_token": token,
        "timeout_seconds": 60,
        **extra,
    }


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApprovalStore]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        names = create_tables(boto3.client("dynamodb", region_name="us-east-1"), load_template())
        yield ApprovalStore(names["FlowsTable"], "us-east-1")


# ---- recording ---------------------------------------------------------------------------


def test_the_token_is_stored_with_since_expiry_and_message(store: ApprovalStore) -> None:
    record_waiting(event(), store, clock=lambda: NOW)
    waiting = store.get("e1", "manager_ok")
    assert waiting is not None
    assert waiting.task_token == "token-1"
    assert waiting.since == "2026-12-02T09:00:00.000Z"
    assert waiting.expires_at == "2026-12-02T09:01:00.000Z"
    assert waiting.message == "Approve order?"


def test_a_retried_invocation_replaces_a_waiting_token(store: ApprovalStore) -> None:
    # Given a waiting token, when the state is retried with a new token
    record_waiting(event("token-1"), store, clock=lambda: NOW)
    record_waiting(event("token-2"), store, clock=lambda: NOW)
    # Then the new token is the one a decision will use (the old one is dead)
    waiting = store.get("e1", "manager_ok")
    assert waiting is not None
    assert waiting.task_token == "token-2"


def test_a_token_being_decided_is_never_overwritten(store: ApprovalStore) -> None:
    # Given a token a decision has claimed
    waiting = record_waiting(event("token-1"), store, clock=lambda: NOW)
    assert store.claim(waiting, EPOCH)
    # When the function is invoked again for the task
    with pytest.raises(ApprovalBeingDecided):
        record_waiting(event("token-2"), store, clock=lambda: NOW)
    # Then the claimed token stays
    kept = store.get("e1", "manager_ok")
    assert kept is not None
    assert kept.task_token == "token-1"


@pytest.mark.parametrize(
    "broken",
    [{"task_token": ""}, {"task_token": None}, {"execution_id": ""}, {"timeout_seconds": 0}],
    ids=["empty-token", "no-token", "no-execution", "zero-timeout"],
)
def test_an_event_without_a_usable_token_raises_so_the_task_fails(
    store: ApprovalStore, broken: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        record_waiting(event(**broken), store, clock=lambda: NOW)
    assert store.get("e1", "manager_ok") is None


# ---- claiming ----------------------------------------------------------------------------


def test_only_one_request_can_claim_a_token(store: ApprovalStore) -> None:
    waiting = record_waiting(event(), store, clock=lambda: NOW)
    assert store.claim(waiting, EPOCH)
    assert not store.claim(waiting, EPOCH + 1)


def test_a_claim_whose_lease_ran_out_can_be_taken_over(store: ApprovalStore) -> None:
    # Given a claim by a request that died
    waiting = record_waiting(event(), store, clock=lambda: NOW)
    assert store.claim(waiting, EPOCH)
    # Then another request may claim it once the lease is over
    assert store.claim(waiting, EPOCH + CLAIM_SECONDS + 1)


def test_a_released_claim_can_be_claimed_again(store: ApprovalStore) -> None:
    waiting = record_waiting(event(), store, clock=lambda: NOW)
    assert store.claim(waiting, EPOCH)
    store.release(waiting)
    assert store.claim(waiting, EPOCH + 1)


def test_deleting_an_old_token_keeps_a_newer_one(store: ApprovalStore) -> None:
    old = record_waiting(event("token-1"), store, clock=lambda: NOW)
    record_waiting(event("token-2"), store, clock=lambda: NOW)
    store.delete(old)
    kept = store.get("e1", "manager_ok")
    assert kept is not None
    assert kept.task_token == "token-2"


# ---- the decision as the task's result ---------------------------------------------------


def test_an_approval_is_a_success_with_who_and_why() -> None:
    result = decision_result(True, "arn:aws:iam::1:user/a", "fine", "2026-12-02T09:00:00.000Z")
    assert result.model_dump() == {
        "status": "success",
        "data": {
            "approved": True,
            "by": "arn:aws:iam::1:user/a",
            "comment": "fine",
            "decided_at": "2026-12-02T09:00:00.000Z",
        },
        "error": None,
    }


def test_a_rejection_is_a_failure_whose_error_carries_the_comment() -> None:
    result = decision_result(False, "local", "too much", "t")
    assert result.status == "failure"
    assert result.error == "rejected: too much"
    assert result.data["approved"] is False


def test_a_rejection_without_comment_says_rejected() -> None:
    assert decision_result(False, "local", None, "t").error == "rejected"
