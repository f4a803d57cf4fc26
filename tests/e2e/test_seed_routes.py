"""The seeds' own example requests, sent unchanged to their own routes (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flow_manager_local.client import ApiClient
from tests.e2e.support import json_body, wait_for_end

# Seed 000 (README "Example API Usage").
SEED_000_CREATE: dict[str, Any] = {
    "flow_data": {
        "flow": {
            "id": "data_pipeline",
            "name": "Data Processing Pipeline",
            "start_task": "extract",
            "tasks": [
                {"name": "extract", "description": "Extract data from source"},
                {"name": "transform", "description": "Transform extracted data"},
                {"name": "load", "description": "Load data to destination"},
            ],
            "conditions": [
                {
                    "name": "extract_success",
                    "description": "Check extraction success",
                    "source_task": "extract",
                    "outcome": "success",
                    "target_task_success": "transform",
                    "target_task_failure": "end",
                },
                {
                    "name": "transform_success",
                    "description": "Check transformation success",
                    "source_task": "transform",
                    "outcome": "success",
                    "target_task_success": "load",
                    "target_task_failure": "end",
                },
            ],
        }
    }
}
SEED_000_EXECUTE: dict[str, Any] = {
    "flow_id": "data_pipeline",
    "context": {"source_url": "https://api.example.com/data", "batch_id": "batch_001"},
}

# Seed 002 ("Execute a Flow", POST /flow/execute).
SEED_002_FLOW: dict[str, Any] = {
    "flow": {
        "id": "flow123",
        "name": "Data processing flow",
        "start_task": "task1",
        "tasks": [
            {"name": "task1", "description": "Fetch data"},
            {"name": "task2", "description": "Process data"},
            {"name": "task3", "description": "Store data"},
        ],
        "conditions": [
            {
                "name": "condition_task1",
                "source_task": "task1",
                "outcome": "success",
                "target_task_success": "task2",
                "target_task_failure": "end",
            },
            {
                "name": "condition_task2",
                "source_task": "task2",
                "outcome": "success",
                "target_task_success": "task3",
                "target_task_failure": "end",
            },
        ],
    }
}

# Seed 003 (POST /flow/execute, a flow without an id).
SEED_003_FLOW: dict[str, Any] = {
    "flow": {
        "name": "Data processing flow",
        "start_task": "task1",
        "tasks": [
            {"name": "task1", "description": "Fetch data"},
            {"name": "task2", "description": "Process data"},
            {"name": "task3", "description": "Store data"},
        ],
        "conditions": [
            {
                "name": "condition_task1_result",
                "description": "Evaluate task1. If success -> task2, else -> end",
                "source_task": "task1",
                "outcome": "success",
                "target_task_success": "task2",
                "target_task_failure": "end",
            },
            {
                "name": "condition_task2_result",
                "description": "Evaluate task2. If success -> task3, else -> end",
                "source_task": "task2",
                "outcome": "success",
                "target_task_success": "task3",
                "target_task_failure": "end",
            },
        ],
    }
}

# Seed 004 (POST /run-flow): flow123 again, with descriptions on its conditions.
SEED_004_FLOW: dict[str, Any] = {
    "flow": {
        "id": "flow123",
        "name": "Data processing flow",
        "start_task": "task1",
        "tasks": [
            {"name": "task1", "description": "Fetch data"},
            {"name": "task2", "description": "Process data"},
            {"name": "task3", "description": "Store data"},
        ],
        "conditions": [
            {
                "name": "condition_task1",
                "description": "After task1, if success → task2",
                "source_task": "task1",
                "outcome": "success",
                "target_task_success": "task2",
                "target_task_failure": "end",
            },
            {
                "name": "condition_task2",
                "description": "After task2, if success → task3",
                "source_task": "task2",
                "outcome": "success",
                "target_task_success": "task3",
                "target_task_failure": "end",
            },
        ],
    }
}


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
    # Given a flow created through /flow/create
    assert api.post("/flow/create", SEED_002_FLOW).status == 201
    # When it is executed through /flow/execute and read through /flow/{id}/status
    started = json_body(api.post("/flow/execute", {"flow_id": "flow123"}))
    execution_id = started["execution_id"]
    _finished(api, started)
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
