"""Human approval (DESIGN §3.1): the ApprovalFunction stores the task token, the approval
route sends the decision, the report shows what waits and what was decided.

The approval state is hand-made here (what the translator compiles an approval task
to: a `lambda:invoke.waitForTaskToken` Task whose payload carries `$$.Task.Token`, then
a Choice on the task's status) and runs in moto's interpreter with the real
ApprovalFunction handler (functions/approval/app.py) and the real ApiFunction.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from flow_manager.approvals import ApprovalStore, Waiting
from flow_manager.catalog import APPROVAL_KIND
from flow_manager.store import ExecutionRecord, FlowStore
from tests.integration.api.conftest import (
    DEADLINE_SECONDS,
    ROOT,
    Api,
    function_name,
    load_module,
)
from tests.support.sfn import REGION, lambda_arn

TASK = "manager_ok"
FLOW_ID = "orders"
APPROVER_ARN = "arn:aws:iam::123456789012:user/alice"


def approval_definition(timeout_seconds: int) -> str:
    """Start → manager_ok (waits for its token) → Approved | Rejected."""
    result_path = f"$.results.{TASK}"
    status = f"{result_path}.status"
    return json.dumps(
        {
            "StartAt": "Start",
            "States": {
                "Start": {
                    "Type": "Pass",
                    "Parameters": {"context.$": "$", "results": {}},
                    "Next": TASK,
                },
                TASK: {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {
                        "FunctionName": lambda_arn(function_name(APPROVAL_KIND)),
                        "Payload": {
                            "flow_id": FLOW_ID,
                            "flow_version": 1,
                            "execution_id.$": "$$.Execution.Name",
                            "task": TASK,
                            "retry_count.$": "$$.State.RetryCount",
                            "parameters": {"message": "Approve order?"},
                            "context.$": "$.context",
                            "results.$": "$.results",
                            "task_token.$": "$$.Task.Token",
                            "timeout_seconds": timeout_seconds,
                        },
                    },
                    "TimeoutSeconds": timeout_seconds,
                    "ResultPath": result_path,
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "ResultPath": result_path,
                            "Next": "decided",
                        }
                    ],
                    "Next": "decided",
                },
                "decided": {
                    "Type": "Choice",
                    "Choices": [
                        {"Not": {"Variable": status, "IsPresent": True}, "Next": "Rejected"},
                        {"Variable": status, "StringEquals": "success", "Next": "Approved"},
                    ],
                    "Default": "Rejected",
                },
                "Approved": {"Type": "Succeed"},
                "Rejected": {"Type": "Fail", "Error": "TaskFailed", "Cause": TASK},
            },
        }
    )


@dataclass
class Approving:
    api: Api
    store: FlowStore
    approvals: ApprovalStore

    def start(self, timeout_seconds: int = 60) -> str:
        """An execution of the approval flow, indexed as the API's start would index it."""
        sfn = self.api.harness
        machine = sfn.create_state_machine(approval_definition(timeout_seconds))
        execution_id = str(uuid.uuid4())
        execution_arn = sfn.start(machine, {"amount": 1200}, name=execution_id)
        self.store.put_execution(
            ExecutionRecord(
                execution_id=execution_id,
                flow_id=FLOW_ID,
                flow_version=1,
                execution_arn=execution_arn,
                state_machine_arn=machine,
                state_machine_version_arn=machine,
                request_hash="-",
                created_at="2026-12-02T00:00:00.000Z",
            )
        )
        return execution_id

    def wait_until_waiting(self, execution_id: str) -> dict[str, Any]:
        """The report once the ApprovalFunction has stored the token."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while self.approvals.get(execution_id, TASK) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{TASK} of {execution_id} never waited")
            time.sleep(0.02)
        report: dict[str, Any] = self.api.request("GET", f"/executions/{execution_id}").body
        return report

    def decide(self, execution_id: str, body: Any, task: str = TASK, **options: Any) -> Any:
        return self.api.request(
            "POST", f"/executions/{execution_id}/approvals/{task}", body, **options
        )

    def finish(self, execution_id: str) -> None:
        """Leave no execution waiting for a token when the mock goes away (moto's
        StopExecution does not end an execution blocked on a callback): approve it."""
        if self.approvals.get(execution_id, TASK) is not None:
            self.decide(execution_id, {"approve": True})
        self.api.wait(execution_id)


@pytest.fixture(scope="session")
def approval_module() -> ModuleType:
    return load_module(ROOT / "functions" / "approval" / "app.py", "flow_manager_approval_app")


@pytest.fixture
def approving(api: Api, approval_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Approving:
    # ApiFunction's catalog as the template gives it: with the internal approval kind
    catalog = json.loads(os.environ["TASK_CATALOG"])
    catalog[APPROVAL_KIND] = lambda_arn(function_name(APPROVAL_KIND))
    monkeypatch.setenv("TASK_CATALOG", json.dumps(catalog))
    api.module.reset()
    approval_module._store.cache_clear()  # the table of this test's environment
    api.harness.register(function_name(APPROVAL_KIND), approval_module.lambda_handler)
    flows_table = api.module.flows().store.table
    return Approving(api, FlowStore(flows_table, REGION), ApprovalStore(flows_table, REGION))


def with_user(arn: str) -> dict[str, Any]:
    """A proxy event's requestContext.identity as API Gateway fills it for a SigV4 caller."""
    return {"userArn": arn, "sourceIp": "203.0.113.7", "userAgent": "pytest"}


