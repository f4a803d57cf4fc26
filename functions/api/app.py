"""ApiFunction: the HTTP API of DESIGN §7 on API Gateway (REST, proxy integration).

Routes only: each parses its request, calls one function of `flow_manager`, and shapes
the answer. Domain errors become HTTP answers in one place (`STATUS_OF`, `_error`),
all with the body `{"error": {"code", "message", "details"}}`. The seeds' routes are
served as aliases (tag "compat") so their clients work unchanged.

Cold start: nothing here imports boto3 or the X-Ray SDK. AWS clients are made by the
first request that needs one; Tracer is imported only when tracing is on.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, JsonValue, SkipValidation

from flow_manager.errors import ConfigurationError, FlowManagerError, PayloadTooLarge, Problem
from flow_manager.executions import ExecutionPage, Executions
from flow_manager.flows import (
    FlowDefinition,
    FlowPage,
    FlowResource,
    Flows,
    ValidationReport,
    etag,
)
from flow_manager.model import MAX_PAYLOAD_BYTES, Flow, FlowDocument
from flow_manager.reports import ExecutionReport, ExecutionStatus, ExecutionSummary
from flow_manager.settings import load_settings

if TYPE_CHECKING:
    # ~180 ms of pydantic models: only GET /docs needs them, and imports them itself.
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

SERVICE = "Flow Manager"
API_VERSION = "1.0.0"
JSON = "application/json"
MAX_JSON_DEPTH = 64

logger = Logger()
metrics = Metrics()

# ---- errors: one body, one table --------------------------------------------------------

STATUS_OF: dict[str, HTTPStatus] = {
    "BadRequest": HTTPStatus.BAD_REQUEST,
    "MalformedJson": HTTPStatus.BAD_REQUEST,
    "InvalidBody": HTTPStatus.BAD_REQUEST,
    "InvalidPageToken": HTTPStatus.BAD_REQUEST,
    "InvalidParameter": HTTPStatus.BAD_REQUEST,
    "RouteNotFound": HTTPStatus.NOT_FOUND,
    "FlowNotFound": HTTPStatus.NOT_FOUND,
    "ExecutionNotFound": HTTPStatus.NOT_FOUND,
    "MethodNotAllowed": HTTPStatus.METHOD_NOT_ALLOWED,
    "FlowAlreadyExists": HTTPStatus.CONFLICT,
    "FlowBusy": HTTPStatus.CONFLICT,
    "ExecutionNotRunning": HTTPStatus.CONFLICT,
    "VersionConflict": HTTPStatus.PRECONDITION_FAILED,
    "PayloadTooLarge": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "UnsupportedMediaType": HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    "InvalidFlow": HTTPStatus.UNPROCESSABLE_ENTITY,
    "InvalidContext": HTTPStatus.UNPROCESSABLE_ENTITY,
    "InvalidRequest": HTTPStatus.UNPROCESSABLE_ENTITY,
    "IdempotencyKeyReused": HTTPStatus.UNPROCESSABLE_ENTITY,
    "PreconditionRequired": HTTPStatus.PRECONDITION_REQUIRED,
    "ServiceUnavailable": HTTPStatus.SERVICE_UNAVAILABLE,
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable name of the error, e.g. FlowNotFound.")
    message: str
    details: list[Any] = Field(
        default_factory=list, description="Problems ({location, message}) or facts."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


def _error(exc: FlowManagerError, headers: dict[str, str] | None = None) -> Response[Any]:
    status = STATUS_OF.get(exc.code, HTTPStatus.INTERNAL_SERVER_ERROR)
    details = [
        {"location": d.location, "message": d.message} if isinstance(d, Problem) else d
        for d in exc.details
    ]
    body = {"error": {"code": exc.code, "message": exc.message, "details": details}}
    return Response(status_code=status, content_type=JSON, body=body, headers=headers)


def _errors(*codes: str) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for the error statuses a route can answer."""
    found: dict[int, OpenAPIResponse] = {}
    for code in codes:
        status = STATUS_OF[code]
        entry = found.setdefault(
            status.value,
            {"description": "", "content": {JSON: {"model": ErrorBody}}},
        )
        entry["description"] = " | ".join(filter(None, [entry["description"], code]))
    # Any route may meet AWS throttling (retry) or a fault of ours.
    found[HTTPStatus.SERVICE_UNAVAILABLE.value] = {
        "description": "ServiceUnavailable: AWS is busy, retry the request",
        "content": {JSON: {"model": ErrorBody}},
    }
    found[HTTPStatus.INTERNAL_SERVER_ERROR.value] = {
        "description": "InternalError: a fault of the service (logged)",
        "content": {JSON: {"model": ErrorBody}},
    }
    return found


