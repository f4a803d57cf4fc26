"""API Gateway's REST API on loopback: HTTP request → proxy event (v1) → function → HTTP.

What `sam local start-api` does, without Docker: the routes are the template's
`Type: Api` events; a request becomes the event API Gateway would send (`resource`,
`path`, `httpMethod`, headers and query strings both single- and multi-valued,
`pathParameters`, `requestContext` with `stage`, `requestId` and `identity.sourceIp`,
base64 for binary bodies); the function's proxy response becomes the HTTP response.
API Gateway's own errors keep their shape: 403 "Missing Authentication Token" for a
route that does not exist, 502 when the function fails or answers malformed, 504
after the 29-second integration timeout. `/ui` is the local stack's own console
(`webui`), served here and never sent to the API's function.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from flow_manager_local.console import Console
from flow_manager_local.moto_lambda import Invocation
from flow_manager_local.webui import WebUi, is_ui_path

INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's REST integration limit
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form")

Invoke = Callable[[str, bytes], Invocation]
"""(function name, event JSON) → the function's answer."""


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ... or ANY
    resource: str  # API Gateway's resource path: /flows/{flow_id}, /{proxy+}
    function_name: str
    stage: str
    api_id: str
    binary_media_types: tuple[str, ...] = ()

    def pattern(self) -> re.Pattern[str]:
        parts: list[str] = []
        for segment in self.resource.strip("/").split("/"):
            greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
            single = re.fullmatch(r"\{(\w+)\}", segment)
            if greedy:
                parts.append(f"(?P<{greedy.group(1)}>.+)")
            elif single:
                parts.append(f"(?P<{single.group(1)}>[^/]+)")
            else:
                parts.append(re.escape(segment))
        return re.compile("^/" + "/".join(parts) + "$")

    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers literal segments, then single parameters, then greedy ones."""
        segments = [s for s in self.resource.strip("/").split("/") if s]
        greedy = sum(1 for s in segments if s.endswith("+}"))
        literal = sum(1 for s in segments if not s.startswith("{"))
        return (-greedy, literal, len(segments))


class Router:
    def __init__(self, routes: Sequence[Route]) -> None:
        compiled = [(route, route.pattern()) for route in routes]
        # Most specific first; a route's own method before ANY.
        compiled.sort(key=lambda rp: (rp[0].specificity(), rp[0].method != "ANY"), reverse=True)
        self._routes = compiled

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route of the most specific resource that takes `method`, with its parameters."""
        for route, pattern in self._routes:
            found = pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def __len__(self) -> int:
        return len(self._routes)