def decide_as(approving: Approving, execution_id: str, body: Any, user_arn: str) -> Any:
    from tests.integration.api.conftest import proxy_event

    event = proxy_event("POST", f"/executions/{execution_id}/approvals/{TASK}", body)
    event["requestContext"]["identity"] = with_user(user_arn)
    return approving.api.invoke(event)


# ---- waiting -----------------------------------------------------------------------------


def test_a_waiting_approval_is_in_the_report_with_its_start_expiry_and_message(
    approving: Approving,
) -> None:
    # Given an execution whose approval task waits for a decision
    execution_id = approving.start(timeout_seconds=3600)
    try:
        # When its report is read
        report = approving.wait_until_waiting(execution_id)
        # Then it is running at the approval, and says what it waits for until when
        assert report["status"] == "running"
        assert report["current_task"] == TASK
        waiting = report["waiting_for"]
        assert waiting["task"] == TASK
        assert waiting["message"] == "Approve order?"
        since = waiting["since"]
        assert since is not None
        assert waiting["expires_at"] > since
        assert report["task_results"][TASK]["status"] == "running"
    finally:
        approving.finish(execution_id)


def test_the_approval_function_stores_the_token_beside_the_execution(
    approving: Approving,
) -> None:
    # Given an execution whose approval task waits
    execution_id = approving.start(timeout_seconds=3600)
    try:
        approving.wait_until_waiting(execution_id)
        # Then FlowsTable holds its token under EXEC#<id> / APPROVAL#<task>
        waiting = approving.approvals.get(execution_id, TASK)
        assert waiting is not None
        assert waiting.task_token
        assert waiting.flow_id == FLOW_ID
        assert waiting.message == "Approve order?"
        assert waiting.expires_at is not None
        assert waiting.expires_at > waiting.since
    finally:
        approving.finish(execution_id)


# ---- deciding ----------------------------------------------------------------------------


