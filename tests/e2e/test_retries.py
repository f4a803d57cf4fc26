"""Retry from the failure over HTTP on the stack under test, and `flow-manager retry`."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from flow_manager_local.client import ApiClient
from tests.e2e.support import DEPLOYED, json_body, start, wait_for_end
from tests.e2e.test_cli import cli

pytestmark = pytest.mark.skipif(
    DEPLOYED, reason="the deployed stack's demo switches are off (DemoSwitches' default)"
)
FAIL_TASK2 = {"demo": {"task2": {"fail": True}}, "batch_id": "b1"}


def failed(api: ApiClient, flow_id: str) -> str:
    execution_id = start(api, flow_id, FAIL_TASK2)
    report = wait_for_end(api, execution_id)
    assert (report["status"], report["failed_task"]) == ("failed", "task2")
    return execution_id


def test_a_retry_resumes_at_the_failed_task_and_completes(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given the pipeline failed at task2 (demo switch in its context)
    old = failed(api, create_flow())
    # When it is retried with a context without the switch
    answer = api.post(f"/executions/{old}/retry", {"context": {"batch_id": "b1"}})
    assert answer.status == 202, answer.error_line()
    report = wait_for_end(api, json_body(answer)["execution_id"])
    # Then task1 did not run again, task2 and task3 did, and the two are linked
    assert report["status"] == "completed", report
    assert report["executed_tasks"] == ["task2", "task3"]
    assert [s["task"] for s in report["path"]] == ["task2", "task3"]
    assert report["retry_of"] == old
    assert json_body(api.get(f"/executions/{old}"))["retries"] == [report["execution_id"]]


def test_a_retry_of_a_running_or_completed_execution_answers_409(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    execution_id = start(api, create_flow())
    wait_for_end(api, execution_id)
    answer = api.post(f"/executions/{execution_id}/retry", {})
    assert answer.status == 409
    assert answer.error["code"] == "ExecutionNotRetryable"


def test_a_retry_from_a_task_that_did_not_run_answers_422(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    old = failed(api, create_flow())
    answer = api.post(f"/executions/{old}/retry", {"from_task": "task3"})
    assert answer.status == 422
    assert answer.error["details"][0]["location"] == "from_task"


def test_cli_retry_watches_the_retry_to_its_end(
    api: ApiClient, create_flow: Callable[..., str], endpoint: str
) -> None:
    old = failed(api, create_flow())
    result = cli("retry", old, "--context", '{"batch_id": "b1"}', "--json", endpoint=endpoint)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"(retry of {old})" in result.stdout
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert (report["status"], report["retry_of"]) == ("completed", old)


def test_cli_retry_of_a_completed_execution_exits_2_with_the_reason(
    api: ApiClient, create_flow: Callable[..., str], endpoint: str
) -> None:
    execution_id = start(api, create_flow())
    wait_for_end(api, execution_id)
    result = cli("retry", execution_id, endpoint=endpoint)
    assert result.returncode == 2
    assert "only a failed, aborted or timed_out execution can be retried" in result.stderr
