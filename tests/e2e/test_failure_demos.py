"""The sample tasks' failure switches (functions/tasks/README.md), executed for real:
every branch of DESIGN §4 shown through the API. They need a stack with
DemoSwitches=enabled: the local stack has it; a deployed stack's default does not
(set FLOW_MANAGER_DEMO_SWITCHES=enabled when yours does)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from flow_manager_local.client import ApiClient
from tests.e2e.support import DEPLOYED, json_body, run_to_end, task

pytestmark = pytest.mark.skipif(
    DEPLOYED and os.environ.get("FLOW_MANAGER_DEMO_SWITCHES") != "enabled",
    reason="the deployed stack's demo switches are off (DemoSwitches' default)",
)


def test_a_task_told_to_fail_ends_the_flow_failed_naming_it(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given task2 of the pipeline fails on purpose
    flow_id = create_flow()
    # When the flow runs, with the failure asked for through the context
    report = run_to_end(api, flow_id, {"demo": {"task2": {"fail": True}}})
    # Then the flow failed at task2 and task3 never ran
    assert report["status"] == "failed"
    assert report["failed_task"] == "task2"
    assert report["executed_tasks"] == ["task1", "task2"]
    assert report["task_results"]["task2"]["status"] == "failure"


def test_a_raised_error_is_a_failure_that_keeps_its_type(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a task that raises ValueError
    flow_id = create_flow([task("boom", "fetch_data", **{"raise": "ValueError"})])
    # When the flow runs
    report = run_to_end(api, flow_id)
    # Then the task failed with its error type kept
    result = report["task_results"]["boom"]
    assert (report["status"], result["status"]) == ("failed", "failure")
    assert result["error"].startswith("ValueError")


def test_a_retry_policy_outlasts_transient_errors(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a task that raises on its first two attempts and may try three times
    retry = {"max_attempts": 3, "interval_seconds": 1, "backoff_rate": 1.0}
    flow_id = create_flow([{**task("flaky", "fetch_data", fail_attempts=2), "retry": retry}])
    # When the flow runs
    report = run_to_end(api, flow_id)
    # Then the third attempt succeeded
    assert report["status"] == "completed"
    assert report["task_results"]["flaky"]["attempts"] == 3


def test_without_a_retry_policy_a_transient_error_fails_the_task(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a task that raises on its first attempt and has no retry policy
    flow_id = create_flow([task("flaky", "fetch_data", fail_attempts=1)])
    # When the flow runs
    report = run_to_end(api, flow_id)
    # Then it failed after one attempt
    assert report["failed_task"] == "flaky"
    assert report["task_results"]["flaky"]["attempts"] == 1


def test_a_task_past_its_timeout_fails_with_states_timeout(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a task that sleeps 5 s with a 1 s timeout
    flow_id = create_flow([{**task("slow", "process_data", sleep_seconds=5), "timeout_seconds": 1}])
    # When the flow runs
    report = run_to_end(api, flow_id)
    # Then the task timed out and the flow failed naming it
    assert report["failed_task"] == "slow"
    assert "States.Timeout" in report["task_results"]["slow"]["error"]


def test_a_failure_routed_to_another_task_completes_the_flow(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given fetch fails on purpose and its condition sends a failure to process
    flow_id = create_flow(
        [task("fetch", "fetch_data", fail=True), task("fallback", "fetch_data")],
        [
            {
                "name": "fetch_ok",
                "source_task": "fetch",
                "outcome": "success",
                "target_task_success": "end",
                "target_task_failure": "fallback",
            }
        ],
    )
    # When the flow runs
    report = run_to_end(api, flow_id)
    # Then it completed through the fallback, the failure still visible
    assert report["status"] == "completed"
    assert report["executed_tasks"] == ["fetch", "fallback"]
    assert report["task_results"]["fetch"]["status"] == "failure"


def test_a_misspelt_switch_is_refused_before_anything_runs(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given the pipeline on a stack with the demo switches on (the local stack's default)
    flow_id = create_flow()
    # When it is started with "fial" for task2
    context = {"demo": {"task2": {"fial": True}}}
    response = api.post(f"/flows/{flow_id}/executions", {"context": context})
    # Then the start is refused, naming the switch and what was meant
    assert response.status == 422
    (problem,) = json_body(response)["error"]["details"]
    assert problem == {
        "location": "context.demo.task2.fial",
        "message": "unknown switch (did you mean 'fail'?)",
    }
