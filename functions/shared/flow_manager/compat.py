"""The request shapes of the seeds' clients, mapped to the flow language, and the
answers those clients read (DESIGN §3.1 last paragraph, §7). No HTTP here: the routes
in functions/api/routes/compat.py hand bodies in and models out.

Shapes a body can have, told apart by its keys (`shape_of`):

- `{"execution_id": ...}`: start an execution prepared by `POST /flow/create`;
- `{"flow": ...}`, `{"flow_data": ...}` or `{"flow_id": ...}`: our own run request;
- a bare flow (`{"name", "start_task", "tasks", ...}` at the top level): the flow
  itself, as seed 001's and seed 003's clients post it.

A bare flow's tasks may carry `task_type` (seed 001) instead of `function`:
`wait` + `parameters.seconds` is a wait task, `print` the `print` sample kind, any
other value the catalog kind of that name (`fetch_data`, `process_data`, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

from flow_manager.errors import InvalidRequest, Problem
from flow_manager.flows import FlowResource
from flow_manager.model import Task
from flow_manager.reports import ExecutionReport, TaskReport

Shape = Literal["prepared", "wrapped", "bare"]

WRAPPERS = ("flow", "flow_data", "flow_id")
BARE_KEYS = ("tasks", "start_task")
PREPARED_STATUS = "created"

# The sample flow of seed 003's `POST /flow/run-sample` (its app/sample_flow.json).
SAMPLE_FLOW: dict[str, Any] = {
    "id": "sample_flow",
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


def shape_of(body: object) -> Shape:
    """Which request `body` is; a body that is none of them is a located 422."""
    if isinstance(body, Mapping):
        if "execution_id" in body:
            return "prepared"
        if any(key in body for key in WRAPPERS):
            return "wrapped"
        if any(key in body for key in BARE_KEYS):
            return "bare"
    raise InvalidRequest(
        'give "execution_id" (of POST /flow/create), the flow itself, or {"flow": ...}',
        [Problem("body", "expected execution_id, a flow, or a flow/flow_id wrapper")],
        "InvalidRequest",
    )


def flow_document(body: object) -> object:
    """`{"flow": ...}` for a bare flow (its `task_type`s mapped); a wrapped body as it is.

    Anything malformed is passed on unchanged for the validator to locate."""
    if not isinstance(body, Mapping) or any(key in body for key in WRAPPERS):
        return body
    flow = dict(body)
    tasks = flow.get("tasks")
    if isinstance(tasks, list):
        flow["tasks"] = [map_task(t) for t in tasks]
    return {"flow": flow}


def map_task(task: object) -> object:
    """One seed-001 task in the flow language: `task_type` becomes a kind or a wait."""
    if not isinstance(task, Mapping) or "task_type" not in task:
        return task
    mapped = {key: value for key, value in task.items() if key != "task_type"}
    task_type = task["task_type"]
    if task_type == "wait":
        parameters = mapped.pop("parameters", None)
        seconds = parameters.get("seconds") if isinstance(parameters, Mapping) else None
        mapped.update(_wait(seconds))
    elif isinstance(task_type, str) and "function" not in mapped:
        mapped["function"] = task_type
    else:
        mapped["function"] = task_type  # not a string: the validator says so, located
    return mapped


def _wait(seconds: object) -> dict[str, Any]:
    """A wait of `seconds`: the language's Wait state (`type: "wait"`) where this build
    has it; until then the `print` kind sleeping that long (its `sleep_seconds` demo
    switch), which also always succeeds after the wait."""
    if "type" in Task.model_fields:
        return {"type": "wait", "seconds": seconds}
    return {
        "function": "print",
        "parameters": {"message": f"waited {seconds} s", "sleep_seconds": seconds},
    }


# ---- answers -------------------------------------------------------------------------


class FlowPrepared(BaseModel):
    """The answer to POST /flow/create: the prepared execution and the stored flow."""

    execution_id: str = Field(description="Pass it to POST /flow/execute to start it.")
    flow_name: str
    status: str = Field(default=PREPARED_STATUS, description='"created": prepared, not started.')
    message: str = "Flow created successfully"
    flow_id: str
    flow_version: int
    warnings: list[Any] = Field(
        default_factory=list, description="What the flow was accepted with (unreachable tasks)."
    )


class ExecutionState(BaseModel):
    """An execution's state as /flow/execute and /flow/{id}/status answer it (status
    "created" while only prepared), with the full report's fields beside it."""

    execution_id: str
    flow_name: str
    status: str = Field(description='"created" (prepared), or running, completed, failed, ...')
    current_task: str | None = None
    completed_tasks: list[str] = Field(
        default_factory=list, description="Tasks that ended (success or failure), in order."
    )
    started_at: str | None = None
    ended_at: str | None = None
    task_results: dict[str, TaskReport] = Field(default_factory=dict)
    flow_id: str
    flow_version: int | None = None
    failed_task: str | None = None
    executed_tasks: list[str] = Field(default_factory=list)
    context: JsonValue = None
    output: JsonValue = None
    error: str | None = None
    cause: str | None = None
    execution_arn: str | None = None
    console_url: str | None = None


