"""The sample task functions (functions/tasks/<kind>/app.py) and their events.

Every file in events/tasks/ is invoked against its function's handler (the kind is the
file name up to the first dot); store_data runs against moto with the DataTable that
template.yaml defines.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from flow_manager.catalog import SAMPLE_KINDS
from flow_manager.demo_switches import DemoError, SimulatedTransientError
from tests.support.task_apps import load_task_app
from tests.support.template import create_tables, load_template

ROOT = Path(__file__).resolve().parents[2]
EVENTS = sorted((ROOT / "events" / "tasks").glob("*.json"))
REGION = "us-east-1"


APPS = {kind: load_task_app(kind) for kind in SAMPLE_KINDS}


def invoke(kind: str, event: Any) -> dict[str, Any]:
    """As Lambda does: JSON in, handler, JSON out."""
    answer = APPS[kind].lambda_handler(json.loads(json.dumps(event)), None)
    parsed: dict[str, Any] = json.loads(json.dumps(answer))
    return parsed


def read_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / "tasks" / f"{name}.json").read_text())
    return event


def event(task: str = "task1", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "flow_id": "f",
        "flow_version": 1,
        "execution_id": "exec-1",
        "task": task,
        "retry_count": 0,
        "parameters": {},
        "context": {},
        "results": {},
    }
    return {**base, **overrides}


def success(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data, "error": None}


@pytest.fixture
def data_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto DynamoDB with the template's tables; DATA_TABLE names the data table."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        names = create_tables(client, load_template())
        monkeypatch.setenv("DATA_TABLE", names["DataTable"])
        APPS["store_data"]._table.cache_clear()
        yield boto3.resource("dynamodb", region_name=REGION).Table(names["DataTable"])
        APPS["store_data"]._table.cache_clear()


def table_for(kind: str, request: pytest.FixtureRequest) -> None:
    """Only store_data needs moto and its table (the others must not touch AWS)."""
    if kind == "store_data":
        request.getfixturevalue("data_table")


def stored_items(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = table.scan()["Items"]
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


# ---- every event file ------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    status: str | None = None  # None: the handler raises
    error: str | None = None  # a substring of the error (or of the raised message)
    raises: str | None = None  # the raised exception's type name
    check: Callable[[Any], bool] = lambda data: True


EXPECTED: dict[str, Expect] = {
    "fetch_data": Expect(
        "success",
        check=lambda d: (
            d["source"] == "generated"
            and d["batch_id"] == "batch-42"
            and [r["id"] for r in d["records"]]
            == ["batch-42-0001", "batch-42-0002", "batch-42-0003"]
        ),
    ),
    "fetch_data.records": Expect(
        "success",
        check=lambda d: d["source"] == "parameters" and d["records"][2] == {"value": 7},
    ),
    "fetch_data.fail": Expect("failure", "task1 failed on purpose (fail=true)"),
    "fetch_data.raise": Expect(raises="SourceUnavailable", error="raised SourceUnavailable"),
    "fetch_data.fail_attempts": Expect(raises="SimulatedTransientError", error="attempt 1"),
    "fetch_data.fail_attempts_last": Expect("success", check=lambda d: d["count"] == 3),
    "fetch_data.context_demo": Expect("failure", "source is offline"),
    "fetch_data.invalid_event": Expect("failure", "invalid task event: flow_id: Field required"),
    "process_data": Expect(
        "success",
        check=lambda d: (
            d["count"] == 3
            and all(r["scaled_value"] == round(r["value"] * 2, 6) for r in d["records"])
        ),
    ),
    "process_data.upstream_raised": Expect(
        "failure", "task 'task1' failed: SourceUnavailable: GET https://example.com/data.json"
    ),
    "process_data.all_rejected": Expect(
        "failure", "none of the 3 records", check=lambda d: d["rejected_count"] == 3
    ),
    "store_data": Expect(
        "success",
        check=lambda d: (
            d["count"] == 3
            and d["keys"] == ["REC#batch-42-0001", "REC#batch-42-0002", "REC#batch-42-0003"]
        ),
    ),
    "store_data.dry_run": Expect("success", check=lambda d: d["dry_run"] and d["count"] == 3),
    "store_data.no_records": Expect("failure", "no earlier task succeeded with data.records"),
    "print": Expect("success", check=lambda d: d == {"message": "Hello from the flow"}),
    "print.failure_rate": Expect("failure", "say_hello failed on purpose (failure_rate=1)"),
}


def test_every_event_file_has_an_expected_outcome() -> None:
    assert sorted(p.stem for p in EVENTS) == sorted(EXPECTED)


def test_every_event_file_is_named_after_a_task_kind() -> None:
    assert {p.stem.split(".")[0] for p in EVENTS} <= set(SAMPLE_KINDS)


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_event_file_gives_its_expected_outcome(path: Path, request: pytest.FixtureRequest) -> None:
    # Given an event from events/tasks and what it should do
    expected = EXPECTED[path.stem]
    kind = path.stem.split(".")[0]
    payload = json.loads(path.read_text())
    table_for(kind, request)
    if expected.raises is not None:
        # When it is invoked, Then it raises for Step Functions to retry
        assert expected.error is not None
        with pytest.raises(Exception, match=re.escape(expected.error)) as raised:
            invoke(kind, payload)
        assert type(raised.value).__name__ == expected.raises
        return
    # When it is invoked, Then it answers the expected result
    answer = invoke(kind, payload)
    assert set(answer) == {"status", "data", "error"}
    assert answer["status"] == expected.status, answer["error"]
    if expected.error is None:
        assert answer["error"] is None
    else:
        assert expected.error in answer["error"]
    assert expected.check(answer["data"])


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_failure_rate_one_fails_every_kind(kind: str, request: pytest.FixtureRequest) -> None:
    table_for(kind, request)
    answer = invoke(kind, demo_event(kind, {"failure_rate": 1}))
    assert answer["status"] == "failure"
    assert answer["error"] == f"my_{kind} failed on purpose (failure_rate=1)"


# ---- demo parameters, every kind ---------------------------------------------------------

UPSTREAM = {"task0": success({"records": [{"id": "r1", "value": 1}]})}


def demo_event(kind: str, parameters: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return event(task=f"my_{kind}", parameters=parameters, results=UPSTREAM, **overrides)


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_demo_fail_gives_a_failure_result(kind: str, request: pytest.FixtureRequest) -> None:
    table_for(kind, request)
    answer = invoke(kind, demo_event(kind, {"fail": True}))
    assert answer == {
        "status": "failure",
        "data": None,
        "error": f"my_{kind} failed on purpose (fail=true)",
    }


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_demo_raise_raises_the_named_error(kind: str) -> None:
    with pytest.raises(DemoError) as raised:
        invoke(kind, demo_event(kind, {"raise": "DownstreamDown"}))
    assert type(raised.value).__name__ == "DownstreamDown"


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_demo_fail_attempts_raises_on_the_first_attempts(kind: str) -> None:
    with pytest.raises(SimulatedTransientError):
        invoke(kind, demo_event(kind, {"fail_attempts": 1}, retry_count=0))


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_demo_fail_attempts_then_succeeds(kind: str, request: pytest.FixtureRequest) -> None:
    table_for(kind, request)
    answer = invoke(kind, demo_event(kind, {"fail_attempts": 1}, retry_count=1))
    assert answer["status"] == "success", answer["error"]


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_demo_sleep_seconds_sleeps_then_works(
    kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    table_for(kind, request)
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    answer = invoke(kind, demo_event(kind, {"sleep_seconds": 2}))
    assert slept == [2]
    assert answer["status"] == "success", answer["error"]


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_demo_switch_in_the_context_fails_one_execution(kind: str) -> None:
    context = {"demo": {f"my_{kind}": {"fail": "not today"}}}
    answer = invoke(kind, demo_event(kind, {}, context=context))
    assert (answer["status"], answer["error"]) == ("failure", "not today")


# ---- fetch_data ----------------------------------------------------------------------------


def test_fetch_generates_the_same_records_for_the_same_batch() -> None:
    first = invoke("fetch_data", event(context={"batch_id": "b7", "count": 5}))
    second = invoke("fetch_data", event(context={"batch_id": "b7", "count": 5}))
    assert first == second
    assert first["data"]["count"] == 5


def test_fetch_generates_other_records_for_another_batch() -> None:
    first = invoke("fetch_data", event(context={"batch_id": "b7"}))["data"]["records"]
    second = invoke("fetch_data", event(context={"batch_id": "b8"}))["data"]["records"]
    assert [r["value"] for r in first] != [r["value"] for r in second]


def test_fetch_without_anything_generates_ten_sample_records() -> None:
    data = invoke("fetch_data", event())["data"]
    assert (data["source"], data["batch_id"], data["count"]) == ("generated", "sample", 10)


def test_fetch_takes_records_from_the_context() -> None:
    data = invoke("fetch_data", event(context={"records": [{"id": 1}]}))["data"]
    assert (data["source"], data["records"]) == ("context", [{"id": 1}])


def test_fetch_parameters_records_win_over_the_context() -> None:
    answer = invoke("fetch_data", event(parameters={"records": []}, context={"records": [1]}))
    assert answer["data"]["source"] == "parameters"


def test_fetch_records_that_are_not_a_list_fail() -> None:
    answer = invoke("fetch_data", event(context={"records": {"a": 1}}))
    assert answer["status"] == "failure"
    assert answer["error"] == "context.records must be a list of records, got dict"


def test_fetch_count_over_the_limit_fails() -> None:
    answer = invoke("fetch_data", event(parameters={"count": 1001}))
    assert answer["status"] == "failure"
    assert "count must be a whole number from 0 to 1000" in answer["error"]


def test_fetch_limit_keeps_the_first_records() -> None:
    answer = invoke("fetch_data", event(parameters={"count": 5, "limit": 2}))
    assert [r["index"] for r in answer["data"]["records"]] == [0, 1]


class _JsonServer(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []  # every path asked for, to show nothing was
    routes: ClassVar[dict[str, tuple[int, bytes]]] = {
        "/list": (200, b'[{"id": "u1", "value": 4}]'),
        "/object": (200, b'{"items": [{"id": "u2", "value": 5}], "next": null}'),
        "/object-without-list": (200, b'{"total": 0}'),
        "/not-json": (200, b"<html>"),
        "/missing": (404, b"{}"),
        "/broken": (503, b"{}"),
    }

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect?to="))
            self.end_headers()
            return
        status, body = self.routes.get(self.path, (404, b""))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JsonServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def allowed_server(server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The local test server, on a stack that allows fetching from loopback."""
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "127.0.0.1/32")
    return server_url


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything opens a connection (the refusal must come first)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_fetch_reads_a_json_list_from_the_url(allowed_server: str) -> None:
    data = invoke("fetch_data", event(parameters={"url": f"{allowed_server}/list"}))["data"]
    assert (data["source"], data["records"]) == ("url", [{"id": "u1", "value": 4}])


