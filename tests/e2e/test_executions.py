"""The execution routes: start, read, list, stop; the task results of DESIGN §7."""

from __future__ import annotations

from collections.abc import Callable

from flow_manager_local.client import ApiClient
from tests.e2e.support import (
    json_body,
    on_success,
    run_to_end,
    start,
    task,
    unique,
    wait_for_end,
    wait_for_task,
)


def test_start_answers_202_with_where_to_poll(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a flow / When an execution is started
    flow_id = create_flow()
    response = api.post(f"/flows/{flow_id}/executions", {"context": {"batch_id": "b1"}})
    # Then it is accepted, and its Location reads it
    assert response.status == 202, response.error_line()
    execution_id = json_body(response)["execution_id"]
    assert response.header("Location") == f"/executions/{execution_id}"
    wait_for_end(api, execution_id)


def test_an_execution_completes_with_every_task_result_and_timing(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given the seeds' three-task flow
    flow_id = create_flow()
    # When it runs to the end
    report = run_to_end(api, flow_id, {"batch_id": "b1"})
    # Then it completed through every task, each result timed, as seed 000 shows
    assert report["status"] == "completed"
    assert report["executed_tasks"] == ["task1", "task2", "task3"]
    assert report["failed_task"] is None
    for result in report["task_results"].values():
        assert result["status"] == "success"
        assert result["execution_time"] >= 0
        assert result["attempts"] == 1


def test_the_context_reaches_the_tasks(api: ApiClient, create_flow: Callable[..., str]) -> None:
    # Given a flow whose first task reads records from the context
    flow_id = create_flow()
    records = [{"id": "r1", "value": 1}, {"id": "r2", "value": 2}]
    # When it runs with those records
    report = run_to_end(api, flow_id, {"records": records})
    # Then the fetch task saw exactly them and the context is kept
    assert report["task_results"]["task1"]["data"]["count"] == 2
    assert report["context"] == {"records": records}


def test_a_flows_executions_are_listed_and_filtered_by_status(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a flow with one completed execution
    flow_id = create_flow()
    execution_id = run_to_end(api, flow_id)["execution_id"]
    # When its completed and its failed executions are listed
    completed = json_body(api.get(f"/flows/{flow_id}/executions", query={"status": "completed"}))
    failed = json_body(api.get(f"/flows/{flow_id}/executions", query={"status": "failed"}))
    # Then the execution is in the first list only
    assert [e["execution_id"] for e in completed["executions"]] == [execution_id]
    assert failed["executions"] == []


def test_a_retried_start_with_the_same_idempotency_key_returns_the_same_execution(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a flow and an Idempotency-Key
    flow_id = create_flow()
    headers = {"Idempotency-Key": unique("key")}
    # When the same start is sent twice
    first = api.post(f"/flows/{flow_id}/executions", {"context": {}}, headers=headers)
    second = api.post(f"/flows/{flow_id}/executions", {"context": {}}, headers=headers)
    # Then both answers name one execution
    assert json_body(first)["execution_id"] == json_body(second)["execution_id"]
    wait_for_end(api, json_body(first)["execution_id"])


def test_stopping_a_running_execution_aborts_it(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given an execution whose task sleeps
    flow_id = create_flow([task("nap", "fetch_data", sleep_seconds=20)])
    execution_id = start(api, flow_id)
    wait_for_task(api, execution_id, "nap")
    # When it is stopped
    response = api.delete(f"/executions/{execution_id}")
    # Then it ends aborted
    assert response.status == 200, response.error_line()
    assert wait_for_end(api, execution_id)["status"] == "aborted"


def test_stopping_an_execution_as_soon_as_it_is_started_aborts_it(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given an execution just started, whose interpreter may not have begun it yet
    flow_id = create_flow([task("nap", "fetch_data", sleep_seconds=20)])
    execution_id = start(api, flow_id)
    # When it is stopped at once
    response = api.delete(f"/executions/{execution_id}")
    # Then the stop is answered and the execution ends aborted, without waiting for its
    # task (tests/integration/test_moto_stop.py holds the stop before the first state)
    assert response.status == 200, response.error_line()
    assert wait_for_end(api, execution_id)["status"] == "aborted"


def test_stopping_a_finished_execution_answers_409(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a completed execution / When it is stopped
    execution_id = run_to_end(api, create_flow())["execution_id"]
    response = api.delete(f"/executions/{execution_id}")
    # Then there is nothing to stop
    assert response.status == 409
    assert response.error["code"] == "ExecutionNotRunning"


def test_reading_an_unknown_execution_answers_404(api: ApiClient) -> None:
    # Given no such execution / When it is read
    response = api.get(f"/executions/{unique('missing')}")
    # Then it is not found, by name
    assert response.status == 404
    assert response.error["code"] == "ExecutionNotFound"


def test_deleting_a_flow_with_a_running_execution_needs_force(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a flow whose execution is running
    flow_id = create_flow(
        [task("nap", "fetch_data", sleep_seconds=20), task("after", "process_data")],
        [on_success("nap", "after")],
    )
    execution_id = start(api, flow_id)
    wait_for_task(api, execution_id, "nap")
    # When it is deleted without, then with force
    refused = api.delete(f"/flows/{flow_id}")
    forced = api.delete(f"/flows/{flow_id}", query={"force": "true"})
    # Then only the forced delete happens
    assert (refused.status, forced.status) == (409, 204)