class HistoryEntry(BaseModel):
    task: str
    status: str
    data: JsonValue = None
    error: str | None = None


def prepared_answer(flow: FlowResource, execution_id: str) -> FlowPrepared:
    return FlowPrepared(
        execution_id=execution_id,
        flow_name=flow.name,
        flow_id=flow.flow_id,
        flow_version=flow.version,
        warnings=warnings_of(flow),
    )


def warnings_of(flow: FlowResource) -> list[Any]:
    """The warnings the flow was accepted with (FlowResource.warnings, where this build
    has them: unreachable tasks are warnings since the hardening issue)."""
    return [w.model_dump() for w in getattr(flow, "warnings", [])]


def execution_state(
    flow_name: str,
    execution_id: str,
    flow_id: str,
    flow_version: int,
    report: ExecutionReport | None,
    context: JsonValue = None,
) -> ExecutionState:
    """The state of an execution: `report` None means prepared, not started."""
    if report is None:
        return ExecutionState(
            execution_id=execution_id,
            flow_name=flow_name,
            status=PREPARED_STATUS,
            flow_id=flow_id,
            flow_version=flow_version,
            context=context,
        )
    return ExecutionState(
        execution_id=execution_id,
        flow_name=flow_name,
        status=report.status,
        current_task=report.current_task,
        completed_tasks=[
            t for t in report.executed_tasks if report.task_results[t].status != "running"
        ],
        started_at=report.start_time,
        ended_at=report.end_time,
        task_results=report.task_results,
        flow_id=report.flow_id,
        flow_version=report.flow_version,
        failed_task=report.failed_task,
        executed_tasks=report.executed_tasks,
        context=report.context,
        output=report.output,
        error=report.error,
        cause=report.cause,
        execution_arn=report.execution_arn,
        console_url=report.console_url,
    )


def history(report: ExecutionReport) -> list[HistoryEntry]:
    """Seed 003's `history`: each executed task's result, in execution order."""
    return [
        HistoryEntry(
            task=name,
            status=report.task_results[name].status,
            data=report.task_results[name].data,
            error=report.task_results[name].error,
        )
        for name in report.executed_tasks
        if name in report.task_results
    ]


def run_message(flow_name: str, report: ExecutionReport, finished: bool) -> str:
    """Seed 003's message: `Flow '<name>' executed successfully.` or what went wrong."""
    if not finished:
        return f"Flow '{flow_name}' is running: poll the Location."
    if report.status == "completed":
        return f"Flow '{flow_name}' executed successfully."
    where = f" at task '{report.failed_task}'" if report.failed_task else ""
    return f"Flow '{flow_name}' {report.status}{where}."


def prepared_context(prepared_input: str | None) -> JsonValue:
    """The context a prepared execution will start with."""
    if prepared_input is None:
        return None
    value: JsonValue = json.loads(prepared_input)
    return value


def bad_execution_id() -> InvalidRequest:
    return InvalidRequest(
        "execution_id must be a string (the id POST /flow/create answered)",
        [Problem("body.execution_id", "expected a string")],
        "InvalidRequest",
    )
