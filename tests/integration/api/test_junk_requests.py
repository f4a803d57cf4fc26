"""No route answers 500 to anything a client can send (DESIGN §7): random methods,
paths, query strings, headers and bodies, each answered below 500 with the one error
body when it is an error."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.api.conftest import Api, proxy_event
from tests.integration.api.samples import chain

SEGMENTS = st.sampled_from(
    [
        "flows",
        "flow",
        "executions",
        "validate",
        "definition",
        "execute",
        "status",
        "create",
        "run-flow",
        "health",
        "tasks",
        "docs",
        "data_pipeline",
        "2f7f3c1e-5b0a-4d8e-9c61-0a1b2c3d4e5f",
    ]
) | st.text(alphabet=string.printable.replace("/", "") + "éü€", min_size=1, max_size=12)
PATHS = st.lists(SEGMENTS, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts))
QUERY_VALUES = st.text(alphabet=string.ascii_letters + string.digits + "-_=%+", max_size=12)
QUERIES = st.dictionaries(
    st.sampled_from(["limit", "next_token", "status", "force", "format", "x"]),
    QUERY_VALUES,
    max_size=3,
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "a/b; c=d"]
        ),
        "If-Match": st.text(max_size=12),
        "Idempotency-Key": st.text(max_size=300),
    },
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FLOWISH = st.builds(
    lambda context, flow: {"flow": flow, "context": context},
    JSON_VALUES,
    st.just(chain()) | JSON_VALUES,
)
BODIES = st.one_of(
    st.none(),
    st.text(max_size=200).map(lambda t: ("text", t)),
    st.binary(max_size=100).map(lambda b: ("base64", base64.b64encode(b).decode())),
    JSON_VALUES.map(lambda v: ("text", json.dumps(v))),
    FLOWISH.map(lambda v: ("text", json.dumps(v))),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    path=PATHS,
    query=QUERIES,
    headers=HEADERS,
    body=BODIES,
)
def test_no_request_gets_a_server_error(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: tuple[str, str] | None,
) -> None:
    # Given a stored flow, and runs that do not wait
    monkeypatch.setenv("RUN_WAIT_SECONDS", "0")
    api.module.reset()
    api.request("POST", "/flows", {"flow": chain()})
    # When a random request arrives
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    event: dict[str, Any] = proxy_event(method, target, headers=headers)
    if body is not None:
        encoding, text = body
        event["body"] = text
        event["isBase64Encoded"] = encoding == "base64"
    answer = api.invoke(event)
    # Then it is answered without a server error, errors in the one error body
    assert answer.status < 500, (method, target, answer.text[:300])
    if answer.status >= 400:
        assert set(answer.body) == {"error"}
        assert {"code", "message", "details"} == set(answer.body["error"])