def build_event(
    *,
    route: Route,
    path_parameters: dict[str, str],
    method: str,
    raw_path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    request_id: str,
    account_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The REST API (v1) proxy event API Gateway sends for this request."""
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    pairs = parse_qsl(query, keep_blank_values=True)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in pairs:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    encoded, text = _event_body(body, content_type, route.binary_media_types)
    lowered = {k.lower(): v for k, v in single_headers.items()}
    path = unquote(raw_path)
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id,
            "apiId": route.api_id,
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": lowered.get("host", "127.0.0.1").split(".")[0],
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": lowered.get("user-agent"),
                "userArn": None,
            },
            # As under `sam local start-api`: the path without the stage, so generated
            # links (Swagger UI) point at this server, not at /Prod on it.
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": route.resource,
            "resourcePath": route.resource,
            "stage": route.stage,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _event_body(
    body: bytes, content_type: str, binary_media_types: Sequence[str]
) -> tuple[bool, str | None]:
    if not body:
        return False, None
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    binary = any(_media_type_matches(media_type, b) for b in binary_media_types)
    if not binary:
        try:
            return False, body.decode("utf-8")
        except UnicodeDecodeError:
            pass  # not text whatever it claims: only base64 carries it intact
    return True, base64.b64encode(body).decode("ascii")


def _media_type_matches(media_type: str, pattern: str) -> bool:
    pattern = pattern.lower()
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return media_type.startswith(pattern[:-1])
    return media_type == pattern


LocalHandler = Callable[[str, bytes], tuple[int, bytes]]  # method, body → status, JSON


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_error(status: int, message: str) -> HttpResponse:
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


def http_response(invocation: Invocation) -> tuple[HttpResponse, str | None]:
    """The function's proxy response as HTTP; a 502 (and why) when it failed or is malformed."""
    if invocation.function_error is not None:
        return gateway_error(502, "Internal server error"), _describe_error(invocation.payload)
    try:
        result = json.loads(invocation.payload)
    except json.JSONDecodeError:
        return gateway_error(502, "Internal server error"), "the response is not JSON"
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return (
            gateway_error(502, "Internal server error"),
            "malformed Lambda proxy response: no integer statusCode",
        )
    headers: list[tuple[str, str]] = []
    multi: dict[str, Any] = result.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((name, str(v)) for v in values)
    for name, value in (result.get("headers") or {}).items():
        if name not in multi:
            headers.append((name, str(value)))
    raw = result.get("body")
    text = "" if raw is None else raw if isinstance(raw, str) else json.dumps(raw)
    try:
        body = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode()
    except ValueError:
        return gateway_error(502, "Internal server error"), "isBase64Encoded body is not base64"
    return HttpResponse(int(result["statusCode"]), headers, body), None


def _describe_error(payload: bytes) -> str:
    try:
        error = json.loads(payload)
        return f"{error.get('errorType')}: {error.get('errorMessage')}"
    except (json.JSONDecodeError, AttributeError):
        return payload.decode("utf-8", errors="replace")[:200]


class Gateway:
    """The HTTP front end; `start()` binds and serves in a thread, `stop()` ends it."""

    def __init__(
        self,
        routes: Sequence[Route],
        invoke: Invoke,
        console: Console,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        account_id: str = "123456789012",
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
        local: Mapping[str, LocalHandler] | None = None,
    ) -> None:
        self.router = Router(routes)
        # Local-only paths (/_local/...) the stack serves itself, not the API's function.
        self.local = dict(local or {})
        self.invoke = invoke
        self.console = console
        self.account_id = account_id
        self.integration_timeout = integration_timeout
        self.ui = WebUi()  # the console at /ui: the stack's own, not the API's
        self._server = _Server((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host!s}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="gateway", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def handle(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        source_ip: str,
    ) -> HttpResponse:
        """`target` and `headers` as http.server reads them (Latin-1): they become UTF-8
        text here, as API Gateway hands the function text."""
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        split = urlsplit(as_utf8(target))
        path = split.path or "/"
        headers = [(name, as_utf8(value)) for name, value in headers]
        found = self.router.match(method, path)
        if is_ui_path(path):
            page = self.ui.serve(method, path, {name.lower(): value for name, value in headers})
            response = HttpResponse(page.status, page.headers, page.body)
        elif path in self.local:
            status, answer = self.local[path](method, body)
            response = HttpResponse(status, [("Content-Type", "application/json")], answer)
        elif found is None:
            response = gateway_error(403, "Missing Authentication Token")
        else:
            route, parameters = found
            event = build_event(
                route=route,
                path_parameters=parameters,
                method=method,
                raw_path=path,
                query=split.query,
                headers=headers,
                body=body,
                source_ip=source_ip,
                request_id=request_id,
                account_id=self.account_id,
                now=datetime.now(UTC),
            )
            response = self._call(route.function_name, event)
        response.headers.extend(
            [("x-amzn-RequestId", request_id), ("x-amz-apigw-id", request_id[:16])]
        )
        elapsed = (time.monotonic() - started) * 1000
        self.console.line("gateway", f"{method} {target} {response.status} {elapsed:.0f} ms")
        return response

    def _call(self, function_name: str, event: dict[str, Any]) -> HttpResponse:
        future: Future[Invocation] = Future()

        def run() -> None:
            try:
                future.set_result(self.invoke(function_name, json.dumps(event).encode()))
            except BaseException as exc:  # reported as a 502 below, never lost
                future.set_exception(exc)

        # In a thread of its own: API Gateway gives up after 29 s, the function does not.
        threading.Thread(target=run, name="integration", daemon=True).start()
        try:
            invocation = future.result(timeout=self.integration_timeout)
        except TimeoutError:
            return gateway_error(504, "Endpoint request timed out")
        except Exception as exc:
            self.console.line("gateway", f"integration failed: {type(exc).__name__}: {exc}")
            return gateway_error(502, "Internal server error")
        response, problem = http_response(invocation)
        if problem:
            self.console.line("gateway", f"502 from {function_name}: {problem}")
        return response


def as_utf8(latin1: str) -> str:
    """Text http.server decoded as Latin-1 (each byte one character), read as the UTF-8
    it is; a byte sequence that is not UTF-8 becomes U+FFFD, as percent-escapes that are
    not UTF-8 do in `unquote`. So a raw `é` in a path or header arrives as `é`, never as
    `Ã©`, and the function never sees text it cannot encode."""
    if latin1.isascii():
        return latin1
    return latin1.encode("latin-1", errors="replace").decode("utf-8", errors="replace")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def _handler_class(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def version_string(self) -> str:
            return "flow-manager-local"

        def _serve(self) -> None:
            length_header = self.headers.get("Content-Length")
            try:
                length = int(length_header) if length_header else 0
            except ValueError:
                self._write(gateway_error(400, "Invalid Content-Length"))
                return
            if length > MAX_BODY_BYTES:
                self._write(gateway_error(413, "Request Too Long"))
                self.close_connection = True
                return
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                try:
                    body = self._read_chunked()
                except ValueError:
                    self._write(gateway_error(400, "Invalid chunked body"))
                    self.close_connection = True
                    return
            else:
                body = self.rfile.read(length) if length else b""
            response = gateway.handle(
                self.command,
                self.path,
                list(self.headers.items()),
                body,
                self.client_address[0],
            )
            self._write(response)

        def _read_chunked(self) -> bytes:
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()

        def _write(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def __getattr__(self, name: str) -> Any:
            # http.server answers a method without a do_<METHOD> with a 501 HTML page:
            # every method (TRACE, QUERY, any token) goes to the routes, like the others.
            # API Gateway's ANY takes it to the function, whose answer is the JSON 405
            # with Allow (or 404).
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """What http.server refuses itself (a malformed request line, headers too
            long, an unsupported protocol) is answered with a JSON body too, not HTML."""
            self.close_connection = True
            # A request line refused before its version was read counts as HTTP/0.9,
            # which has no status line or headers: answer as HTTP/1.1 anyway.
            self.request_version = self.protocol_version
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = "Error"
            self._write(gateway_error(code, message or phrase))

        def log_message(self, format: str, *args: Any) -> None:
            pass  # Gateway.handle logs one line per request, with the status and timing

    return Handler