def test_fetch_reads_the_list_inside_a_json_object(allowed_server: str) -> None:
    data = invoke("fetch_data", event(parameters={"url": f"{allowed_server}/object"}))["data"]
    assert data["records"] == [{"id": "u2", "value": 5}]


def test_fetch_records_a_context_source_url_without_fetching_it(server_url: str) -> None:
    # Given seed 000's context: a source_url the flow did not ask to fetch
    context = {"source_url": f"{server_url}/list", "batch_id": "batch_001"}
    # When fetch runs / Then it generates the batch's records and notes the source
    data = invoke("fetch_data", event(context=context))["data"]
    assert (data["source"], data["source_url"]) == ("generated", context["source_url"])
    assert data["records"][0]["id"] == "batch_001-0001"


def test_store_prefers_records_given_in_parameters() -> None:
    # Given a recovery branch whose flow gives the record to store
    answer = invoke(
        "store_data",
        event(parameters={"records": [{"id": "fallback"}], "dry_run": True}, results={}),
    )
    # Then it stores those, with no upstream task needed
    assert answer["status"] == "success"
    assert answer["data"]["keys"] == ["REC#fallback"]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/missing", "answered 404"),
        ("/not-json", "did not answer JSON"),
        ("/object-without-list", "an object without a list"),
    ],
)
def test_fetch_url_answers_that_retrying_cannot_fix_are_failures(
    allowed_server: str, path: str, error: str
) -> None:
    answer = invoke("fetch_data", event(parameters={"url": f"{allowed_server}{path}"}))
    assert answer["status"] == "failure"
    assert error in answer["error"]


