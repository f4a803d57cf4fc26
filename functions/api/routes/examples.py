"""Request bodies for Swagger UI's "Try it out": one working example per body route,
so a newcomer's first click answers 2xx (tests/integration/api/test_openapi.py posts
every one). Plain data: the OpenAPI models are built only when /docs is asked for."""

from __future__ import annotations

from typing import Any


def _pipeline(flow_id: str | None = "data_pipeline") -> dict[str, Any]:
    flow: dict[str, Any] = {
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
                "source_task": "task1",
                "outcome": "success",
                "target_task_success": "task2",
                "target_task_failure": "end",
            },
            {
                "name": "condition_task2_result",
                "source_task": "task2",
                "outcome": "success",
                "target_task_success": "task3",
                "target_task_failure": "end",
            },
        ],
    }
    return {"id": flow_id, **flow} if flow_id else flow


def _typed_flow() -> dict[str, Any]:
    """A flow as POST /flow/create's clients send it: bare, tasks typed with task_type."""
    return {
        "id": "typed_flow",
        "name": "Typed tasks",
        "start_task": "fetch",
        "tasks": [
            {"name": "fetch", "task_type": "fetch_data", "parameters": {"failure_rate": 0}},
            {"name": "pause", "task_type": "wait", "parameters": {"seconds": 1}},
            {"name": "say", "task_type": "print", "parameters": {"message": "fetched"}},
        ],
        "conditions": [
            {
                "name": "after_fetch",
                "source_task": "fetch",
                "outcome": "success",
                "target_task_success": "pause",
                "target_task_failure": "end",
            },
            {
                "name": "after_pause",
                "source_task": "pause",
                "outcome": "success",
                "target_task_success": "say",
                "target_task_failure": "end",
            },
        ],
    }


def example(summary: str, value: Any) -> dict[str, Any]:
    return {"summary": summary, "value": value}


FLOW = {
    "flow": example("The sample flow: task1 → task2 → task3", {"flow": _pipeline()}),
    "flow_data": example(
        'The same flow in the {"flow_data": ...} wrapper', {"flow_data": {"flow": _pipeline()}}
    ),
}
FLOW_UPDATE = {
    "flow": example("A new version of data_pipeline", {"flow": _pipeline()}),
}
START = {
    "context": example("A context every task receives", {"context": {"batch_id": "batch_001"}}),
    "fail": example(
        "Make task2 fail in this execution only",
        {"context": {"demo": {"task2": {"fail": True}}}},
    ),
}
RUN = {
    "flow_id": example(
        "A stored flow by id", {"flow_id": "data_pipeline", "context": {"batch_id": "b1"}}
    ),
    "flow": example("The flow itself", {"flow": _pipeline("inline_pipeline"), "context": {}}),
}
FLOW_EXECUTE = {
    "bare": example("A bare flow: run it, answer its history", _pipeline(None)),
    "flow": example("The flow in a wrapper", {"flow": _pipeline("inline_pipeline")}),
    "execution_id": example(
        "Start an execution prepared by POST /flow/create (put its id here)",
        {"execution_id": "<execution_id of POST /flow/create>"},
    ),
}
FLOW_CREATE = {
    "typed": example("A bare flow with task_type: fetch, wait 1 s, print", _typed_flow()),
}