def _ok(status: int, model: type[BaseModel], description: str) -> dict[int, OpenAPIResponse]:
    return {status: {"description": description, "content": {JSON: {"model": model}}}}


# A request with a body can fail before it reaches a route: size, media type, encoding.
BODY_ERRORS = (
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "MalformedJson",
    "InvalidBody",
    "InvalidRequest",
)


def _parse_json(text: str | bytes) -> Any:
    """json.loads for what a client sends: only what Step Functions accepts as JSON (no
    NaN, Infinity or numbers that overflow a float), no integers Python refuses to
    convert, and no nesting deep enough to exhaust the stack later. Any refusal is a
    JSONDecodeError, which the API answers with 400."""

    def no_constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not JSON", str(text)[:100], 0)

    def finite(number: str) -> float:
        value = float(number)
        if math.isinf(value):
            raise json.JSONDecodeError(f"{number[:20]} is too large", str(text)[:100], 0)
        return value

    try:
        value = json.loads(text, parse_constant=no_constant, parse_float=finite)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 5000 digits
        raise json.JSONDecodeError(str(exc)[:100], str(text)[:100], 0) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0)
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


class _Resolver(APIGatewayRestResolver):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPI:
        """Powertools documents its own 422 body on every route. This API answers
        validation errors with ErrorBody, on the routes that list them: drop the rest."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for item in (schema.paths or {}).values():
            for method in ("get", "put", "post", "delete", "patch"):
                operation = getattr(item, method, None)
                if operation is None or not operation.responses:
                    continue
                for status, response in list(operation.responses.items()):
                    if "HTTPValidationError" in repr(response):
                        del operation.responses[status]
        if schema.components is not None and schema.components.schemas is not None:
            for name in ("HTTPValidationError", "ValidationError"):
                schema.components.schemas.pop(name, None)
        return schema


app = _Resolver(enable_validation=True, json_body_deserializer=_parse_json)


def _body_problem() -> FlowManagerError | None:
    """What is wrong with the request body as such, whatever the route does with it."""
    event = app.current_event
    body = event.body
    if not body or event.http_method.upper() not in ("POST", "PUT", "PATCH"):
        return None
    size = len(body) * 3 // 4 if event.is_base64_encoded else len(body.encode())
    if size > MAX_PAYLOAD_BYTES:
        return PayloadTooLarge(size, MAX_PAYLOAD_BYTES)
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type != JSON and not content_type.endswith("+json"):
        return FlowManagerError(
            f"the body must be JSON (Content-Type: application/json), not {content_type}",
            [],
            "UnsupportedMediaType",
        )
    return None


def _request_guard(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    problem = _body_problem()
    if problem is not None:
        raise problem
    return next_middleware(app)


app.use(middlewares=[_request_guard])

Handler = TypeVar("Handler", bound=Callable[..., Any])


def _handles(exc: type[Exception] | list[type[Exception]]) -> Callable[[Handler], Handler]:
    """app.exception_handler, typed."""
    return cast(Callable[[Handler], Handler], app.exception_handler(exc))


@_handles(FlowManagerError)
def _domain_error(exc: FlowManagerError) -> Response[Any]:
    if STATUS_OF.get(exc.code, HTTPStatus.INTERNAL_SERVER_ERROR) >= 500:
        logger.error("request failed", extra={"code": exc.code, "error": exc.message})
    return _error(exc)


@_handles(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[Any]:
    body_problem = _body_problem()
    if body_problem is not None:
        return _error(body_problem)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        reason = next((e.get("ctx", {}).get("error") for e in errors if e.get("ctx")), None)
        return _error(
            FlowManagerError(
                f"the body is not valid JSON{f' ({reason})' if reason else ''}", [], "MalformedJson"
            )
        )
    problems = [Problem(_location(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in errors]
    in_body = all(p.location.startswith("body") for p in problems)
    return _error(
        FlowManagerError(
            "the request body is invalid" if in_body else "a request parameter is invalid",
            problems,
            "InvalidRequest" if in_body else "InvalidParameter",
        )
    )


@_handles(RequestUnsupportedContentType)
def _unsupported(exc: RequestUnsupportedContentType) -> Response[Any]:
    problem = _body_problem()
    return _error(
        problem
        or FlowManagerError(
            "the body must be JSON (Content-Type: application/json)", [], "UnsupportedMediaType"
        )
    )


@_handles([UnicodeDecodeError, binascii.Error])
def _undecodable(exc: Exception) -> Response[Any]:
    problem = _body_problem()
    return _error(
        problem
        or FlowManagerError(
            "the body is not UTF-8 text (or not valid base64 where the event says it is)",
            [],
            "InvalidBody",
        )
    )


@_handles(NotFoundError)
def _no_route(exc: NotFoundError) -> Response[Any]:
    path, method = app.current_event.path, app.current_event.http_method.upper()
    allowed = sorted(
        m for template, methods in ROUTES.items() if template.match(path) for m in methods
    )
    if allowed:
        return _error(
            FlowManagerError(
                f"{method} is not allowed on {path[:200]}",
                [{"allowed": allowed}],
                "MethodNotAllowed",
            ),
            headers={"Allow": ", ".join(allowed)},
        )
    return _error(FlowManagerError(f"no route {method} {path[:200]}", [], "RouteNotFound"))


@_handles(Exception)
def _unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return _error(FlowManagerError("internal error; the request was logged", [], "InternalError"))


def _location(loc: Any) -> str:
    parts = [str(p) for p in loc] if isinstance(loc, (list, tuple)) else [str(loc)]
    return ".".join(parts)


# Every (path, method) served, for 405 vs 404 (Powertools answers a wrong method with 404).
ROUTES: dict[re.Pattern[str], set[str]] = {}


def _route(method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
    pattern = re.compile("^" + re.sub(r"<\w+>", "[^/]+", path) + "/?$")
    ROUTES.setdefault(pattern, set()).add(method)
    return app.route(path, method=method, **options)


ROUTES[re.compile("^/docs/?$")] = {"GET"}

# ---- service objects, made on first use --------------------------------------------------


@cache
def flows() -> Flows:
    return Flows.from_settings(load_settings())


@cache
def executions() -> Executions:
    return Executions(flows())


def reset() -> None:
    """Forget the settings and the services made from them (tests change the environment).
    AWS clients are kept: they depend on the service and region only."""
    load_settings.cache_clear()
    flows.cache_clear()
    executions.cache_clear()


# ---- request bodies --------------------------------------------------------------------
# The flow itself is checked by flow_manager.validation, which reports every problem
# with its location. SkipValidation keeps the full flow schema in the OpenAPI document
# while handing the raw JSON to the validator.


class FlowBody(BaseModel):
    """`{"flow": {...}}`; seed 000's `{"flow_data": {"flow": {...}}}` is accepted too."""

    model_config = ConfigDict(extra="allow")

    flow: SkipValidation[Flow] | None = None
    flow_data: SkipValidation[FlowDocument] | None = Field(
        default=None, description='Seed 000\'s wrapper: {"flow_data": {"flow": {...}}}.'
    )


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: dict[str, JsonValue] = Field(
        default_factory=dict, description="The execution's input: every task receives it."
    )


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


