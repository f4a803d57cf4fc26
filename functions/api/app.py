"""ApiFunction: the HTTP API of DESIGN §7 on API Gateway (REST, proxy integration).

This module is the resolver and its edges: the body guard, JSON parsing, the mapping of
every error to the one error body, and the Lambda entry point. The routes live in
`routes/`, one Router per resource; each parses its request, calls one function of
`flow_manager`, and shapes the answer. Statuses of domain errors are in `responses.py`.

Cold start: nothing here imports boto3 or the X-Ray SDK. AWS clients are made by the
first request that needs one; Tracer is imported only when tracing is on.
"""

from __future__ import annotations

import binascii
import json
import math
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from routes import approvals, compat, service
from routes import executions as execution_routes
from routes import flows as flow_routes
from routes.responses import JSON, error_response, status_of
from routes.services import executions, flows, reset

from flow_manager.aws import API_BUDGET_SECONDS, budget
from flow_manager.errors import ConfigurationError, FlowManagerError, PayloadTooLarge, Problem
from flow_manager.model import MAX_PAYLOAD_BYTES
from flow_manager.settings import load_settings

if TYPE_CHECKING:
    # ~180 ms of pydantic models: only GET /docs needs them, and imports them itself.
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

# flows/executions/reset: tests reach the services through this module, as a handler would.
__all__ = ["app", "executions", "flows", "lambda_handler", "reset"]

MAX_JSON_DEPTH = 64

logger = Logger()
metrics = Metrics()


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

    def allowed_methods(self, path: str) -> list[str]:
        """The methods some route serves at this path, matched by the very rules that
        dispatch requests, so 405 and 404 cannot disagree with routing."""
        routes = self._static_routes + self._dynamic_routes
        return sorted({route.method for route in routes if route.rule.match(path)})


app = _Resolver(enable_validation=True, json_body_deserializer=_parse_json)
for _router in (service.router, flow_routes.router, execution_routes.router, compat.router):
    app.include_router(_router)
app.include_router(approvals.router)


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
    if status_of(exc) >= 500:
        logger.error("request failed", extra={"code": exc.code, "error": exc.message})
    return error_response(exc)


@_handles(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[Any]:
    body_problem = _body_problem()
    if body_problem is not None:
        return error_response(body_problem)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        reason = next((e.get("ctx", {}).get("error") for e in errors if e.get("ctx")), None)
        return error_response(
            FlowManagerError(
                f"the body is not valid JSON{f' ({reason})' if reason else ''}", [], "MalformedJson"
            )
        )
    problems = [Problem(_location(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in errors]
    in_body = all(p.location.startswith("body") for p in problems)
    return error_response(
        FlowManagerError(
            "the request body is invalid" if in_body else "a request parameter is invalid",
            problems,
            "InvalidRequest" if in_body else "InvalidParameter",
        )
    )


@_handles(RequestUnsupportedContentType)
def _unsupported(exc: RequestUnsupportedContentType) -> Response[Any]:
    problem = _body_problem()
    return error_response(
        problem
        or FlowManagerError(
            "the body must be JSON (Content-Type: application/json)", [], "UnsupportedMediaType"
        )
    )


@_handles([UnicodeDecodeError, binascii.Error])
def _undecodable(exc: Exception) -> Response[Any]:
    problem = _body_problem()
    return error_response(
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
    allowed = app.allowed_methods(path)
    if allowed:
        return error_response(
            FlowManagerError(
                f"{method} is not allowed on {path[:200]}",
                [{"allowed": allowed}],
                "MethodNotAllowed",
            ),
            headers={"Allow": ", ".join(allowed)},
        )
    return error_response(FlowManagerError(f"no route {method} {path[:200]}", [], "RouteNotFound"))


@_handles(Exception)
def _unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return error_response(
        FlowManagerError("internal error; the request was logged", [], "InternalError")
    )


def _location(loc: Any) -> str:
    parts = [str(p) for p in loc] if isinstance(loc, (list, tuple)) else [str(loc)]
    return ".".join(parts)


app.enable_swagger(path="/docs", **service.openapi_settings())

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
    # Every AWS call of the request fits API Gateway's 29 s (flow_manager/aws.py).
    seconds = min(API_BUDGET_SECONDS, context.get_remaining_time_in_millis() / 1000 - 1)
    with budget(seconds):
        return _handler()(event, context)
