"""The seeds' routes, served as aliases so their clients work unchanged (tag "compat")."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field, JsonValue, SkipValidation

from flow_manager.flows import FlowResource
from flow_manager.model import Flow, FlowDocument
from flow_manager.reports import ExecutionReport
from flow_manager.settings import load_settings
from routes.executions import get_execution
from routes.flows import CREATE_RESPONSES, create_flow
from routes.params import FlowBody, IdempotencyKey
from routes.responses import BODY_ERRORS, errors, json_response, ok
from routes.services import executions

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
metrics = Metrics()


class RunBody(BaseModel):
    """The seeds' run request: a stored flow by id, or the flow itself, and a context."""

    model_config = ConfigDict(extra="forbid")

    flow_id: str | None = None
    flow: SkipValidation[Flow] | None = None
    flow_data: SkipValidation[FlowDocument] | None = None
    context: dict[str, JsonValue] = Field(default_factory=dict)


class RunResult(ExecutionReport):
    message: str
    execution_history: dict[str, Any] = Field(
        default_factory=dict, description="Seed 003's name for task_results."
    )


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


def _run(body: RunBody, idempotency_key: str | None) -> Response[RunResult]:
    raw = router.current_event.json_body
    # Both wrappers at once reach the validator as they are, which names the extra one.
    document = {key: raw[key] for key in ("flow", "flow_data") if key in raw} or None
    run = executions().run(
        body.flow_id,
        document,
        body.context,
        idempotency_key,
        load_settings().run_wait_seconds,
    )
    if run.flow.created:
        metrics.add_metric(name="FlowCreated", unit=MetricUnit.Count, value=1)
    if run.started.new:
        metrics.add_metric(name="ExecutionStarted", unit=MetricUnit.Count, value=1)
    report = run.report
    message = f"Flow {report.status}" if run.finished else "Flow is running: poll the Location"
    if report.status == "completed":
        message = "Flow executed successfully"
    result = RunResult(
        **report.model_dump(),
        message=message,
        execution_history={k: v.model_dump(mode="json") for k, v in report.task_results.items()},
    )
    location = f"/executions/{report.execution_id}"
    return json_response(200 if run.finished else 202, result, {"Location": location})


@router.post(
    "/flows/execute",
    tags=["compat"],
    summary="Seed 000: run a flow",
    description=_RUN_DESCRIPTION,
    responses=_RUN_RESPONSES,
)
def compat_flows_execute(
    body: Annotated[RunBody, Body()], idempotency_key: IdempotencyKey = None
) -> Response[RunResult]:
    return _run(body, idempotency_key)


@router.post(
    "/flow/execute",
    tags=["compat"],
    summary="Seeds 001-003: run a flow",
    description=_RUN_DESCRIPTION,
    responses=_RUN_RESPONSES,
)
def compat_flow_execute(
    body: Annotated[RunBody, Body()], idempotency_key: IdempotencyKey = None
) -> Response[RunResult]:
    return _run(body, idempotency_key)


@router.post(
    "/run-flow",
    tags=["compat"],
    summary="Seed 004: run a flow",
    description=_RUN_DESCRIPTION,
    responses=_RUN_RESPONSES,
)
def compat_run_flow(
    body: Annotated[RunBody, Body()], idempotency_key: IdempotencyKey = None
) -> Response[RunResult]:
    return _run(body, idempotency_key)


@router.post(
    "/flow/create",
    tags=["compat"],
    summary="Seed 001: create a flow (as POST /flows)",
    responses=CREATE_RESPONSES,
)
def compat_flow_create(body: Annotated[FlowBody, Body()]) -> Response[FlowResource]:
    return create_flow(body)


@router.get(
    "/flow/<execution_id>/status",
    tags=["compat"],
    summary="Seed 001: an execution's status (as GET /executions/{id})",
    responses={**ok(200, ExecutionReport, "The execution"), **errors("ExecutionNotFound")},
)
def compat_flow_status(execution_id: str) -> Response[ExecutionReport]:
    return get_execution(execution_id)


@router.delete(
    "/flow/<execution_id>",
    tags=["compat"],
    summary="Seed 001: stop an execution if it runs and delete its record",
    responses={**ok(200, Deleted, "Deleted"), **errors("ExecutionNotFound")},
)
def compat_flow_delete(execution_id: str) -> Response[Deleted]:
    executions().forget(execution_id)
    message = f"Execution {execution_id} deleted"
    return json_response(200, Deleted(message=message, execution_id=execution_id))
