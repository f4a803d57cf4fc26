"""The routes other clients already call, served so they work unchanged (tag "compat").

The shapes live in flow_manager.compat; these handlers only move bodies and answers."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field, JsonValue, SkipValidation, ValidationError

from flow_manager import compat
from flow_manager.compat import ExecutionState, FlowPrepared, HistoryEntry
from flow_manager.errors import FlowNotFound
from flow_manager.executions import Run
from flow_manager.model import Flow, FlowDocument
from flow_manager.reports import ExecutionReport
from flow_manager.settings import load_settings
from routes import examples
from routes.params import IdempotencyKey
from routes.responses import BODY_ERRORS, JSON, errors, json_response, ok
from routes.services import executions

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
metrics = Metrics()


class RunBody(BaseModel):
    """A run request: a stored flow by id, or the flow itself, and a context."""

    model_config = ConfigDict(extra="forbid")

    flow_id: str | None = None
    flow: SkipValidation[Flow] | None = None
    flow_data: SkipValidation[FlowDocument] | None = None
    context: dict[str, JsonValue] = Field(default_factory=dict)


class RunResult(ExecutionReport):
    message: str
    execution_history: dict[str, Any] = Field(
        default_factory=dict, description="Each task's result by name (task_results)."
    )
    warnings: list[Any] = Field(
        default_factory=list, description="What the flow was accepted with (unreachable tasks)."
    )


class BareRunResult(RunResult):
    history: list[HistoryEntry] = Field(
        default_factory=list, description="Each executed task's result, in execution order."
    )


class SampleRun(BaseModel):
    message: str
    flow_id: str
    execution_history: dict[str, Any]
    execution_id: str
    status: str


class Deleted(BaseModel):
    message: str
    execution_id: str


_RUN_DESCRIPTION = (
    "Runs a stored flow (flow_id) or the flow in the body (created, reused when "
    "identical, or published as a new version when its id exists with another "
    "definition), then waits a bounded time: 200 with the finished execution, or 202 "
    "with where to poll (Location) if it is still running."
)
_RUN_RESPONSES: dict[int, OpenAPIResponse] = {
    **ok(200, RunResult, "The execution ended: its result"),
    **ok(202, RunResult, "Still running: poll Location"),
    **errors(
        "FlowNotFound",
        "InvalidFlow",
        "InvalidContext",
        "InvalidRequest",
        "IdempotencyKeyReused",
        "FlowBusy",
        "VersionConflict",
        "BadRequest",
        *BODY_ERRORS,
    ),
}


def _start(
    document: object, context: object, flow_id: str | None, idempotency_key: str | None
) -> Run:
    run = executions().run(
        flow_id, document, context, idempotency_key, load_settings().run_wait_seconds
    )
    if run.flow.created:
        metrics.add_metric(name="FlowCreated", unit=MetricUnit.Count, value=1)
    if run.started.new:
        metrics.add_metric(name="ExecutionStarted", unit=MetricUnit.Count, value=1)
    return run


def _history(report: ExecutionReport) -> dict[str, Any]:
    return {k: v.model_dump(mode="json") for k, v in report.task_results.items()}


def _run(body: RunBody, idempotency_key: str | None) -> Response[RunResult]:
    raw = router.current_event.json_body
    # Both wrappers at once reach the validator as they are, which names the extra one.
    document = {key: raw[key] for key in ("flow", "flow_data") if key in raw} or None
    run = _start(document, body.context, body.flow_id, idempotency_key)
    report = run.report
    message = f"Flow {report.status}" if run.finished else "Flow is running: poll the Location"
    if report.status == "completed":
        message = "Flow executed successfully"
    result = RunResult(**report.model_dump(), message=message, execution_history=_history(report))
    location = f"/executions/{report.execution_id}"
    return json_response(200 if run.finished else 202, result, {"Location": location})


def _run_bare(raw: object, idempotency_key: str | None) -> Response[BareRunResult]:
    run = _start(compat.flow_document(raw), {}, None, idempotency_key)
    report = run.report
    result = BareRunResult(
        **report.model_dump(),
        message=compat.run_message(run.flow.flow.name, report, run.finished),
        execution_history=_history(report),
        history=compat.history(report),
        warnings=compat.warnings_of(run.flow.flow),
    )
    location = f"/executions/{report.execution_id}"
    return json_response(200 if run.finished else 202, result, {"Location": location})


def _run_body(raw: object) -> RunBody:
    try:
        return RunBody.model_validate(raw)
    except ValidationError as exc:  # answered like any invalid body (422, located)
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None


def _flow_name(flow_id: str) -> str:
    try:
        return executions().flows.get(flow_id).name
    except FlowNotFound:  # deleted since: its executions still read
        return flow_id


def _state(execution_id: str) -> ExecutionState:
    record, report = executions().progress(execution_id)
    return compat.execution_state(
        _flow_name(record.flow_id),
        record.execution_id,
        record.flow_id,
        record.flow_version,
        report,
        compat.prepared_context(record.prepared_input),
    )


@router.post(
    "/flows/execute",
    tags=["compat"],
    summary="Run a flow by id or inline, wait a bounded time",
    description='For clients that post `{"flow_id", "context"}` or '
    '`{"flow_data": {"flow": ...}}`. ' + _RUN_DESCRIPTION,
    responses=_RUN_RESPONSES,
)
def compat_flows_execute(
    body: Annotated[RunBody, Body(openapi_examples=examples.RUN)],
    idempotency_key: IdempotencyKey = None,
) -> Response[RunResult]:
    return _run(body, idempotency_key)


# One route, three bodies: the 200 is the prepared execution's state, or the run's
# result (a bare flow's adds `history`). The document says so, so clients and
# schemathesis read the one that came.
_FLOW_EXECUTE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "A prepared execution started: its state (execution_id body); or "
        "the run of a flow given in the body ended: its result (a bare flow's adds history)",
        "content": {JSON: {"model": ExecutionState | BareRunResult | RunResult}},
    },
    **ok(202, RunResult, "An inline flow still running: poll Location"),
    **{k: v for k, v in _RUN_RESPONSES.items() if k not in (200, 202)},
    **errors("ExecutionNotFound", "ExecutionAlreadyStarted"),
}


@router.post(
    "/flow/execute",
    tags=["compat"],
    summary="Start a prepared execution, or run a flow given in the body",
    description='Three bodies, told apart by their keys: `{"execution_id"}` of '
    "POST /flow/create starts that execution in the background and answers its state "
    "(`execution_id, flow_name, status, current_task, completed_tasks, started_at, "
    "ended_at, task_results`; 404 unknown id, 409 already started). A bare flow "
    '(`{"name", "start_task", "tasks", "conditions"}`) runs and answers `message` '
    "(`Flow '<name>' executed successfully.` or the failure), `history` (each task's "
    "`{task, status, data, error}` in order) and `execution_history` (by task). "
    '`{"flow": ...}` or `{"flow_id", "context"}`: as POST /flows/execute. ' + _RUN_DESCRIPTION,
    responses=_FLOW_EXECUTE_RESPONSES,
)
def compat_flow_execute(
    body: Annotated[dict[str, JsonValue], Body(openapi_examples=examples.FLOW_EXECUTE)],
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    raw = router.current_event.json_body
    shape = compat.shape_of(raw)
    if shape == "prepared":
        execution_id = raw["execution_id"]
        if not isinstance(execution_id, str):
            raise compat.bad_execution_id()
        executions().start_prepared(execution_id)
        metrics.add_metric(name="ExecutionStarted", unit=MetricUnit.Count, value=1)
        return json_response(200, _state(execution_id))
    if shape == "bare":
        return _run_bare(raw, idempotency_key)
    return _run(_run_body(raw), idempotency_key)


@router.post(
    "/run-flow",
    tags=["compat"],
    summary="Run a flow by id or inline (as POST /flows/execute)",
    description=_RUN_DESCRIPTION,
    responses=_RUN_RESPONSES,
)
def compat_run_flow(
    body: Annotated[RunBody, Body(openapi_examples=examples.RUN)],
    idempotency_key: IdempotencyKey = None,
) -> Response[RunResult]:
    return _run(body, idempotency_key)


@router.post(
    "/flow/run-sample",
    tags=["compat"],
    summary="Run the sample flow task1 → task2 → task3",
    description="No body. Runs the sample flow (id `sample_flow`: fetch, process, store "
    "data; any failure ends it) and answers `message`, `flow_id` and "
    "`execution_history` (each task's result by name).",
    responses={
        **ok(200, SampleRun, "The run ended"),
        **ok(202, SampleRun, "Still running: poll Location"),
        **errors("FlowBusy"),
    },
)
def compat_run_sample() -> Response[SampleRun]:
    run = _start({"flow": compat.SAMPLE_FLOW}, {}, None, None)
    report = run.report
    result = SampleRun(
        message="Sample flow executed." if run.finished else "Sample flow is running.",
        flow_id=report.flow_id,
        execution_history=_history(report),
        execution_id=report.execution_id,
        status=report.status,
    )
    location = f"/executions/{report.execution_id}"
    return json_response(200 if run.finished else 202, result, {"Location": location})


@router.post(
    "/flow/create",
    tags=["compat"],
    summary="Store a flow and prepare an execution of it (not started)",
    description='The flow bare (`{"id", "name", "start_task", "tasks", '
    '"conditions"}`) or as `{"flow": ...}`; a task may say `task_type` instead of '
    "`function`: `wait` (with `parameters.seconds`) is a wait task, `print` the print "
    "kind, any other value the catalog kind of that name (`fetch_data`, ...). The flow "
    "is created, or reused when identical (a new version when its id holds another "
    'definition). Answers 200 `{execution_id, flow_name, status: "created", message: '
    '"Flow created successfully"}` (with `flow_id`, `flow_version`, `warnings`); '
    'POST /flow/execute `{"execution_id"}` starts it.',
    responses={
        **ok(200, FlowPrepared, "Stored, and an execution prepared"),
        **errors("InvalidFlow", "FlowBusy", *BODY_ERRORS),
    },
)
def compat_flow_create(
    body: Annotated[dict[str, JsonValue], Body(openapi_examples=examples.FLOW_CREATE)],
) -> Response[FlowPrepared]:
    saved = executions().flows.ensure(compat.flow_document(router.current_event.json_body))
    if saved.created:
        metrics.add_metric(name="FlowCreated", unit=MetricUnit.Count, value=1)
    record = executions().prepare(saved.flow.flow_id, {})
    return json_response(200, compat.prepared_answer(saved.flow, record.execution_id))


@router.get(
    "/flow/<execution_id>/status",
    tags=["compat"],
    summary="An execution's state: prepared (status created), running or ended",
    description="`execution_id, flow_name, status, current_task, completed_tasks, "
    "started_at, ended_at, task_results`, then our report's fields (flow_id, "
    "failed_task, executed_tasks, context, output, error, ...). Any execution id "
    "works, also those started through /flows/{id}/executions.",
    responses={**ok(200, ExecutionState, "The execution"), **errors("ExecutionNotFound")},
)
def compat_flow_status(execution_id: str) -> Response[ExecutionState]:
    return json_response(200, _state(execution_id))


@router.delete(
    "/flow/<execution_id>",
    tags=["compat"],
    summary="Stop an execution if it runs, and delete its record",
    description='200 `{"message": "Flow execution <id> deleted successfully"}`; the flow '
    "stays. Step Functions keeps the execution's history; this API no longer finds it.",
    responses={**ok(200, Deleted, "Deleted"), **errors("ExecutionNotFound")},
)
def compat_flow_delete(execution_id: str) -> Response[Deleted]:
    executions().forget(execution_id)
    message = f"Flow execution {execution_id} deleted successfully"
    return json_response(200, Deleted(message=message, execution_id=execution_id))
