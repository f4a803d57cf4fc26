"""The seeds' own example requests, sent unchanged to their own routes (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flow_manager_local.client import ApiClient
from tests.e2e.support import json_body, wait_for_end
from tests.support.seeds import seed_request

# The seeds' example requests, verbatim: 000 (README "Example API Usage"), 002
# (POST /flow/execute), 003 (POST /flow/execute, no id), 004 (POST /run-flow).
SEED_000_CREATE = seed_request("000_create_flow")
SEED_000_EXECUTE = seed_request("000_execute")
SEED_002_FLOW = seed_request("002_flow_execute")
SEED_003_FLOW = seed_request("003_flow_execute")
SEED_004_FLOW = seed_request("004_run_flow")


def _finished(api: ApiClient, response_body: dict[str, Any]) -> dict[str, Any]:
    """The run routes answer 200 when done within their wait, else 202: read to the end."""
    if response_body["status"] == "running":
        return wait_for_end(api, response_body["execution_id"])
    return response_body


@pytest.fixture
def fresh(api: ApiClient) -> Iterator[None]:
    """The seeds' fixed flow ids, absent before the test and removed after it."""
    for flow_id in ("data_pipeline", "flow123"):
        api.delete(f"/flows/{flow_id}", query={"force": "true"})
    yield
    for flow_id in ("data_pipeline", "flow123"):
        api.delete(f"/flows/{flow_id}", query={"force": "true"})


@pytest.mark.usefixtures("fresh")
def test_seed_000_creates_a_flow_from_flow_data(api: ApiClient) -> None:
    # Given seed 000's create request / When it is posted to /flows
    response = api.post("/flows", SEED_000_CREATE)
    # Then the flow is created with the seed's message
    assert response.status == 201, response.error_line()
    assert json_body(response)["message"] == "Flow data_pipeline created successfully"


@pytest.mark.usefixtures("fresh")
def test_seed_000_executes_its_flow_by_id_and_reads_the_execution(api: ApiClient) -> None:
    # Given seed 000's flow
    assert api.post("/flows", SEED_000_CREATE).status == 201
    # When seed 000's execute request is posted to /flows/execute
    response = api.post("/flows/execute", SEED_000_EXECUTE)
    assert response.status in (200, 202), response.error_line()
    report = _finished(api, json_body(response))
    # Then, read back from /executions/{id}, every task succeeded
    read = json_body(api.get(f"/executions/{report['execution_id']}"))
    assert read["status"] == "completed", read.get("task_results")
    assert set(read["task_results"]) == {"extract", "transform", "load"}


@pytest.mark.usefixtures("fresh")
def test_seed_001_creates_executes_reads_and_deletes_through_its_routes(api: ApiClient) -> None:
    # Given an execution prepared through /flow/create (tests/e2e/test_seed_clients.py
    # replays seed 001's own bare, task_type'd bodies)
    created = api.post("/flow/create", SEED_002_FLOW)
    assert created.status == 200, created.error_line()
    execution_id = json_body(created)["execution_id"]
    # When it is executed through /flow/execute and read through /flow/{id}/status
    assert api.post("/flow/execute", {"execution_id": execution_id}).status == 200
    wait_for_end(api, execution_id)
    status = api.get(f"/flow/{execution_id}/status")
    deleted = api.delete(f"/flow/{execution_id}")
    # Then the status was readable, and after DELETE /flow/{id} it is gone
    assert json_body(status)["status"] == "completed"
    assert deleted.status == 200
    assert api.get(f"/flow/{execution_id}/status").status == 404


@pytest.mark.usefixtures("fresh")
def test_seed_002_runs_its_flow_on_flow_execute(api: ApiClient) -> None:
    # Given seed 002's request / When it is posted to /flow/execute
    response = api.post("/flow/execute", SEED_002_FLOW)
    assert response.status in (200, 202), response.error_line()
    result = _finished(api, json_body(response))
    # Then the answer reads as seed 002's success example
    assert result["flow_id"] == "flow123"
    assert result["status"] == "completed"
    assert result["executed_tasks"] == ["task1", "task2", "task3"]
    assert result["failed_task"] is None


@pytest.mark.usefixtures("fresh")
def test_seed_003_runs_a_flow_without_an_id(api: ApiClient) -> None:
    # Given seed 003's request (its flow has no id) / When it is posted to /flow/execute
    response = api.post("/flow/execute", SEED_003_FLOW)
    assert response.status == 200, response.error_line()
    body = json_body(response)
    # Then it ran, answered with seed 003's message and execution_history
    assert body["message"] == "Flow executed successfully"
    assert {k: v["status"] for k, v in body["execution_history"].items()} == {
        "task1": "success",
        "task2": "success",
        "task3": "success",
    }
    api.delete(f"/flows/{body['flow_id']}", query={"force": "true"})


@pytest.mark.usefixtures("fresh")
def test_seed_004_runs_its_flow_on_run_flow(api: ApiClient) -> None:
    # Given seed 004's request / When it is posted to /run-flow
    response = api.post("/run-flow", SEED_004_FLOW)
    assert response.status in (200, 202), response.error_line()
    # Then the flow completed
    assert _finished(api, json_body(response))["status"] == "completed"
