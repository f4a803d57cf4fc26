"""ApiFunction: the HTTP API of DESIGN §7 on API Gateway (REST, proxy integration).

This module is the resolver and its edges: the body guard, JSON parsing, the mapping of
every error to the one error body, and the Lambda entry point. The routes live in
`routes/`, one Router per resource; each parses its request, calls one function of
`flow_manager`, and shapes the answer. Statuses of domain errors are in `responses.py`.

Cold start: nothing here imports boto3 or the X-Ray SDK. AWS clients are made by the
first request that needs one (under SnapStart, before the snapshot: `_before_snapshot`);
Tracer is imported only when tracing is on. Powertools' event_handler and data_classes
packages are loaded one name at a time (`reexports`), so AppSync's resolver, asyncio
and the other services' event classes are never imported. A router (and the domain
modules behind it) is imported by the first request whose path it serves
(ROUTER_PATHS), and /docs is set up by its first request; the OpenAPI document imports
them all, in one fixed order, so it does not depend on which requests came first.
"""

from __future__ import annotations

import binascii
import importlib
import json
import math
import re
import threading
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

# First: Powertools' event_handler and data_classes are then loaded one name at a time.
import reexports  # noqa: F401

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from routes import service
from routes.responses import JSON, error_response, status_of
from routes.services import executions, flows, prime, reset

