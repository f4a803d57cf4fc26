"""Hostile requests over HTTP on the local stack: the gateway's decoding and the
function's edges together answer every one with a 4xx and the error body (issue 7,
items 1-5 and 15)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.support import local_only

pytestmark = local_only


def send(
    endpoint: str,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """The request exactly as given (no quoting); status, headers, parsed JSON body."""
    address = urlsplit(endpoint)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value.encode())
        connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders(body)
        answer = connection.getresponse()
        raw = answer.read()
        found = {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()
    assert found.get("content-type", "").startswith("application/json"), raw[:200]
    return answer.status, found, json.loads(raw) if raw else None


def code(body: Any) -> str:
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    return str(body["error"]["code"])


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "target",
    [
        "/flows/a%23b",
        "/flows/a%00b",
        "/flows/a%0Ab",
        "/flows/a%5Cb",
        "/flows/%F0%9F%98%80",
        "/flows/a%FFb",
        "/flows/a%ED%A0%80",
        "/flows/a%23b/definition",
        "/flows/a%23b/executions",
    ],
)
def test_an_odd_flow_id_is_not_found(endpoint: str, target: str) -> None:
    status, _, body = send(endpoint, "GET", target)
    assert (status, code(body)) == (404, "FlowNotFound")


@pytest.mark.parametrize(
    "target", ["/executions/a%23b", "/executions/%F0%9F%98%80", "/flow/a%0Ab/status"]
)
def test_an_odd_execution_id_is_not_found(endpoint: str, target: str) -> None:
    status, _, body = send(endpoint, "GET", target)
    assert (status, code(body)) == (404, "ExecutionNotFound")


def test_raw_non_utf8_bytes_in_the_path_are_not_found(endpoint: str) -> None:
    import socket

    address = urlsplit(endpoint)
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
        sock.sendall(b"GET /flows/a\xff\xfeb HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, raw = received.partition(b"\r\n\r\n")
    assert head.split()[1] == b"404"
    assert code(json.loads(raw)) == "FlowNotFound"


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PATCH"])
def test_a_method_no_route_serves_is_a_json_405_with_allow(endpoint: str, method: str) -> None:
    status, headers, body = send(endpoint, method, "/flows")
    assert (status, code(body)) == (405, "MethodNotAllowed")
    assert headers["allow"] == "GET, POST"


def test_an_unknown_method_on_an_unknown_path_is_a_json_404(endpoint: str) -> None:
    status, _, body = send(endpoint, "TRACE", "/nothing/here")
    assert (status, code(body)) == (404, "RouteNotFound")


@pytest.mark.parametrize("route", ["/flows", "/flows/validate", "/flows/execute", "/run-flow"])
def test_multipart_without_a_boundary_is_415(endpoint: str, route: str) -> None:
    status, _, body = send(endpoint, "POST", route, b"{}", {"Content-Type": "multipart/form-data"})
    assert (status, code(body)) == (415, "UnsupportedMediaType")


@pytest.mark.parametrize("media_type", ["application/JSON", "application/vnd.api+json"])
def test_json_media_types_are_json(endpoint: str, media_type: str, cleanup: list[str]) -> None:
    flow = {"name": "m", "start_task": "a", "tasks": [{"name": "a", "function": "fetch_data"}]}
    status, _, body = send(
        endpoint,
        "POST",
        "/flows/validate",
        json.dumps({"flow": flow}).encode(),
        {"Content-Type": media_type},
    )
    assert status == 200, body
    assert body["valid"] is True


def test_a_lone_surrogate_in_a_context_is_a_located_400(
    endpoint: str, create_flow: Callable[..., str]
) -> None:
    flow_id = create_flow()
    body = b'{"context": {"a": "\\ud800"}}'
    status, _, answer = send(endpoint, "POST", f"/flows/{flow_id}/executions", body, JSON)
    assert (status, code(answer)) == (400, "MalformedJson")
    assert answer["error"]["details"][0]["location"] == "body.context.a"


def test_a_lone_surrogate_in_task_parameters_is_a_located_400(endpoint: str) -> None:
    body = (
        b'{"flow": {"name": "s", "start_task": "a", "tasks": '
        b'[{"name": "a", "function": "fetch_data", "parameters": {"p": "\\udfff"}}]}}'
    )
    status, _, answer = send(endpoint, "POST", "/flows/validate", body, JSON)
    assert (status, code(answer)) == (400, "MalformedJson")
    assert answer["error"]["details"][0]["location"] == "body.flow.tasks[0].parameters.p"


@pytest.mark.parametrize("if_match", ["¹", '"٣"', 'W/"x"'])
def test_an_if_match_that_is_no_version_is_400(
    endpoint: str, create_flow: Callable[..., str], if_match: str
) -> None:
    flow_id = create_flow()
    status, _, body = send(
        endpoint,
        "PUT",
        f"/flows/{flow_id}",
        b'{"flow": {}}',
        {**JSON, "If-Match": if_match},
    )
    assert status == 400
    assert code(body) in ("BadRequest", "InvalidParameter")


def test_an_idempotency_key_that_is_not_printable_ascii_is_400(
    endpoint: str, create_flow: Callable[..., str]
) -> None:
    # Given a key with a non-ASCII character (as documented: 1-255 printable ASCII)
    flow_id = create_flow()
    headers = {**JSON, "Idempotency-Key": "clé-1"}
    status, _, body = send(endpoint, "POST", f"/flows/{flow_id}/executions", b"{}", headers)
    assert (status, code(body)) == (400, "InvalidParameter")