def test_approving_makes_the_approval_task_succeed_with_who_and_why(
    approving: Approving,
) -> None:
    # Given a waiting approval
    execution_id = approving.start()
    approving.wait_until_waiting(execution_id)
    # When a signed-in user approves it with a comment
    answer = decide_as(approving, execution_id, {"approve": True, "comment": "ok"}, APPROVER_ARN)
    # Then the answer is the decision as sent
    assert answer.status == 200, answer.text
    assert answer.body["approved"] is True
    assert answer.body["by"] == APPROVER_ARN
    assert answer.headers["location"] == f"/executions/{execution_id}"
    # And the execution goes on along the success side with the decision as the task's data
    report = approving.api.wait(execution_id)
    assert report["status"] == "completed"
    assert report["waiting_for"] is None
    result = report["task_results"][TASK]
    assert result["status"] == "success"
    assert result["error"] is None
    assert result["data"]["approved"] is True
    assert result["data"]["by"] == APPROVER_ARN
    assert result["data"]["comment"] == "ok"
    assert result["data"]["decided_at"] == answer.body["decided_at"]


def test_rejecting_makes_the_approval_task_a_failure_saying_why(approving: Approving) -> None:
    # Given a waiting approval
    execution_id = approving.start()
    approving.wait_until_waiting(execution_id)
    # When it is rejected with a comment (no IAM identity: the local stack's caller)
    answer = approving.decide(execution_id, {"approve": False, "comment": "too expensive"})
    assert answer.status == 200, answer.text
    assert answer.body["result"]["status"] == "failure"
    # Then the task's result is a failure whose error says it was rejected and why
    report = approving.api.wait(execution_id)
    assert report["status"] == "failed"
    assert report["failed_task"] == TASK
    result = report["task_results"][TASK]
    assert result["status"] == "failure"
    assert result["error"] == "rejected: too expensive"
    assert result["data"]["approved"] is False
    assert result["data"]["by"] == "local"


def test_an_approval_decided_twice_answers_409_the_second_time_and_changes_nothing(
    approving: Approving,
) -> None:
    # Given an approval that was approved
    execution_id = approving.start()
    approving.wait_until_waiting(execution_id)
    first = approving.decide(execution_id, {"approve": True, "comment": "first"})
    assert first.status == 200, first.text
    # When someone rejects it afterwards
    second = approving.decide(execution_id, {"approve": False, "comment": "second"})
    # Then the second decision is refused
    assert second.status == 409, second.text
    assert second.error_code == "ApprovalNotWaiting"
    # And the execution ran on the first decision only
    report = approving.api.wait(execution_id)
    assert report["status"] == "completed"
    assert report["task_results"][TASK]["data"]["comment"] == "first"
    assert approving.approvals.get(execution_id, TASK) is None


def test_a_decision_while_another_is_being_sent_answers_409_and_sends_nothing(
    approving: Approving,
) -> None:
    # Given a waiting approval that another request has claimed (it is sending its decision)
    execution_id = approving.start()
    try:
        approving.wait_until_waiting(execution_id)
        waiting = approving.approvals.get(execution_id, TASK)
        assert waiting is not None
        assert approving.approvals.claim(waiting, int(time.time()))
        # When a second decision arrives
        answer = approving.decide(execution_id, {"approve": False})
        # Then it is refused and the execution still waits for the first one
        assert answer.status == 409, answer.text
        assert "another request" in answer.body["error"]["message"]
        report = approving.api.request("GET", f"/executions/{execution_id}").body
        assert report["waiting_for"]["task"] == TASK
        approving.approvals.release(waiting)
    finally:
        approving.finish(execution_id)


def test_deciding_an_approval_of_an_unknown_execution_answers_404(approving: Approving) -> None:
    answer = approving.decide("no-such-execution", {"approve": True})
    assert answer.status == 404, answer.text
    assert answer.error_code == "ExecutionNotFound"


def test_deciding_a_task_that_is_not_waiting_answers_409_and_the_approval_still_waits(
    approving: Approving,
) -> None:
    # Given an execution whose approval task waits
    execution_id = approving.start()
    try:
        approving.wait_until_waiting(execution_id)
        # When a decision names another task
        answer = approving.decide(execution_id, {"approve": True}, task="someone_else")
        # Then it is refused and the real approval still waits
        assert answer.status == 409, answer.text
        assert answer.error_code == "ApprovalNotWaiting"
        assert "someone_else" in answer.body["error"]["message"]
        report = approving.api.request("GET", f"/executions/{execution_id}").body
        assert report["waiting_for"]["task"] == TASK
    finally:
        approving.finish(execution_id)