def test_fetch_url_server_error_raises_source_unavailable(allowed_server: str) -> None:
    with pytest.raises(Exception, match="answered 503") as raised:
        invoke("fetch_data", event(parameters={"url": f"{allowed_server}/broken"}))
    assert type(raised.value).__name__ == "SourceUnavailable"


def test_fetch_unreachable_url_raises_source_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "127.0.0.1")
    # Given a port nothing listens on
    with ThreadingHTTPServer(("127.0.0.1", 0), _JsonServer) as closed:
        port = closed.server_address[1]
    with pytest.raises(Exception, match="failed") as raised:
        invoke("fetch_data", event(parameters={"url": f"http://127.0.0.1:{port}/"}))
    assert type(raised.value).__name__ == "SourceUnavailable"


def test_fetch_refuses_urls_that_are_not_http() -> None:
    answer = invoke("fetch_data", event(parameters={"url": "file:///etc/passwd"}))
    assert answer["status"] == "failure"
    assert "must be an http(s) URL" in answer["error"]


def test_fetch_refuses_a_loopback_server_by_default(server_url: str) -> None:
    # Given a stack that allows no private hosts (the template's default)
    _JsonServer.requests.clear()
    # When a flow fetches from a server on 127.0.0.1
    answer = invoke("fetch_data", event(parameters={"url": f"{server_url}/list"}))
    # Then the task fails saying why, and the server was never asked
    assert answer["status"] == "failure"
    assert "refused: 127.0.0.1 is a loopback address" in answer["error"]
    assert "FetchAllowedHosts" in answer["error"]
    assert _JsonServer.requests == []