from flow_manager.aws import API_BUDGET_SECONDS, budget
from flow_manager.errors import ConfigurationError, FlowManagerError, PayloadTooLarge, Problem
from flow_manager.model import MAX_PAYLOAD_BYTES
from flow_manager.settings import load_settings
from flow_manager.snapstart import before_snapshot

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
    convert, no nesting deep enough to exhaust the stack later, and only Unicode text.
    Syntax and limits are a JSONDecodeError (400 MalformedJson); a lone surrogate escape
    (`"\\ud800"`) is a MalformedJson naming where it is. Every body passes here once, so
    nothing downstream (hashes, DynamoDB, Step Functions) meets text it cannot encode."""
    if isinstance(text, bytes):
        text = text.decode()  # UnicodeDecodeError: 400 InvalidBody

    def no_constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not JSON", text[:100], 0)

    def finite(number: str) -> float:
        value = float(number)
        if math.isinf(value):
            raise json.JSONDecodeError(f"{number[:20]} is too large", text[:100], 0)
        return value

    try:
        value = json.loads(text, parse_constant=no_constant, parse_float=finite)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 5000 digits
        raise json.JSONDecodeError(str(exc)[:100], text[:100], 0) from None
    # Only a text with a surrogate escape (or, in a hand-made event, a surrogate) can
    # decode to one: the common body skips the string checks.
    _check_tree(value, strings=_MAY_DECODE_TO_SURROGATE.search(text) is not None)
    return value


_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAY_DECODE_TO_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")

# A location, built only when reported: (parent, key or index), None at the root.
_Path: TypeAlias = tuple["_Path", str | int] | None


def _check_tree(value: Any, *, strings: bool) -> None:
    """One walk of the parsed body: its depth and, if `strings`, every key and string."""
    stack: list[tuple[Any, int, _Path]] = [(value, 1, None)]
    while stack:
        item, level, path = stack.pop()
        if level > MAX_JSON_DEPTH:
            raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0)
        if isinstance(item, dict):
            for key, child in item.items():
                if strings and _SURROGATE.search(key):
                    raise _not_text(path, f"the key {_escaped(key)}")
                stack.append((child, level + 1, (path, key)))
        elif isinstance(item, list):
            stack.extend((child, level + 1, (path, i)) for i, child in enumerate(item))
        elif strings and isinstance(item, str) and _SURROGATE.search(item):
            raise _not_text(path, "the string")


def _not_text(path: _Path, what: str) -> FlowManagerError:
    location = body_location(path)
    return FlowManagerError(
        f"the body is not valid JSON text: {what} at {location} holds a lone surrogate "
        "escape, which is no Unicode character",
        [
            Problem(
                location,
                "lone surrogate (\\ud800-\\udfff without its pair): send the character itself "
                "or its UTF-16 surrogate pair",
            )
        ],
        "MalformedJson",
    )


def body_location(path: _Path) -> str:
    parts: list[str | int] = []
    while path is not None:
        path, part = path
        parts.append(part)
    text = "body"
    for part in reversed(parts):
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _escaped(text: str) -> str:
    return ascii(text[:40])


def _without_null(schema: Any) -> None:
    """A header or query parameter is a string or absent, never JSON null: `str | None`
    is documented as the string alone (so no fuzzer sends "null" as a value)."""
    alternatives = getattr(schema, "anyOf", None)
    if not alternatives:
        return
    kept = [a for a in alternatives if getattr(a, "type", None) != "null"]
    if len(kept) == 1 and len(kept) < len(alternatives):
        schema.anyOf = None
        for name, value in kept[0]:
            if value is not None and getattr(schema, name, None) is None:
                setattr(schema, name, value)


_DYNAMIC_SEGMENT = re.compile(r"(<\w+>)")
_ROUTE_REGEX = r"^{}/*\Z"


# Each router of routes/ (in the order the API lists them) and the paths it serves,
# as Powertools spells them. tests/unit/test_lazy_routes.py checks it against the routers.
ROUTER_PATHS: dict[str, tuple[str, ...]] = {
    "service": ("/health", "/openapi.json", "/tasks"),
    "flows": ("/flows", "/flows/<flow_id>", "/flows/<flow_id>/definition", "/flows/validate"),
    "executions": ("/executions/<execution_id>", "/flows/<flow_id>/executions"),
    "compat": (
        "/flow/<execution_id>",
        "/flow/<execution_id>/status",
        "/flow/create",
        "/flow/execute",
        "/flow/run-sample",
        "/flows/execute",
        "/run-flow",
    ),
    "approvals": ("/executions/<execution_id>/approvals/<task>",),
    "retries": ("/executions/<execution_id>/retry",),
    "schedules": ("/flows/<flow_id>/schedules", "/flows/<flow_id>/schedules/<name>"),
    "diagrams": ("/executions/<execution_id>/diagram", "/flows/<flow_id>/diagram"),
}
DOCS_PATH = "/docs"
_DOCS = "docs"  # the Swagger UI route, set up by Powertools' enable_swagger, listed last
_ORDER = {f"routes.{name}": i for i, name in enumerate(ROUTER_PATHS)}


class _Resolver(APIGatewayRestResolver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What is not registered yet: router name -> the rules of its paths.
        self._pending: dict[str, list[re.Pattern[str]]] = {
            name: [self._compile_regex(path) for path in paths]
            for name, paths in [*ROUTER_PATHS.items(), (_DOCS, (DOCS_PATH,))]
        }
        self._including = threading.Lock()  # a router is registered once, whoever asks

    def _include(self, name: str) -> None:
        del self._pending[name]
        if name == _DOCS:
            # Powertools' Swagger UI: its imports (OpenAPI models, the UI) cost a cold
            # start, so only a request to /docs pays for them.
            self.enable_swagger(path=DOCS_PATH, **service.openapi_settings())
        else:
            self.include_router(importlib.import_module(f"routes.{name}").router)
        # Registration order is dispatch and document order: the same whatever came first.
        for routes in (self._static_routes, self._dynamic_routes):
            routes.sort(key=lambda route: _ORDER.get(route.func.__module__, len(_ORDER)))

    def include_routers_for(self, path: str) -> None:
        """Register every router with a path that may match `path` (none twice): the
        routers a request may reach, and nothing else."""
        if not self._pending:
            return
        with self._including:
            for name, rules in list(self._pending.items()):
                if any(rule.match(path) for rule in rules):
                    self._include(name)

    def include_all_routers(self) -> None:
        with self._including:
            for name in list(self._pending):
                self._include(name)

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPI:
        """Powertools documents its own 422 body on every route. This API answers
        validation errors with ErrorBody, on the routes that list them: drop the rest."""
        self.include_all_routers()
        schema = super().get_openapi_schema(*args, **kwargs)
        for item in (schema.paths or {}).values():
            for method in ("get", "put", "post", "delete", "patch"):
                operation = getattr(item, method, None)
                if operation is None or not operation.responses:
                    continue
                for status, response in list(operation.responses.items()):
                    if "HTTPValidationError" in repr(response):
                        del operation.responses[status]
                for parameter in operation.parameters or []:
                    _without_null(getattr(parameter, "schema_", None))
        if schema.components is not None and schema.components.schemas is not None:
            for name in ("HTTPValidationError", "ValidationError"):
                schema.components.schemas.pop(name, None)
        for tag in schema.tags or ():  # here, not in enable_swagger: Tag is a lazy import
            tag.description = service.TAGS.get(tag.name, tag.description)
        return schema

    def routes_at(self, path: str) -> list[Route]:
        """The routes of the one resource `path` names: a literal path (/flows/validate)
        before a parameterised one (/flows/{flow_id}), whatever the method, as API
        Gateway picks the most specific resource first. (Powertools picks the method
        first, so DELETE /flow/create ran the DELETE /flow/{execution_id} route.)"""
        self.include_routers_for(path)
        static = [route for route in self._static_routes if route.rule.match(path)]
        return static or [route for route in self._dynamic_routes if route.rule.match(path)]

    def allowed_methods(self, path: str) -> list[str]:
        """The methods of the resource at this path, found by the very rules that
        dispatch requests, so 405 and 404 cannot disagree with routing."""
        return sorted({route.method for route in self.routes_at(path)})

    def _resolve(self) -> ResponseBuilder[Any]:
        method = self.current_event.http_method.upper()
        path = self._remove_prefix(self.current_event.path)
        for route in self.routes_at(path):
            match = route.rule.match(path)
            if route.method == method and match:
                self.append_context(_route=route, _path=path)  # type: ignore[no-untyped-call]
                return self._call_route(route, self._convert_matches_into_route_keys(match))
        return self._handle_not_found(method=method, path=path)

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = _ROUTE_REGEX) -> re.Pattern[str]:
        """A `<parameter>` is one whole path segment, whatever it holds, as API Gateway's
        `{parameter}`: Powertools' own pattern takes only URI-safe characters, so
        `/flows/a%23b` matched no route (404 "no route") instead of reaching the route
        that answers the truth ("no flow 'a#b'"). The rest is Powertools' REST rule
        (trailing slashes allowed), anchored at the very end (`$` also matches before a
        final newline)."""
        return re.compile(base_regex.format(_DYNAMIC_SEGMENT.sub(r"(?P\1[^/]+)", rule)))

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return super().resolve(_as_powertools_reads_json(event), context)

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> ResponseBuilder[Any]:
        """Every request passes here, matched or not, before any middleware: Powertools'
        validation middleware always runs first and parses the body by its media type
        (its multipart parser raises ValueError without a boundary, a 500). So what is
        wrong with the request as such (text that is not Unicode, a body that is too
        large or not JSON) is answered here, before anything reads it."""
        problem = _request_problem(takes_body=bool(route.dependant.body_params))
        if problem is not None:
            return self._response_builder_class(
                response=error_response(problem), serializer=self._serializer, route=route
            )
        return super()._call_route(route, route_arguments)


app = _Resolver(enable_validation=True, json_body_deserializer=_parse_json)


def _media_type(content_type: str) -> str:
    return content_type.split(";", maxsplit=1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    """application/json and every structured syntax suffix +json (RFC 6839), any case."""
    return media_type == JSON or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _as_powertools_reads_json(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event with a JSON media type spelled as Powertools recognises it: its body
    parser compares `startswith("application/json")`, case-sensitively, so
    `application/JSON` or `application/vnd.api+json` would be refused as unsupported.
    The client's event is not changed."""
    headers = event.get("headers") or {}
    names = [k for k, v in headers.items() if k.lower() == "content-type" and isinstance(v, str)]
    if not names or not any(
        _is_json(_media_type(headers[n])) and not headers[n].startswith(JSON) for n in names
    ):
        return event
    return {**event, "headers": {**headers, **{n: JSON for n in names}}}


