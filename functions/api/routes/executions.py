"""Execution routes: start, list, read, stop."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit

from flow_manager.executions import ExecutionPage
from flow_manager.reports import ExecutionReport, ExecutionStatus, ExecutionSummary
from routes import examples
from routes.params import IdempotencyKey, Limit, NextToken, StartBody
from routes.responses import BODY_ERRORS, errors, json_response, ok
from routes.services import executions

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
metrics = Metrics()


@router.post(
    "/flows/<flow_id>/executions",
    tags=["executions"],
    summary="Start an execution of the flow's current version",
    description="202: the execution runs; poll its Location. The body is optional "
    '({"context": {...}}, default {}). A new execution is answered as running since its '
    "start_time. With Idempotency-Key a retried request answers the execution it started "
    "the first time, with its status now.",
    responses={
        **ok(202, ExecutionSummary, "Started (or found, for a retried Idempotency-Key)"),
        **errors(
            "FlowNotFound",
            "InvalidContext",
            "InvalidRequest",
            "IdempotencyKeyReused",
            "BadRequest",
            *BODY_ERRORS,
        ),
    },
)
def start_execution(
    flow_id: str,
    idempotency_key: IdempotencyKey = None,
    body: Annotated[StartBody | None, Body(openapi_examples=examples.START)] = None,
) -> Response[ExecutionSummary]:
    context = body.context if body is not None else {}
    started = executions().start(flow_id, context, idempotency_key)
    if started.new:
        metrics.add_metric(name="ExecutionStarted", unit=MetricUnit.Count, value=1)
    location = f"/executions/{started.execution.execution_id}"
    return json_response(202, started.execution, {"Location": location})


@router.get(
    "/flows/<flow_id>/executions",
    tags=["executions"],
    summary="List the flow's executions, newest first",
    responses={
        **ok(200, ExecutionPage, "A page of executions"),
        **errors("FlowNotFound", "InvalidPageToken", "InvalidParameter"),
    },
)
def list_executions(
    flow_id: str,
    status: Annotated[ExecutionStatus | None, Query(description="Only this status.")] = None,
    limit: Limit = 25,
    next_token: NextToken = None,
) -> Response[ExecutionPage]:
    return json_response(200, executions().list(flow_id, status, limit, next_token))


@router.get(
    "/executions/<execution_id>",
    tags=["executions"],
    summary="An execution: status, current task, every task's result with timing",
    responses={**ok(200, ExecutionReport, "The execution"), **errors("ExecutionNotFound")},
)
def get_execution(execution_id: str) -> Response[ExecutionReport]:
    return json_response(200, executions().get(execution_id))


@router.delete(
    "/executions/<execution_id>",
    tags=["executions"],
    summary="Stop a running execution (it ends aborted)",
    responses={
        **ok(200, ExecutionReport, "Stopped"),
        **errors("ExecutionNotFound", "ExecutionNotRunning"),
    },
)
def stop_execution(execution_id: str) -> Response[ExecutionReport]:
    return json_response(200, executions().stop(execution_id))
