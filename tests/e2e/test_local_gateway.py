"""The API Gateway front end: the proxy event a request becomes, and how answers are
written back (no processes: the gateway in this process, with a stand-in function)."""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flow_manager_local.console import Console
from flow_manager_local.gateway import Gateway, Route
from flow_manager_local.moto_lambda import Invocation
from tests.e2e.support import local_only

pytestmark = local_only

Answer = Callable[[dict[str, Any]], Invocation]


def echo(event: dict[str, Any]) -> Invocation:
    return Invocation.returned({"statusCode": 200, "body": json.dumps(event)})


@pytest.fixture
def gateway() -> Iterator[Callable[[Answer], str]]:
    """Start a gateway on a free port whose function answers with `answer(event)`."""
    started: list[Gateway] = []

    def start(answer: Answer) -> str:
        routes = [
            Route("ANY", "/{proxy+}", "fn", "v1", "api123"),
            Route("GET", "/health", "fn", "v1", "api123"),
        ]
        server = Gateway(
            routes,
            lambda name, payload: answer(json.loads(payload)),
            Console(io.StringIO(), colour=False),
            port=0,
            integration_timeout=2,
        )
        server.start()
        started.append(server)
        return server.url

    yield start
    for server in started:
        server.stop()


def fetch(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers.items()), exc.read()


def event_of(base: str, path: str, **kwargs: Any) -> dict[str, Any]:
    status, _, body = fetch(base + path, **kwargs)
    assert status == 200
    event: dict[str, Any] = json.loads(body)
    return event


def test_a_request_becomes_a_rest_proxy_event(gateway: Callable[[Answer], str]) -> None:
    # Given a gateway in front of a function that echoes its event
    base = gateway(echo)
    # When a request with a query string is sent
    event = event_of(base, "/flows/abc/executions?limit=2&limit=3&status=failed")
    # Then the function got API Gateway's REST proxy event for it
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/{proxy+}",
        "/flows/abc/executions",
        "GET",
    )
    assert event["pathParameters"] == {"proxy": "flows/abc/executions"}
    assert event["queryStringParameters"] == {"limit": "3", "status": "failed"}
    assert event["multiValueQueryStringParameters"]["limit"] == ["2", "3"]
    context = event["requestContext"]
    assert (context["stage"], context["identity"]["sourceIp"]) == ("v1", "127.0.0.1")
    assert context["requestId"]


def test_a_literal_route_wins_over_the_greedy_one(gateway: Callable[[Answer], str]) -> None:
    # Given /health and /{proxy+} routes / When /health is requested
    event = event_of(gateway(echo), "/health")
    # Then the event names the /health resource, as API Gateway picks the most specific
    assert (event["resource"], event["pathParameters"]) == ("/health", None)


def test_a_binary_body_arrives_base64_encoded(gateway: Callable[[Answer], str]) -> None:
    # Given bytes that are not UTF-8 / When they are posted
    payload = b"\xff\xfe\x00binary"
    event = event_of(gateway(echo), "/upload", method="POST", body=payload)
    # Then the event carries them base64-encoded, flagged so
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_a_text_body_arrives_as_is(gateway: Callable[[Answer], str]) -> None:
    # Given a JSON body / When it is posted
    body = json.dumps({"flow": {"name": "é"}}).encode()
    event = event_of(
        gateway(echo),
        "/flows",
        method="POST",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    # Then the event has it as text
    assert (event["isBase64Encoded"], event["body"]) == (False, body.decode())


def test_the_functions_status_headers_and_body_are_written_back(
    gateway: Callable[[Answer], str],
) -> None:
    # Given a function answering 201 with headers, one of them multi-valued
    def answer(event: dict[str, Any]) -> Invocation:
        return Invocation.returned(
            {
                "statusCode": 201,
                "headers": {"ETag": '"1"'},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": "created",
            }
        )

    # When it is called
    status, headers, body = fetch(gateway(answer) + "/flows", method="POST", body=b"{}")
    # Then the HTTP answer is exactly that
    assert (status, headers["ETag"], body) == (201, '"1"', b"created")


def test_a_base64_answer_is_decoded(gateway: Callable[[Answer], str]) -> None:
    # Given a function answering a base64-encoded body
    def answer(event: dict[str, Any]) -> Invocation:
        encoded = base64.b64encode(b"\x00\x01").decode()
        return Invocation.returned({"statusCode": 200, "body": encoded, "isBase64Encoded": True})

    # When it is called / Then the bytes come back decoded
    assert fetch(gateway(answer) + "/bytes")[2] == b"\x00\x01"


def test_a_function_error_is_a_502(gateway: Callable[[Answer], str]) -> None:
    # Given a function that raised / When it is called
    def answer(event: dict[str, Any]) -> Invocation:
        return Invocation.unhandled("ValueError", "boom")

    status, _, body = fetch(gateway(answer) + "/x")
    # Then API Gateway's 502 answer is returned
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})


