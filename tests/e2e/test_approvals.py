"""Human approval on the local stack: the template's ApprovalFunction runs in the worker
pool, the catalog names it, and `flow-manager approve` decides a waiting approval.

Until the translator compiles approval tasks, the approval state is hand-made (as in
tests/integration/api/test_approvals.py) and created straight in the stack's moto, with
the execution indexed in its FlowsTable as the API's start would.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest

from flow_manager.catalog import APPROVAL_KIND
from flow_manager_local.client import ApiClient
from flow_manager_local.launch import LocalStackProcess
from flow_manager_local.template import read_stack
from tests.e2e.support import ROOT, local_only
from tests.e2e.test_cli import cli

pytestmark = local_only

TASK = "manager_ok"
DEADLINE_SECONDS = 60.0
STACK = read_stack(ROOT / "template.yaml")  # the stack `flow-manager serve` makes by default


def test_the_catalog_names_the_approval_function() -> None:
    functions = STACK.functions
    catalog = json.loads(functions["ApiFunction"].environment["TASK_CATALOG"])
    assert catalog[APPROVAL_KIND] == functions["ApprovalFunction"].arn
    assert (
        functions["ApprovalFunction"].environment["FLOWS_TABLE"] == STACK.tables["FlowsTable"].name
    )


def definition(function_arn: str) -> str:
    result = f"$.results.{TASK}"
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
                        "FunctionName": function_arn,
                        "Payload": {
                            "flow_id": "e2e-approval",
                            "flow_version": 1,
                            "execution_id.$": "$$.Execution.Name",
                            "task": TASK,
                            "parameters": {"message": "Ship it?"},
                            "context.$": "$.context",
                            "results.$": "$.results",
                            "task_token.$": "$$.Task.Token",
                            "timeout_seconds": 120,
                        },
                    },
                    "TimeoutSeconds": 120,
                    "ResultPath": result,
                    "End": True,
                },
            },
        }
    )


@pytest.fixture
def waiting_execution(local_stack: LocalStackProcess | None, api: ApiClient) -> str:
    """An execution of the stack whose approval task waits for a decision."""
    assert local_stack is not None
    options: dict[str, Any] = {
        "endpoint_url": local_stack.moto_url,
        "region_name": STACK.settings.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sfn = boto3.client("stepfunctions", **options)
    machine = sfn.create_state_machine(
        name=f"e2e-approval-{uuid.uuid4().hex[:8]}",
        definition=definition(STACK.functions["ApprovalFunction"].arn),
        roleArn=STACK.roles["FlowStateMachineRole"].arn,
    )["stateMachineArn"]
    execution_id = str(uuid.uuid4())
    execution_arn = sfn.start_execution(stateMachineArn=machine, name=execution_id, input="{}")[
        "executionArn"
    ]
    boto3.client("dynamodb", **options).put_item(
        TableName=STACK.tables["FlowsTable"].name,
        Item={
            "pk": {"S": f"EXEC#{execution_id}"},
            "sk": {"S": "EXEC"},
            "execution_id": {"S": execution_id},
            "flow_id": {"S": "e2e-approval"},
            "flow_version": {"N": "1"},
            "execution_arn": {"S": execution_arn},
            "state_machine_arn": {"S": machine},
            "state_machine_version_arn": {"S": machine},
            "request_hash": {"S": "-"},
            "created_at": {"S": "2026-12-02T00:00:00.000Z"},
        },
    )
    return execution_id


def report_when(api: ApiClient, execution_id: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        body: dict[str, Any] = api.get(f"/executions/{execution_id}").body
        if done(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"never reached: {body}")
        time.sleep(0.2)


def test_status_shows_the_waiting_approval_and_the_command_that_decides_it(
    endpoint: str, api: ApiClient, waiting_execution: str
) -> None:
    # Given an execution whose approval waits (and whose token is stored: approve answers)
    report_when(api, waiting_execution, lambda r: r.get("waiting_for"))
    # When its status is shown
    result = cli("status", waiting_execution, endpoint=endpoint)
    # Then it says what waits and the exact command to decide it
    assert result.returncode == 0, result.stderr
    assert f"flow-manager approve {waiting_execution} {TASK}" in result.stdout
    assert "Ship it?" in result.stdout
    cli("approve", waiting_execution, TASK, endpoint=endpoint)


def test_approve_decides_a_waiting_approval_and_a_second_decision_exits_2(
    endpoint: str, api: ApiClient, waiting_execution: str
) -> None:
    # Given an execution whose approval waits
    report_when(api, waiting_execution, lambda r: r.get("waiting_for"))
    # When it is rejected with the CLI (the ApprovalFunction may still be storing the
    # token right after the report shows the wait: retry a 409 briefly)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        result = cli(
            "approve", waiting_execution, TASK, "--reject", "--comment", "no", endpoint=endpoint
        )
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # Then the decision is printed and the task's result is the rejection
    assert result.returncode == 0, result.stderr
    assert f"rejected {TASK} of execution {waiting_execution} (by local)" in result.stdout
    report = report_when(api, waiting_execution, lambda r: r["status"] != "running")
    assert report["task_results"][TASK]["error"] == "rejected: no"
    # And deciding again is refused in one line, exit 2
    again = cli("approve", waiting_execution, TASK, endpoint=endpoint)
    assert again.returncode == 2
    assert "ApprovalNotWaiting" in again.stderr
    assert "Traceback" not in again.stderr


def test_approve_of_an_unknown_execution_exits_2(endpoint: str) -> None:
    result = cli("approve", f"missing-{uuid.uuid4().hex[:8]}", TASK, endpoint=endpoint)
    assert result.returncode == 2
    assert "ExecutionNotFound" in result.stderr
