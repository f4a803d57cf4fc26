"""The seeds' routes and payloads, unchanged (DESIGN §7): their clients must keep working."""

from __future__ import annotations

import pytest

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


def test_seed_001_creates_with_flow_create(api: Api) -> None:
    answer = api.request("POST", "/flow/create", {"flow": chain("flow123")})
    assert answer.status == 201
    assert api.request("GET", "/flows/flow123").status == 200


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
    assert answer.body["execution_id"] == execution_id
    assert api.request("GET", f"/flow/{execution_id}/status").status == 404


def test_seed_001_deleting_an_unknown_execution_is_not_found(api: Api) -> None:
    answer = api.request("DELETE", "/flow/00000000-0000-4000-8000-000000000000")
    assert answer.status == 404


def test_seed_000_health_check(api: Api) -> None:
    answer = api.request("GET", "/health")
    assert answer.status == 200
    assert answer.body["status"] == "healthy"
    assert answer.body["service"] == "Flow Manager"