def test_fetch_allows_a_host_the_stack_names(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack that allows the host name localhost
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "intranet.example, localhost")
    url = server_url.replace("127.0.0.1", "localhost") + "/list"
    # When a flow fetches from it / Then it is fetched
    answer = invoke("fetch_data", event(parameters={"url": url}))
    assert answer["status"] == "success", answer["error"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[::ffff:127.0.0.1]:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://127.1.2.3/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("https://192.168.1.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "private"),  # 240/4 is reserved; Python counts it private too
        ("http://100.64.0.1/", "not a public address"),  # shared address space (CGNAT)
    ],
)
def test_fetch_refuses_non_public_addresses_without_connecting(
    no_connections: None, url: str, kind: str
) -> None:
    answer = invoke("fetch_data", event(parameters={"url": url}))
    assert answer["status"] == "failure"
    assert "refused" in answer["error"]
    assert kind in answer["error"]


def test_fetch_refuses_a_name_that_resolves_to_a_private_address(
    no_connections: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a public-looking name whose DNS answer includes a private address
    answers = [("93.184.215.14", 80), ("10.1.2.3", 80)]

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", a) for a in answers]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    # When a flow fetches from it / Then it is refused, naming the address
    answer = invoke("fetch_data", event(parameters={"url": "http://data.example.com/x"}))
    assert answer["status"] == "failure"
    assert "data.example.com is a private address (10.1.2.3)" in answer["error"]


def test_fetch_connects_to_the_address_it_checked_not_to_a_second_lookup(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a name that resolves to the (allowed) test server first, and to the
    # metadata service on any later lookup (DNS rebinding)
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "127.0.0.1/32")
    port = int(server_url.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "169.254.169.254"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    # When a flow fetches from it
    answer = invoke("fetch_data", event(parameters={"url": f"http://rebind.example:{port}/list"}))
    # Then the name was looked up once, and the records came from the checked address
    assert answer["status"] == "success", answer["error"]
    assert lookups == ["rebind.example"]


def test_fetch_follows_a_redirect_to_an_allowed_url(allowed_server: str) -> None:
    url = f"{allowed_server}/redirect?to={allowed_server}/list"
    answer = invoke("fetch_data", event(parameters={"url": url}))
    assert answer["status"] == "success", answer["error"]
    assert answer["data"]["records"] == [{"id": "u1", "value": 4}]


def test_fetch_does_not_follow_a_redirect_to_a_refused_host(allowed_server: str) -> None:
    # Given an allowed server that redirects to the instance metadata service
    url = f"{allowed_server}/redirect?to=http://169.254.169.254/latest/meta-data/"
    # When a flow fetches from it / Then the redirect is refused like a first URL
    answer = invoke("fetch_data", event(parameters={"url": url}))
    assert answer["status"] == "failure"
    assert "http://169.254.169.254/latest/meta-data/ refused" in answer["error"]
    assert "link-local" in answer["error"]


def test_fetch_refuses_a_redirect_to_another_scheme(allowed_server: str) -> None:
    answer = invoke(
        "fetch_data", event(parameters={"url": f"{allowed_server}/redirect?to=file:///etc/passwd"})
    )
    assert answer["status"] == "failure"
    assert "must be an http(s) URL" in answer["error"]


# ---- process_data --------------------------------------------------------------------------


def process(records: list[Any], **parameters: Any) -> dict[str, Any]:
    results = {"fetch": success({"records": records})}
    return invoke("process_data", event(task="proc", parameters=parameters, results=results))


def test_process_scales_values_and_adds_a_checksum() -> None:
    data = process([{"id": "a", "value": 1.5}], multiplier=3)["data"]
    assert data["records"][0]["scaled_value"] == 4.5
    assert len(data["records"][0]["checksum"]) == 16


def test_process_is_deterministic() -> None:
    records = [{"id": "a", "value": 1.5, "category": "x"}, {"id": "b", "value": 2}]
    assert process(records) == process(records)


def test_process_rejects_records_below_min_value_and_non_numbers() -> None:
    data = process(
        [{"id": "a", "value": 1}, {"id": "b", "value": 5}, {"id": "c", "value": "5"}, 7],
        min_value=2,
    )["data"]
    assert [r["id"] for r in data["records"]] == ["b"]
    assert [(r["index"], r["reason"]) for r in data["rejected"]] == [
        (0, "value 1 is below min_value 2.0"),
        (2, "value is not a number"),
        (3, "not an object"),
    ]


def test_process_summarises_values_and_categories() -> None:
    summary = process([{"value": 1, "category": "x"}, {"value": 3, "category": "y"}, {"value": 5}])[
        "data"
    ]["summary"]
    assert summary == {
        "count_in": 3,
        "total": 9.0,
        "mean": 3.0,
        "min": 1.0,
        "max": 5.0,
        "by_category": {"x": 1, "y": 1},
    }


def test_process_reads_the_named_source_task() -> None:
    results = {
        "a": success({"records": [{"id": "from-a", "value": 1}]}),
        "b": success({"records": [{"id": "from-b", "value": 1}]}),
    }
    answer = invoke("process_data", event(parameters={"source_task": "a"}, results=results))
    assert answer["data"]["source_task"] == "a"
    assert answer["data"]["records"][0]["id"] == "from-a"


def test_process_with_no_records_fails() -> None:
    answer = process([])
    assert answer["status"] == "failure"
    assert answer["error"] == "fetch returned no records to process"


# ---- store_data ----------------------------------------------------------------------------


def store(records: list[Any], **overrides: Any) -> dict[str, Any]:
    results = {"proc": success({"records": records})}
    return invoke("store_data", event(task="save", results=results, **overrides))


def test_store_writes_one_item_per_record(data_table: Any) -> None:
    answer = store([{"id": "a", "value": 1.5}, {"id": "b", "value": 2}])
    assert answer["data"]["keys"] == ["REC#a", "REC#b"]
    items = stored_items(data_table)
    assert [(i["pk"], i["sk"]) for i in items] == [
        ("EXEC#exec-1", "REC#a"),
        ("EXEC#exec-1", "REC#b"),
    ]
    assert items[0]["record"]["value"] == pytest.approx(1.5)
    assert (items[0]["flow_id"], items[0]["task"]) == ("f", "save")


def test_store_retried_writes_the_same_items_again(data_table: Any) -> None:
    store([{"id": "a"}, {"id": "b"}])
    store([{"id": "a"}, {"id": "b"}], retry_count=1)
    assert len(stored_items(data_table)) == 2


def test_store_keys_records_without_id_by_position(data_table: Any) -> None:
    answer = store([{"value": 1}, "plain"])
    assert answer["data"]["keys"] == ["REC#000000", "REC#000001"]


def test_store_writes_a_repeated_id_once(data_table: Any) -> None:
    answer = store([{"id": "a", "v": 1}, {"id": "a", "v": 2}])
    assert (answer["data"]["count"], answer["data"]["duplicates"]) == (1, 1)
    assert stored_items(data_table)[0]["record"]["v"] == 2


def test_store_dry_run_writes_nothing(data_table: Any) -> None:
    answer = store([{"id": "a"}], parameters={"dry_run": True})
    assert answer["data"]["dry_run"] is True
    assert stored_items(data_table) == []


def test_store_without_data_table_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_TABLE", raising=False)
    with pytest.raises(RuntimeError, match="DATA_TABLE is not set"):
        store([{"id": "a"}])


# ---- cold start ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_importing_a_task_function_loads_no_boto3_or_urllib_request(kind: str) -> None:
    path = ROOT / "functions" / "tasks" / kind / "app.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {str(path)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'urllib.request') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_each_kind_names_the_parameters_model_get_tasks_shows(kind: str) -> None:
    from flow_manager.task_kinds import SAMPLE_KIND_INFO

    assert APPS[kind].PARAMETERS is SAMPLE_KIND_INFO[kind].parameters