def test_a_token_left_by_an_execution_that_ended_answers_409_and_is_cleared(
    approving: Approving,
) -> None:
    # Given an execution that ended, and a token item of it that was never cleared
    execution_id = approving.start()
    approving.wait_until_waiting(execution_id)
    approving.finish(execution_id)
    stale = Waiting(execution_id, TASK, "stale-token", FLOW_ID, since="2026-12-01T00:00:00.000Z")
    approving.approvals.put(stale)
    # When the approval is decided
    answer = approving.decide(execution_id, {"approve": False})
    # Then nothing waits any more: the answer says the execution ended, the item is gone
    assert answer.status == 409, answer.text
    assert answer.error_code == "ApprovalNotWaiting"
    assert "completed" in answer.body["error"]["message"]
    assert approving.approvals.get(execution_id, TASK) is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"approve": "yes"},
        {"approve": 1},
        {"approve": True, "comment": 5},
        {"approve": True, "comment": "x" * 2001},
        {"approve": True, "by": "mallory"},
        [True],
    ],
    ids=["missing", "string", "number", "comment-number", "comment-long", "extra", "array"],
)
def test_a_bad_decision_body_answers_422_and_the_approval_still_waits(
    approving: Approving, body: Any
) -> None:
    # Given a waiting approval
    execution_id = approving.start()
    try:
        approving.wait_until_waiting(execution_id)
        # When the decision's body is not {"approve": bool, "comment": str?}
        answer = approving.decide(execution_id, body)
        # Then it is refused with the location of the problem, and nothing was decided
        assert answer.status == 422, answer.text
        assert answer.error_code == "InvalidRequest"
        assert all(d["location"].startswith("body") for d in answer.body["error"]["details"])
        assert approving.approvals.get(execution_id, TASK) is not None
    finally:
        approving.finish(execution_id)


# ---- timing out --------------------------------------------------------------------------


def test_an_approval_nobody_decides_in_time_fails_with_states_timeout_and_then_answers_409(
    approving: Approving,
) -> None:
    # Given an approval with a timeout of one second
    execution_id = approving.start(timeout_seconds=1)
    approving.wait_until_waiting(execution_id)
    # When nobody decides in time
    report = approving.api.wait(execution_id)
    # Then the approval task failed with States.Timeout, and the flow took the failure side
    assert report["status"] == "failed"
    assert report["failed_task"] == TASK
    assert report["task_results"][TASK]["error"].startswith("States.Timeout")
    assert report["waiting_for"] is None
    # And a late decision is refused, and clears the dead token
    answer = approving.decide(execution_id, {"approve": True})
    assert answer.status == 409, answer.text
    assert answer.error_code == "ApprovalNotWaiting"
    assert approving.approvals.get(execution_id, TASK) is None


# ---- the catalog -------------------------------------------------------------------------


def test_the_task_catalog_does_not_offer_the_internal_approval_kind(approving: Approving) -> None:
    answer = approving.api.request("GET", "/tasks")
    assert answer.status == 200, answer.text
    kinds = {t["kind"] for t in answer.body["tasks"]}
    assert APPROVAL_KIND not in kinds
    assert "fetch_data" in kinds


def test_the_openapi_document_shows_the_decision_body_with_examples_and_the_409(
    approving: Approving,
) -> None:
    spec = approving.api.request("GET", "/docs?format=json").body
    operation = spec["paths"]["/executions/{execution_id}/approvals/{task}"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert examples["reject"]["value"] == {"approve": False, "comment": "too expensive"}
    assert "ApprovalNotWaiting" in operation["responses"]["409"]["description"]
    assert operation["tags"] == ["approvals"]