def test_a_malformed_proxy_answer_is_a_502(gateway: Callable[[Answer], str]) -> None:
    # Given a function answering without a statusCode / When it is called
    status, _, _ = fetch(gateway(lambda event: Invocation.returned({"body": "hi"})) + "/x")
    # Then API Gateway's 502 answer is returned
    assert status == 502


def test_an_answer_slower_than_the_integration_timeout_is_a_504(
    gateway: Callable[[Answer], str],
) -> None:
    # Given a function slower than the (shortened) integration timeout
    def answer(event: dict[str, Any]) -> Invocation:
        time.sleep(4)
        return echo(event)

    # When it is called / Then API Gateway gives up with 504
    assert fetch(gateway(answer) + "/slow")[0] == 504


def raw_request(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (urllib would quote or refuse them); the parsed answer."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND", "BREW"])
def test_any_method_reaches_the_function(gateway: Callable[[Answer], str], method: str) -> None:
    # Given a method http.server has no do_<METHOD> for (it answered 501 with HTML)
    base = gateway(echo)
    request = f"{method} /flows HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    # When it is sent
    status, _, body = raw_request(base, request)
    # Then the function has it, as API Gateway's ANY route gives it (and answers it)
    assert status == 200
    assert json.loads(body)["httpMethod"] == method


def test_a_request_line_http_server_refuses_is_answered_in_json(
    gateway: Callable[[Answer], str],
) -> None:
    status, headers, body = raw_request(gateway(echo), b"GET /flows HTTP/9.9\r\nHost: x\r\n\r\n")
    assert status == 505
    assert headers["Content-Type"] == "application/json"
    assert "message" in json.loads(body)


def test_a_malformed_chunked_body_is_a_bad_request(gateway: Callable[[Answer], str]) -> None:
    request = (
        b"POST /flows HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nab\r\n0\r\n\r\n"
    )
    status, _, body = raw_request(gateway(echo), request)
    assert status == 400
    assert "message" in json.loads(body)


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/flows/%C3%A9t%C3%A9", "/flows/été"),
        ("/flows/%F0%9F%98%80", "/flows/😀"),
        ("/flows/a%23b", "/flows/a#b"),
        ("/flows/a%FFb", "/flows/a\ufffdb"),
        ("/flows/a%ED%A0%80", "/flows/a\ufffd\ufffd\ufffd"),  # an encoded surrogate
    ],
)
def test_a_percent_encoded_path_arrives_decoded_as_utf8(
    gateway: Callable[[Answer], str], target: str, path: str
) -> None:
    event = event_of(gateway(echo), target)
    assert event["path"] == path
    assert event["pathParameters"] == {"proxy": path[1:]}


@pytest.mark.parametrize(
    ("raw_path", "path"),
    [("/flows/été".encode(), "/flows/été"), (b"/flows/a\xffb", "/flows/a\ufffdb")],
)
def test_raw_bytes_in_the_path_arrive_as_utf8_text(
    gateway: Callable[[Answer], str], raw_path: bytes, path: str
) -> None:
    # Given a request line with raw (not percent-encoded) bytes, which http.server
    # reads as Latin-1 ("é" became "Ã©")
    request = b"GET " + raw_path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, _, body = raw_request(gateway(echo), request)
    assert status == 200
    assert json.loads(body)["path"] == path


def test_header_values_arrive_as_utf8_text(gateway: Callable[[Answer], str]) -> None:
    request = (
        b"GET /flows HTTP/1.1\r\nHost: x\r\nIdempotency-Key: cl\xc3\xa9 \xff\r\n"
        b"Connection: close\r\n\r\n"
    )
    status, _, body = raw_request(gateway(echo), request)
    assert status == 200
    assert json.loads(body)["headers"]["Idempotency-Key"] == "clé \ufffd"


def test_a_raw_query_arrives_as_utf8_text(gateway: Callable[[Answer], str]) -> None:
    request = b"GET /flows?name=\xc3\xa9&x=%C3%A9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, _, body = raw_request(gateway(echo), request)
    assert status == 200
    assert json.loads(body)["queryStringParameters"] == {"name": "é", "x": "é"}