class Health(BaseModel):
    status: str
    service: str
    version: str


class TaskKind(BaseModel):
    kind: str
    function_arn: str


class TaskCatalog(BaseModel):
    tasks: list[TaskKind]


class Deleted(BaseModel):
    message: str
    execution_id: str


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying with the same key returns the same execution instead of a new one.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
NextToken = Annotated[str | None, Query(description="next_token of the previous page.")]


def _raw_body() -> Any:
    return app.current_event.json_body


def _json(status: int, model: BaseModel, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=model.model_dump(mode="json"),
        headers=headers,
    )


# ---- service -----------------------------------------------------------------------------


@_route(
    "GET",
    "/health",
    tags=["service"],
    summary="Liveness",
    responses={**_ok(200, Health, "Up"), **_errors()},
)
def health() -> Response[Health]:
    return _json(200, Health(status="healthy", service=SERVICE, version=API_VERSION))


@_route(
    "GET",
    "/tasks",
    tags=["service"],
    summary="The task catalog: kinds a flow's task may use (task.function, or its name)",
    responses={**_ok(200, TaskCatalog, "The catalog"), **_errors()},
)
def task_catalog() -> Response[TaskCatalog]:
    catalog = load_settings().task_catalog
    kinds = [TaskKind(kind=k, function_arn=v) for k, v in sorted(catalog.items())]
    return _json(200, TaskCatalog(tasks=kinds))


