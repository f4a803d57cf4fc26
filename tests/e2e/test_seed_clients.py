"""The seeds' clients as they really call, over HTTP against the stack (issue 8 §1).

Seed 001's client posts a bare flow to /flow/create (tasks typed with `task_type`),
executes the prepared execution by id and polls /flow/{id}/status; seed 003's posts a
bare flow to /flow/execute and calls /flow/run-sample.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from flow_manager_local.client import ApiClient
from tests.e2e.support import EXECUTION_DEADLINE_SECONDS, TERMINAL, json_body, unique
from tests.support.seeds import seed_request

SEED_001_STATE = {
    "execution_id",
    "flow_name",
    "status",
    "current_task",
    "completed_tasks",
    "started_at",
    "ended_at",
    "task_results",
}


def seed_001_flow(flow_id: str, first_failure_rate: float = 0) -> dict[str, Any]:
    """Seed 001's flow: fetch, wait, print, process, store; each failure ends it."""
    names = ["fetch", "pause", "say", "process", "store"]
    return {
        "id": flow_id,
        "name": f"seed 001 {flow_id}",
        "start_task": "fetch",
        "tasks": [
            {
                "name": "fetch",
                "description": "Fetch data",
                "task_type": "fetch_data",
                "parameters": {"failure_rate": first_failure_rate},
            },
            {"name": "pause", "task_type": "wait", "parameters": {"seconds": 1}},
            {"name": "say", "task_type": "print", "parameters": {"message": "fetched"}},
            {"name": "process", "task_type": "process_data", "parameters": {"failure_rate": 0}},
            {"name": "store", "task_type": "store_data"},
        ],
        "conditions": [
            {
                "name": f"after_{source}",
                "source_task": source,
                "outcome": "success",
                "target_task_success": target,
                "target_task_failure": "end",
            }
            for source, target in itertools.pairwise(names)
        ],
    }


def poll_status(api: ApiClient, execution_id: str) -> dict[str, Any]:
    """Seed 001's client: GET /flow/{id}/status until the execution ended."""
    end = time.monotonic() + EXECUTION_DEADLINE_SECONDS
    state: dict[str, Any] = {}
    while time.monotonic() < end:
        response = api.get(f"/flow/{execution_id}/status")
        assert response.status == 200, response.error_line()
        state = json_body(response)
        if state["status"] in TERMINAL:
            return state
        time.sleep(0.2)
    pytest.fail(f"{execution_id} still {state.get('status')}")


@pytest.fixture
def flow_id(api: ApiClient) -> Iterator[str]:
    flow_id = unique("seed001")
    yield flow_id
    api.delete(f"/flows/{flow_id}", query={"force": "true"})


def test_seed_001_creates_then_executes_a_flow_with_a_wait_and_a_print(
    api: ApiClient, flow_id: str
) -> None:
    # Given seed 001's bare flow posted to /flow/create
    created = api.post("/flow/create", seed_001_flow(flow_id))
    assert created.status == 200, created.error_line()
    prepared = json_body(created)
    assert (prepared["status"], prepared["message"]) == ("created", "Flow created successfully")
    execution_id = prepared["execution_id"]
    before = json_body(api.get(f"/flow/{execution_id}/status"))
    assert (before["status"], before["completed_tasks"]) == ("created", [])
    # When it is executed by id
    executed = api.post("/flow/execute", {"execution_id": execution_id})
    # Then it runs in the background and ends completed, every task in order
    assert executed.status == 200, executed.error_line()
    assert set(json_body(executed)) >= SEED_001_STATE
    state = poll_status(api, execution_id)
    assert state["status"] == "completed", state
    assert state["completed_tasks"][:1] == ["fetch"]
    assert state["completed_tasks"][-3:] == ["say", "process", "store"]
    assert state["task_results"]["say"]["data"] == {"message": "fetched"}
    assert state["started_at"] is not None
    assert state["ended_at"] is not None


def test_seed_001_a_task_with_failure_rate_one_fails_the_execution(
    api: ApiClient, flow_id: str
) -> None:
    # Given seed 001's flow whose first task has failure_rate 1, prepared
    created = json_body(api.post("/flow/create", seed_001_flow(flow_id, first_failure_rate=1)))
    # When it is executed
    assert api.post("/flow/execute", {"execution_id": created["execution_id"]}).status == 200
    # Then it fails at that task, which says why
    state = poll_status(api, created["execution_id"])
    assert (state["status"], state["failed_task"]) == ("failed", "fetch")
    assert "failure_rate=1" in state["task_results"]["fetch"]["error"]
    assert state["completed_tasks"] == ["fetch"]


def test_seed_001_executing_twice_is_a_conflict_and_unknown_ids_are_not_found(
    api: ApiClient, flow_id: str
) -> None:
    created = json_body(api.post("/flow/create", seed_001_flow(flow_id)))
    assert api.post("/flow/execute", {"execution_id": created["execution_id"]}).status == 200
    again = api.post("/flow/execute", {"execution_id": created["execution_id"]})
    assert again.status == 409, again.error_line()
    unknown = api.post("/flow/execute", {"execution_id": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status == 404, unknown.error_line()


def test_seed_001_deletes_an_execution(api: ApiClient, flow_id: str) -> None:
    created = json_body(api.post("/flow/create", seed_001_flow(flow_id)))
    execution_id = created["execution_id"]
    deleted = api.delete(f"/flow/{execution_id}")
    assert deleted.status == 200, deleted.error_line()
    assert json_body(deleted)["message"] == f"Flow execution {execution_id} deleted successfully"
    assert api.get(f"/flow/{execution_id}/status").status == 404


def test_seed_003_runs_its_bare_flow_on_flow_execute(api: ApiClient) -> None:
    # Given seed 003's flow without the "flow" wrapper, as its client posts it
    flow = seed_request("003_flow_execute")["flow"]
    # When it is posted to /flow/execute
    response = api.post("/flow/execute", flow)
    assert response.status in (200, 202), response.error_line()
    body = json_body(response)
    if response.status == 202:  # a slow machine: the answer says where to poll
        poll_status(api, body["execution_id"])
        return
    # Then it ran, answered with seed 003's message, history and execution_history
    assert body["message"] == "Flow 'Data processing flow' executed successfully."
    assert [h["task"] for h in body["history"]] == ["task1", "task2", "task3"]
    assert {h["status"] for h in body["history"]} == {"success"}
    assert set(body["execution_history"]) == {"task1", "task2", "task3"}


def test_seed_003_run_sample_runs_the_sample_flow(api: ApiClient) -> None:
    response = api.post("/flow/run-sample")
    assert response.status in (200, 202), response.error_line()
    body = json_body(response)
    assert body["flow_id"] == "sample_flow"
    if response.status == 200:
        assert body["message"] == "Sample flow executed."
        assert set(body["execution_history"]) == {"task1", "task2", "task3"}
