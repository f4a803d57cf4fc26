"""The console at /ui over HTTP (DESIGN §9): the gateway serves the package's files
itself, with their content types, revalidation, a strict Content-Security-Policy, and
nothing outside them. (No processes: the gateway in this process; the API's function
is a stand-in that would answer 200 to anything it were sent.)"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import urllib.request
from collections.abc import Iterator

import pytest

from flow_manager_local.console import Console
from flow_manager_local.gateway import Gateway, Route
from flow_manager_local.launch import LocalStackProcess
from flow_manager_local.moto_lambda import Invocation
from tests.e2e.support import local_only

pytestmark = local_only


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    server = Gateway(
        [Route("ANY", "/{proxy+}", "fn", "v1", "api123")],
        lambda name, payload: Invocation.returned({"statusCode": 200, "body": "{}"}),
        Console(io.StringIO(), colour=False),
        port=0,
        integration_timeout=2,
    )
    server.start()
    yield server
    server.stop()


def request(
    gateway: Gateway, method: str, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """`path` exactly as given: no client normalises `..` away."""
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    response.read()  # keeps the body on the response (as .body below)
    connection.close()
    return response


def get(gateway: Gateway, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/ui/", "text/html; charset=utf-8"),
        ("/ui", "text/html; charset=utf-8"),
        ("/ui/app.js", "text/javascript; charset=utf-8"),
        ("/ui/app.css", "text/css; charset=utf-8"),
        ("/ui/vendor/mermaid.min.js", "text/javascript; charset=utf-8"),
    ],
)
def test_each_console_file_has_its_content_type(
    gateway: Gateway, path: str, content_type: str
) -> None:
    status, headers, body = get(gateway, path)
    assert status == 200
    assert headers["content-type"] == content_type
    assert headers["x-content-type-options"] == "nosniff"
    assert body


def test_the_page_is_revalidated_and_unchanged_files_answer_304(gateway: Gateway) -> None:
    # Given the page as first fetched
    _, first, _ = get(gateway, "/ui/app.js")
    assert first["cache-control"] == "no-cache"
    # When it is asked for again with its ETag
    status, _, body = get(gateway, "/ui/app.js", **{"If-None-Match": first["etag"]})
    # Then it is not sent again
    assert (status, body) == (304, b"")


def test_the_content_security_policy_allows_scripts_and_requests_only_from_the_origin(
    gateway: Gateway,
) -> None:
    _, headers, _ = get(gateway, "/ui/")
    policy = dict(
        ([*directive.split(" ", 1), ""])[:2]
        for directive in headers["content-security-policy"].split("; ")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in headers["content-security-policy"]


def test_a_client_that_takes_gzip_gets_mermaid_compressed(gateway: Gateway) -> None:
    _, plain_headers, plain = get(gateway, "/ui/vendor/mermaid.min.js")
    status, headers, body = get(gateway, "/ui/vendor/mermaid.min.js", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain_headers
    assert gzip.decompress(body) == plain


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../template.yaml",
        "/ui/%2e%2e/template.yaml",
        "/ui/..%2fpyproject.toml",
        "/ui/vendor/../../gateway.py",
        "/ui/vendor/README.md",  # shipped, but not a file of the page
        "/ui//etc/passwd",
        "/ui/%5c..%5cwebui.py",
        "/ui/nothing.js",
    ],
)
def test_a_path_outside_the_console_files_is_not_found(gateway: Gateway, path: str) -> None:
    status, headers, body = get(gateway, path)
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "NotFound"


def test_the_console_is_read_only(gateway: Gateway) -> None:
    response = request(gateway, "POST", "/ui/app.js")
    assert response.status == 405
    assert response.getheader("Allow") == "GET, HEAD"


def test_a_path_that_only_starts_like_ui_goes_to_the_api(gateway: Gateway) -> None:
    status, _, body = get(gateway, "/uix")
    assert (status, body) == (200, b"{}")  # the stand-in function answered


def test_the_stack_prints_the_console_url_next_to_the_apis(
    local_stack: LocalStackProcess | None,
) -> None:
    # Given the local stack as `make run` starts it
    assert local_stack is not None
    # When its banner is read
    banner = local_stack.output()
    # Then the console's URL is there, beside the API's, and it serves the page
    assert f"  API          {local_stack.url}\n" in banner
    assert f"  Console      {local_stack.url}/ui/\n" in banner
    with urllib.request.urlopen(f"{local_stack.url}/ui/", timeout=10) as response:
        assert response.status == 200
        assert b'<script src="/ui/app.js"' in response.read()
