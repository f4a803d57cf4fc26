"""The seeds' routes and payloads, unchanged (DESIGN §7): their clients must keep working."""

from __future__ import annotations

from typing import Any

import pytest

from flow_manager.flows import FlowResource
from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain, renamed
from tests.support.seeds import seed_request


def test_seed_000_creates_a_flow_wrapped_in_flow_data(api: Api) -> None:
    answer = api.request("POST", "/flows", seed_request("000_create_flow"))
    assert answer.status == 201
    assert answer.body["message"] == "Flow data_pipeline created successfully"
    info = api.request("GET", "/flows/data_pipeline").body
    assert (info["name"], info["tasks"]) == (
        "Data Processing Pipeline",
        ["extract", "transform", "load"],
    )


def test_seed_000_executes_a_stored_flow_and_answers_with_the_result(api: Api) -> None:
    # Given seed 000's flow
    api.request("POST", "/flows", seed_request("000_create_flow"))
    # When seed 000's client executes it
    answer = api.request(
        "POST",
        "/flows/execute",
        seed_request("000_execute"),
    )
    # Then the finished execution comes back with seed 000's fields
    assert answer.status == 200
    assert answer.body["status"] == "completed"
    assert answer.body["flow_id"] == "data_pipeline"
    assert set(answer.body["task_results"]) == {"extract", "transform", "load"}
    assert answer.body["task_results"]["load"]["status"] == "success"
    assert answer.body["context"]["batch_id"] == "batch_001"
    status = api.request("GET", f"/executions/{answer.body['execution_id']}")
    assert status.body["status"] == "completed"


def test_seed_000_executing_an_unknown_flow_is_not_found(api: Api) -> None:
    answer = api.request("POST", "/flows/execute", {"flow_id": "nope", "context": {}})
    assert answer.status == 404


@pytest.mark.parametrize("path", ["/flow/execute", "/run-flow"])
def test_seeds_002_to_004_run_an_inline_flow_and_answer_with_the_path(api: Api, path: str) -> None:
    # When a seed client posts its flow (with an id, as seeds 002 and 004 do)
    answer = api.request("POST", path, {"flow": chain("flow123")})
    # Then the flow ran to its end and the answer has the seeds' fields
    assert answer.status == 200
    body = answer.body
    assert (body["flow_id"], body["status"], body["failed_task"]) == ("flow123", "completed", None)
    assert body["executed_tasks"] == ["task1", "task2", "task3"]
    assert body["message"] == "Flow executed successfully"
    assert body["execution_history"]["task2"]["status"] == "success"


def test_seed_003_runs_a_flow_without_id_under_a_name_from_its_content(api: Api) -> None:
    # When seed 003 posts the same id-less flow twice
    first = api.request("POST", "/flow/execute", {"flow": chain(flow_id=None)})
    second = api.request("POST", "/flow/execute", {"flow": chain(flow_id=None)})
    # Then both runs used one stored flow, and each is its own execution
    assert first.status == second.status == 200
    assert first.body["flow_id"] == second.body["flow_id"]
    assert first.body["execution_id"] != second.body["execution_id"]
    listed = api.request("GET", "/flows").body["flows"]
    assert [f["flow_id"] for f in listed] == [first.body["flow_id"]]


def test_a_seed_002_failure_names_the_failed_task(api: Api) -> None:
    answer = api.request("POST", "/flow/execute", {"flow": chain("flow123", task2={"fail": True})})
    assert answer.status == 200
    assert answer.body["status"] == "failed"
    assert answer.body["executed_tasks"] == ["task1", "task2"]
    assert answer.body["failed_task"] == "task2"


def test_an_inline_flow_whose_id_exists_with_another_definition_runs_as_a_new_version(
    api: Api,
) -> None:
    api.create(chain("flow123"))
    answer = api.request("POST", "/run-flow", {"flow": renamed(chain("flow123"), "Changed")})
    assert answer.status == 200
    assert answer.body["flow_version"] == 2


