"""The seeds' request shapes mapped to the flow language (flow_manager.compat)."""

from __future__ import annotations

from typing import Any

import pytest

from flow_manager.catalog import placeholder_catalog
from flow_manager.compat import flow_document, history, map_task, shape_of
from flow_manager.errors import InvalidRequest
from flow_manager.model import Task
from flow_manager.reports import ExecutionReport, TaskReport
from flow_manager.validation import validate


def seed_001_flow(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "seed001",
        "name": "Seed 001 flow",
        "start_task": tasks[0]["name"],
        "tasks": list(tasks),
        "conditions": [],
    }


def test_an_execution_id_body_is_a_prepared_execution() -> None:
    assert shape_of({"execution_id": "abc"}) == "prepared"


def test_a_body_with_a_flow_wrapper_is_our_run_request() -> None:
    assert shape_of({"flow": {}, "context": {}}) == "wrapped"
    assert shape_of({"flow_id": "x"}) == "wrapped"


def test_a_body_with_tasks_at_the_top_is_a_bare_flow() -> None:
    assert shape_of(seed_001_flow({"name": "a"})) == "bare"


def test_a_body_of_no_known_shape_is_a_located_request_error() -> None:
    with pytest.raises(InvalidRequest) as caught:
        shape_of({"colour": "blue"})
    assert caught.value.details[0].location == "body"  # type: ignore[attr-defined]


def test_a_bare_flow_is_wrapped_as_a_flow_document() -> None:
    body = seed_001_flow({"name": "a"})
    assert flow_document(body) == {"flow": body}


def test_a_wrapped_body_is_left_as_it_is() -> None:
    body = {"flow": seed_001_flow({"name": "a"})}
    assert flow_document(body) is body


def test_a_catalog_task_type_becomes_the_tasks_function() -> None:
    task = {"name": "fetch", "task_type": "fetch_data", "parameters": {"failure_rate": 0}}
    assert map_task(task) == {
        "name": "fetch",
        "function": "fetch_data",
        "parameters": {"failure_rate": 0},
    }


def test_a_print_task_type_is_the_print_kind_and_validates() -> None:
    body = seed_001_flow({"name": "hello", "task_type": "print", "parameters": {"message": "hi"}})
    flow = validate(flow_document(body), placeholder_catalog())
    assert flow.tasks[0].kind == "print"


def test_a_wait_task_type_becomes_a_wait_of_its_seconds() -> None:
    task = {"name": "pause", "task_type": "wait", "parameters": {"seconds": 2}}
    mapped = map_task(task)
    if "type" in Task.model_fields:  # the language's wait task
        assert mapped == {"name": "pause", "type": "wait", "seconds": 2}
    else:  # until then: the print kind, sleeping as long
        assert mapped == {
            "name": "pause",
            "function": "print",
            "parameters": {"message": "waited 2 s", "sleep_seconds": 2},
        }


def test_a_wait_task_type_validates() -> None:
    body = seed_001_flow({"name": "pause", "task_type": "wait", "parameters": {"seconds": 2}})
    assert validate(flow_document(body), placeholder_catalog()).tasks[0].name == "pause"


def test_history_lists_the_executed_tasks_in_order_with_their_results() -> None:
    report = ExecutionReport(
        execution_id="e",
        flow_id="f",
        status="failed",
        execution_arn="arn",
        executed_tasks=["b", "a"],
        task_results={
            "a": TaskReport(status="failure", error="boom"),
            "b": TaskReport(status="success", data={"n": 1}),
        },
    )
    assert [h.model_dump() for h in history(report)] == [
        {"task": "b", "status": "success", "data": {"n": 1}, "error": None},
        {"task": "a", "status": "failure", "data": None, "error": "boom"},
    ]