# ---- flows -------------------------------------------------------------------------------


@_route(
    "POST",
    "/flows",
    tags=["flows"],
    summary="Create a flow",
    description="201 with the flow. The same flow posted again under the same id answers "
    "200 (a retried create); another flow under that id answers 409. A flow without an "
    "id is named after its content.",
    responses={
        **_ok(201, FlowResource, "Created"),
        **_ok(200, FlowResource, "An identical flow exists under this id"),
        **_errors("InvalidFlow", "FlowAlreadyExists", "FlowBusy", *BODY_ERRORS),
    },
)
def create_flow(body: Annotated[FlowBody, Body()]) -> Response[FlowResource]:
    saved = flows().create(_raw_body())
    if saved.created:
        metrics.add_metric(name="FlowCreated", unit=MetricUnit.Count, value=1)
    resource = saved.flow.model_copy(
        update={"message": f"Flow {saved.flow.flow_id} created successfully"}
    )
    headers = {"Location": f"/flows/{saved.flow.flow_id}", "ETag": etag(saved.flow.version)}
    return _json(201 if saved.created else 200, resource, headers)


@_route(
    "POST",
    "/flows/validate",
    tags=["flows"],
    summary="Dry run: every problem of the flow, or its compiled state machine",
    description="Stores nothing. 200 either way; `valid` says which.",
    responses={
        **_ok(200, ValidationReport, "The verdict"),
        **_errors(*BODY_ERRORS),
    },
)
def validate_flow(body: Annotated[FlowBody, Body()]) -> Response[ValidationReport]:
    return _json(200, flows().check(_raw_body()))


@_route(
    "GET",
    "/flows",
    tags=["flows"],
    summary="List flows, by id",
    responses={
        **_ok(200, FlowPage, "A page of flows"),
        **_errors("InvalidPageToken", "InvalidParameter"),
    },
)
def list_flows(limit: Limit = 25, next_token: NextToken = None) -> Response[FlowPage]:
    return _json(200, flows().list(limit, next_token))


@_route(
    "GET",
    "/flows/<flow_id>",
    tags=["flows"],
    summary="Read a flow (its current version); ETag is the version",
    responses={**_ok(200, FlowResource, "The flow"), **_errors("FlowNotFound")},
)
def get_flow(flow_id: str) -> Response[FlowResource]:
    resource = flows().get(flow_id)
    return _json(200, resource, {"ETag": etag(resource.version)})