def test_a_run_that_outlasts_the_wait_answers_202_with_where_to_poll(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a service that waits no time for a run, and a task held running
    monkeypatch.setenv("RUN_WAIT_SECONDS", "0")
    api.module.reset()
    gate = api.hold("fetch_data")
    # When a flow is run
    answer = api.request("POST", "/run-flow", {"flow": chain("flow123")})
    # Then the answer is 202 with the running execution and its Location
    assert answer.status == 202
    assert answer.body["status"] == "running"
    assert answer.headers["location"] == f"/executions/{answer.body['execution_id']}"
    gate.set()
    assert api.wait(answer.body["execution_id"])["status"] == "completed"


def test_a_run_needs_a_flow_or_a_flow_id(api: Api) -> None:
    answer = api.request("POST", "/flow/execute", {"context": {}})
    assert answer.status == 422
    assert answer.error_code == "InvalidRequest"


def test_a_run_cannot_name_a_stored_flow_and_give_another(api: Api) -> None:
    answer = api.request("POST", "/flow/execute", {"flow_id": "a", "flow": chain("b")})
    assert answer.status == 422
    assert answer.error_code == "InvalidRequest"


def test_a_run_with_an_invalid_inline_flow_lists_its_problems(api: Api) -> None:
    flow = chain("flow123")
    flow["start_task"] = "nope"
    answer = api.request("POST", "/run-flow", {"flow": flow})
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["location"] == "flow.start_task"


def bare_seed_001_flow(flow_id: str = "flow123") -> dict[str, Any]:
    """Seed 001's client body: the flow itself, tasks typed with task_type."""
    flow = chain(flow_id)
    flow["tasks"] = [
        {"name": "task1", "task_type": "fetch_data", "parameters": {"failure_rate": 0}},
        {"name": "task2", "task_type": "print", "parameters": {"message": "hello"}},
        {"name": "task3", "task_type": "store_data"},
    ]
    return flow


def test_seed_001_flow_create_stores_the_bare_flow_and_prepares_an_execution(api: Api) -> None:
    # When seed 001's client posts its bare flow to /flow/create
    answer = api.request("POST", "/flow/create", bare_seed_001_flow())
    # Then the flow is stored and an execution is prepared, not started
    assert answer.status == 200, answer.text
    assert answer.body["status"] == "created"
    assert answer.body["message"] == "Flow created successfully"
    assert answer.body["flow_name"] == chain("flow123")["name"]
    assert api.request("GET", "/flows/flow123").body["tasks"] == ["task1", "task2", "task3"]
    status = api.request("GET", f"/flow/{answer.body['execution_id']}/status")
    assert (status.status, status.body["status"]) == (200, "created")
    assert status.body["completed_tasks"] == []


def test_seed_001_flow_create_accepts_our_flow_wrapper_too(api: Api) -> None:
    answer = api.request("POST", "/flow/create", {"flow": chain("flow123")})
    assert (answer.status, answer.body["status"]) == (200, "created")


def test_seed_001_a_prepared_execution_runs_when_executed_by_id(api: Api) -> None:
    # Given a prepared execution
    created = api.request("POST", "/flow/create", bare_seed_001_flow()).body
    # When seed 001's client executes it by id
    answer = api.request("POST", "/flow/execute", {"execution_id": created["execution_id"]})
    # Then it started and its state reads in seed 001's shape
    assert answer.status == 200, answer.text
    assert answer.body["execution_id"] == created["execution_id"]
    assert answer.body["flow_name"] == created["flow_name"]
    assert set(answer.body) >= {
        "status",
        "current_task",
        "completed_tasks",
        "started_at",
        "ended_at",
        "task_results",
    }
    api.wait(created["execution_id"])
    status = api.request("GET", f"/flow/{created['execution_id']}/status").body
    assert status["status"] == "completed", status
    assert status["completed_tasks"] == ["task1", "task2", "task3"]
    assert status["task_results"]["task2"]["data"] == {"message": "hello"}


def test_seed_001_executing_a_prepared_execution_twice_is_a_conflict(api: Api) -> None:
    created = api.request("POST", "/flow/create", bare_seed_001_flow()).body
    api.request("POST", "/flow/execute", {"execution_id": created["execution_id"]})
    again = api.request("POST", "/flow/execute", {"execution_id": created["execution_id"]})
    assert again.status == 409
    assert again.body["error"]["code"] == "ExecutionAlreadyStarted"


def test_seed_001_executing_an_unknown_execution_id_is_not_found(api: Api) -> None:
    answer = api.request(
        "POST", "/flow/execute", {"execution_id": "00000000-0000-4000-8000-000000000000"}
    )
    assert (answer.status, answer.body["error"]["code"]) == (404, "ExecutionNotFound")


def test_seed_001_a_failure_rate_of_one_fails_the_task(api: Api) -> None:
    flow = bare_seed_001_flow()
    flow["tasks"][0]["parameters"] = {"failure_rate": 1}
    created = api.request("POST", "/flow/create", flow).body
    api.request("POST", "/flow/execute", {"execution_id": created["execution_id"]})
    api.wait(created["execution_id"])
    status = api.request("GET", f"/flow/{created['execution_id']}/status").body
    assert (status["status"], status["failed_task"]) == ("failed", "task1")
    assert "failure_rate=1" in status["task_results"]["task1"]["error"]


def test_seed_003_runs_a_bare_flow_and_answers_its_history(api: Api) -> None:
    # When seed 003's client posts its flow without the "flow" wrapper
    flow = seed_request("003_flow_execute")["flow"]
    answer = api.request("POST", "/flow/execute", flow)
    # Then it ran, with seed 003's message and history beside ours
    assert answer.status == 200, answer.text
    assert answer.body["message"] == "Flow 'Data processing flow' executed successfully."
    assert [h["task"] for h in answer.body["history"]] == ["task1", "task2", "task3"]
    assert set(answer.body["history"][0]) == {"task", "status", "data", "error"}
    assert answer.body["execution_history"]["task3"]["status"] == "success"


def test_seed_003_run_sample_runs_the_sample_flow(api: Api) -> None:
    answer = api.request("POST", "/flow/run-sample")
    assert answer.status == 200, answer.text
    assert answer.body["message"] == "Sample flow executed."
    assert answer.body["flow_id"] == "sample_flow"
    assert set(answer.body["execution_history"]) == {"task1", "task2", "task3"}


def test_an_unknown_body_on_flow_execute_is_a_located_422(api: Api) -> None:
    answer = api.request("POST", "/flow/execute", {"colour": "blue"})
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["location"] == "body"


def test_seed_001_reads_an_execution_with_flow_status(api: Api) -> None:
    run = api.request("POST", "/flow/execute", {"flow": chain("flow123")})
    answer = api.request("GET", f"/flow/{run.body['execution_id']}/status")
    assert answer.status == 200
    assert answer.body["status"] == "completed"
    assert answer.body["task_results"]["task1"]["status"] == "success"


def test_seed_001_deletes_an_execution_record(api: Api) -> None:
    run = api.request("POST", "/flow/execute", {"flow": chain("flow123")})
    execution_id = run.body["execution_id"]
    answer = api.request("DELETE", f"/flow/{execution_id}")
    assert answer.status == 200
    assert answer.body["message"] == f"Flow execution {execution_id} deleted successfully"
    assert api.request("GET", f"/flow/{execution_id}/status").status == 404


def test_seed_001_deleting_an_unknown_execution_is_not_found(api: Api) -> None:
    answer = api.request("DELETE", "/flow/00000000-0000-4000-8000-000000000000")
    assert answer.status == 404


def test_seed_000_health_check(api: Api) -> None:
    answer = api.request("GET", "/health")
    assert answer.status == 200
    assert answer.body["status"] == "healthy"
    assert answer.body["service"] == "Flow Manager"


@pytest.mark.skipif(
    "warnings" not in FlowResource.model_fields,
    reason="unreachable tasks are errors, not warnings, before the hardening issue",
)
@pytest.mark.parametrize("path", ["/flow/create", "/flow/execute"])
def test_a_compat_answer_carries_the_flows_warnings(api: Api, path: str) -> None:
    # Given a bare flow with a task no condition leads to
    flow = bare_seed_001_flow()
    flow["tasks"].append({"name": "orphan", "task_type": "print"})
    # When a compat route accepts it
    answer = api.request("POST", path, flow)
    # Then the answer lists the unreachable task as a warning
    assert answer.status == 200, answer.text
    assert any("orphan" in w["message"] for w in answer.body["warnings"]), answer.body


def test_deleting_the_flow_forgets_its_prepared_executions(api: Api) -> None:
    # Given a prepared execution of a flow
    created = api.request("POST", "/flow/create", bare_seed_001_flow()).body
    # When the flow is deleted
    assert api.request("DELETE", "/flows/flow123").status == 204
    # Then the prepared execution is gone with it, rather than starting on nothing
    answer = api.request("POST", "/flow/execute", {"execution_id": created["execution_id"]})
    assert answer.status == 404, answer.text