def _request_problem(*, takes_body: bool) -> FlowManagerError | None:
    """What is wrong with the request as such, whatever the route does with it."""
    return _text_problem() or (_body_problem() if takes_body else None)


def _text_problem() -> FlowManagerError | None:
    """Path, query and headers must be Unicode text: a lone surrogate (only a hand-made
    event can carry one) could not be hashed, stored or logged as UTF-8."""
    event = app.current_event
    places: list[tuple[str, object]] = [("path", event.path)]
    places += [(f"path.{k}", v) for k, v in (event.path_parameters or {}).items()]
    for name, values in (event.multi_value_query_string_parameters or {}).items():
        places += [(f"query.{name}", name)] + [(f"query.{name}", v) for v in values]
    for name, value in (event.query_string_parameters or {}).items():
        places += [(f"query.{name}", name), (f"query.{name}", value)]
    for name, values in (event.get("multiValueHeaders") or {}).items():
        places += [(f"header.{name}", name)] + [(f"header.{name}", v) for v in values or []]
    for name, value in (event.get("headers") or {}).items():
        places += [(f"header.{name}", name), (f"header.{name}", value)]
    for location, text in places:
        if isinstance(text, str) and _SURROGATE.search(text):
            where = ascii(location[:80])[1:-1]
            return FlowManagerError(
                f"{where} is not Unicode text: it holds a lone surrogate",
                [Problem(where, "lone surrogate: not a Unicode character")],
                "InvalidParameter",
            )
    return None


def _body_problem() -> FlowManagerError | None:
    """What is wrong with the request body as such: its size and media type."""
    event = app.current_event
    body = event.body
    if not body or event.http_method.upper() not in ("POST", "PUT", "PATCH"):
        return None
    # surrogatepass: a hand-made event's body may hold a surrogate; _parse_json names it.
    size = (
        len(body) * 3 // 4
        if event.is_base64_encoded
        else len(body.encode("utf-8", "surrogatepass"))
    )
    if size > MAX_PAYLOAD_BYTES:
        return PayloadTooLarge(size, MAX_PAYLOAD_BYTES)
    media_type = _media_type(event.headers.get("content-type") or "")
    if media_type and not _is_json(media_type):
        shown = ascii(media_type[:100])[1:-1]
        return FlowManagerError(
            f"the body must be JSON (Content-Type: application/json), not {shown}",
            [],
            "UnsupportedMediaType",
        )
    return None


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
    # _body_problem answers first; this is for a media type Powertools reads differently.
    return error_response(
        FlowManagerError(
            "the body must be JSON (Content-Type: application/json)", [], "UnsupportedMediaType"
        )
    )


@_handles([UnicodeDecodeError, binascii.Error])
def _undecodable(exc: Exception) -> Response[Any]:
    return error_response(
        FlowManagerError(
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


def _before_snapshot() -> None:
    """Under SnapStart, what the first requests would make goes in the snapshot, made
    once (flow_manager/snapstart.py): every router, the handler, the services and their
    AWS clients. The local stack runs it before forking workers, who then share it."""
    app.include_all_routers()
    _handler()
    prime()


before_snapshot(_before_snapshot)