@_route(
    "PUT",
    "/flows/<flow_id>",
    tags=["flows"],
    summary="Publish a new version of a flow",
    description="If-Match must carry the version being replaced (the ETag of GET), or * "
    "for whatever is current; without it the answer is 428. Running executions keep the "
    "version they started on. An identical definition answers 200 without a new version.",
    responses={
        **_ok(200, FlowResource, "The new (or unchanged) current version"),
        **_errors(
            "FlowNotFound",
            "InvalidFlow",
            "VersionConflict",
            "PreconditionRequired",
            "FlowBusy",
            "BadRequest",
            *BODY_ERRORS,
        ),
    },
)
def update_flow(
    flow_id: str,
    body: Annotated[FlowBody, Body()],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Response[FlowResource]:
    saved = flows().update(flow_id, _raw_body(), if_match)
    return _json(200, saved.flow, {"ETag": etag(saved.flow.version)})


@_route(
    "DELETE",
    "/flows/<flow_id>",
    tags=["flows"],
    summary="Delete a flow, its versions and its state machine",
    description="409 while executions run, unless ?force=true (which stops them).",
    responses={
        204: {"description": "Deleted"},
        **_errors("FlowNotFound", "FlowBusy", "InvalidParameter"),
    },
)
def delete_flow(
    flow_id: str,
    force: Annotated[bool, Query(description="Stop running executions, then delete.")] = False,
) -> Response[None]:
    flows().delete(flow_id, force)
    return Response(status_code=204)


@_route(
    "GET",
    "/flows/<flow_id>/definition",
    tags=["flows"],
    summary="The compiled state machine (ASL) of the current version, with console link",
    responses={**_ok(200, FlowDefinition, "The definition"), **_errors("FlowNotFound")},
)
def flow_definition(flow_id: str) -> Response[FlowDefinition]:
    return _json(200, flows().definition(flow_id))


# ---- executions --------------------------------------------------------------------------


@_route(
    "POST",
    "/flows/<flow_id>/executions",
    tags=["executions"],
    summary="Start an execution of the flow's current version",
    description="202: the execution runs; poll its Location. The body is optional "
    '({"context": {...}}, default {}). With Idempotency-Key a retried request answers '
    "the execution it started the first time.",
    responses={
        **_ok(202, ExecutionSummary, "Started (or found, for a retried Idempotency-Key)"),
        **_errors(
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
    body: Annotated[StartBody | None, Body()] = None,
) -> Response[ExecutionSummary]:
    context = body.context if body is not None else {}
    started = executions().start(flow_id, context, idempotency_key)
    if started.new:
        metrics.add_metric(name="ExecutionStarted", unit=MetricUnit.Count, value=1)
    location = f"/executions/{started.execution.execution_id}"
    return _json(202, started.execution, {"Location": location})


@_route(
    "GET",
    "/flows/<flow_id>/executions",
    tags=["executions"],
    summary="List the flow's executions, newest first",
    responses={
        **_ok(200, ExecutionPage, "A page of executions"),
        **_errors("FlowNotFound", "InvalidPageToken", "InvalidParameter"),
    },
)
def list_executions(
    flow_id: str,
    status: Annotated[ExecutionStatus | None, Query(description="Only this status.")] = None,
    limit: Limit = 25,
    next_token: NextToken = None,
) -> Response[ExecutionPage]:
    return _json(200, executions().list(flow_id, status, limit, next_token))


@_route(
    "GET",
    "/executions/<execution_id>",
    tags=["executions"],
    summary="An execution: status, current task, every task's result with timing",
    responses={**_ok(200, ExecutionReport, "The execution"), **_errors("ExecutionNotFound")},
)
def get_execution(execution_id: str) -> Response[ExecutionReport]:
    return _json(200, executions().get(execution_id))


@_route(
    "DELETE",
    "/executions/<execution_id>",
    tags=["executions"],
    summary="Stop a running execution (it ends aborted)",
    responses={
        **_ok(200, ExecutionReport, "Stopped"),
        **_errors("ExecutionNotFound", "ExecutionNotRunning"),
    },
)
def stop_execution(execution_id: str) -> Response[ExecutionReport]:
    return _json(200, executions().stop(execution_id))


# ---- the seeds' routes (aliases) ---------------------------------------------------------

_RUN_DESCRIPTION = (
    "Runs a stored flow (flow_id) or the flow in the body (created, reused when "
    "identical, or published as a new version when its id exists with another "
    "definition), then waits a bounded time: 200 with the finished execution, or 202 "
    "with where to poll (Location) if it is still running."
)
_RUN_RESPONSES: dict[int, OpenAPIResponse] = {
    **_ok(200, RunResult, "The execution ended: its result"),
    **_ok(202, RunResult, "Still running: poll Location"),
    **_errors(
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
    raw = _raw_body()
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
    return _json(200 if run.finished else 202, result, {"Location": location})


@_route(
    "POST",
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


@_route(
    "POST",
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


@_route(
    "POST",
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


@_route(
    "POST",
    "/flow/create",
    tags=["compat"],
    summary="Seed 001: create a flow (as POST /flows)",
    responses={
        **_ok(201, FlowResource, "Created"),
        **_ok(200, FlowResource, "An identical flow exists under this id"),
        **_errors("InvalidFlow", "FlowAlreadyExists", "FlowBusy", *BODY_ERRORS),
    },
)
def compat_flow_create(body: Annotated[FlowBody, Body()]) -> Response[FlowResource]:
    return create_flow(body)


@_route(
    "GET",
    "/flow/<execution_id>/status",
    tags=["compat"],
    summary="Seed 001: an execution's status (as GET /executions/{id})",
    responses={**_ok(200, ExecutionReport, "The execution"), **_errors("ExecutionNotFound")},
)
def compat_flow_status(execution_id: str) -> Response[ExecutionReport]:
    return get_execution(execution_id)


@_route(
    "DELETE",
    "/flow/<execution_id>",
    tags=["compat"],
    summary="Seed 001: stop an execution if it runs and delete its record",
    responses={**_ok(200, Deleted, "Deleted"), **_errors("ExecutionNotFound")},
)
def compat_flow_delete(execution_id: str) -> Response[Deleted]:
    executions().forget(execution_id)
    message = f"Execution {execution_id} deleted"
    return _json(200, Deleted(message=message, execution_id=execution_id))


app.enable_swagger(
    path="/docs",
    title=SERVICE,
    version=API_VERSION,
    description="JSON flows compiled to AWS Step Functions. Errors always have the body "
    '{"error": {"code", "message", "details"}}.',
    tags=["service", "flows", "executions", "compat"],
)

# ---- the Lambda entry point --------------------------------------------------------------


LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def _flushing_metrics(handler: LambdaHandler) -> LambdaHandler:
    """Publish the request's metrics, if it recorded any (log_metrics warns when not)."""

    def flushing(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return handler(event, context)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()

    return flushing


@cache
def _handler() -> LambdaHandler:
    handler: LambdaHandler = _resolve
    try:
        tracing = load_settings().tracing_enabled
    except ConfigurationError:
        tracing = False  # every route that needs the settings answers 500 and logs why
    if tracing:
        # Tracer imports the X-Ray SDK (~300 ms): only a traced function pays for it.
        from aws_lambda_powertools import Tracer

        handler = Tracer().capture_lambda_handler(handler)
    handler = _flushing_metrics(handler)
    return logger.inject_lambda_context(
        handler, correlation_id_path=correlation_paths.API_GATEWAY_REST
    )


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _handler()(event, context)
