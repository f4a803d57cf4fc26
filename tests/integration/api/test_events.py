"""Every events/api/*.json (the `sam local invoke ApiFunction -e ...` events) answers as
it should through `lambda_handler`, given the state its route needs.

Events about one execution carry a placeholder id (an execution id is only known once
started); the test puts a real one in its place, as a user of `sam local invoke` would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.api.conftest import ROOT, Answer, Api

EVENTS = ROOT / "events" / "api"
FLOWS = ROOT / "events" / "flows"
PLACEHOLDER_ID = "2f7f3c1e-5b0a-4d8e-9c61-0a1b2c3d4e5f"

Setup = Callable[[Api], str | None]


def nothing(api: Api) -> None:
    return None


def data_pipeline(api: Api) -> None:
    api.request("POST", "/flows", json.loads((FLOWS / "data_pipeline.json").read_text()))


def etl_pipeline(api: Api) -> None:
    api.request("POST", "/flows", json.loads((FLOWS / "etl_pipeline.json").read_text()))


def finished_execution(api: Api) -> str:
    data_pipeline(api)
    started = api.request("POST", "/flows/data_pipeline/executions", {"context": {}})
    execution_id: str = started.body["execution_id"]
    api.wait(execution_id)
    return execution_id


def running_execution(api: Api) -> str:
    data_pipeline(api)
    api.hold("fetch_data")
    started = api.request("POST", "/flows/data_pipeline/executions", {"context": {}})
    execution_id: str = started.body["execution_id"]
    api.wait_for_task(execution_id, "task1")
    return execution_id


Check = Callable[[Answer, str | None], bool]
"""(the answer, the execution id the setup made) → as expected?"""


def field(name: str, value: Any) -> Check:
    return lambda answer, _: isinstance(answer.body, dict) and answer.body.get(name) == value


def anything(answer: Answer, execution_id: str | None) -> bool:
    return True


@dataclass(frozen=True)
class Case:
    setup: Setup
    status: int
    check: Check = anything


CASES: dict[str, Case] = {
    "health": Case(nothing, 200, field("status", "healthy")),
    "list_tasks": Case(
        nothing, 200, lambda a, _: len(a.body["tasks"]) == 4 and len(a.body["aliases"]) == 6
    ),
    "docs": Case(nothing, 200, lambda a, _: "swagger-ui" in a.text.lower()),
    "openapi": Case(nothing, 200, lambda a, _: "/flows/{flow_id}" in a.body["paths"]),
    "create_flow": Case(nothing, 201, field("flow_id", "data_pipeline")),
    "validate_flow": Case(nothing, 200, field("valid", True)),
    "list_flows": Case(
        data_pipeline, 200, lambda a, _: a.body["flows"][0]["flow_id"] == "data_pipeline"
    ),
    "get_flow": Case(data_pipeline, 200, field("version", 1)),
    "update_flow": Case(data_pipeline, 200, field("version", 2)),
    "delete_flow": Case(data_pipeline, 204),
    "get_definition": Case(
        data_pipeline, 200, lambda a, _: a.body["definition"]["StartAt"] == "Start"
    ),
    "start_execution": Case(data_pipeline, 202, field("flow_id", "data_pipeline")),
    "list_executions": Case(finished_execution, 200, lambda a, _: len(a.body["executions"]) == 1),
    "get_execution": Case(finished_execution, 200, field("status", "completed")),
    "stop_execution": Case(running_execution, 200, field("flow_id", "data_pipeline")),
    "compat_create_flow_data": Case(nothing, 201, field("flow_id", "etl_pipeline")),
    "compat_flows_execute": Case(etl_pipeline, 200, field("status", "completed")),
    "compat_flow_execute": Case(nothing, 200, field("executed_tasks", ["task1", "task2", "task3"])),
    "compat_flow_execute_without_id": Case(nothing, 200, field("status", "completed")),
    "compat_run_flow": Case(nothing, 200, field("flow_id", "flow123")),
    "compat_flow_create": Case(nothing, 200, field("status", "created")),
    "compat_flow_status": Case(finished_execution, 200, field("status", "completed")),
    "compat_flow_delete": Case(
        finished_execution,
        200,
        lambda a, run: a.body["message"] == f"Flow execution {run} deleted successfully",
    ),
}


def test_every_event_file_has_an_expectation() -> None:
    assert {p.stem for p in EVENTS.glob("*.json")} == set(CASES)


def test_every_event_is_a_rest_proxy_event_with_a_stage() -> None:
    for path in EVENTS.glob("*.json"):
        event = json.loads(path.read_text())
        assert event["requestContext"]["stage"] == "v1", path.name
        assert event["httpMethod"] == event["requestContext"]["httpMethod"], path.name
        if event["body"] is not None:
            json.loads(event["body"])  # readable JSON, not base64


@pytest.mark.parametrize("name", sorted(CASES))
def test_event_answers_as_expected(api: Api, name: str) -> None:
    # Given the state the route needs
    case = CASES[name]
    execution_id = case.setup(api)
    text = (EVENTS / f"{name}.json").read_text()
    if execution_id is not None:
        text = text.replace(PLACEHOLDER_ID, execution_id)
    # When the event is invoked
    answer = api.invoke(json.loads(text))
    # Then the answer is the route's
    assert answer.status == case.status, answer.text[:500]
    assert case.check(answer, execution_id), answer.text[:500]
