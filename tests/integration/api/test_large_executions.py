"""Limits that used to be traps (DESIGN §4.7), through ApiFunction in moto: the context a
flow can run with is checked at start, large results come back in reports."""

from __future__ import annotations

import json

from flow_manager.executions import context_room
from tests.integration.api.conftest import Api
from tests.integration.api.samples import single

EXECUTION_ID_LENGTH = 36  # a uuid: what start() names an execution


def padded(size: int) -> dict[str, str]:
    """A context of exactly `size` bytes, counted as the limit counts them."""
    overhead = len(json.dumps({"pad": ""}))
    return {"pad": "x" * (size - overhead)}


def room(flow_id: str) -> int:
    return context_room(flow_id, 1, "e" * EXECUTION_ID_LENGTH, "fetch", {"records": [{"id": 1}]})


def test_a_context_just_under_the_limit_runs_to_the_end(api: Api) -> None:
    # Given a one-task flow and a context of exactly the largest size it can run with
    api.create(single("roomy", records=[{"id": 1}]))
    context = padded(room("roomy"))
    # When it is started
    answer = api.request("POST", "/flows/roomy/executions", {"context": context})
    # Then it is accepted and completes: no States.DataLimitExceeded
    assert answer.status == 202, answer.text
    report = api.wait(answer.body["execution_id"])
    assert (report["status"], report["error"]) == ("completed", None)
    assert report["task_results"]["fetch"]["status"] == "success"


def test_a_context_one_byte_over_the_limit_is_refused_with_the_limit(api: Api) -> None:
    # Given the same flow
    api.create(single("roomy", records=[{"id": 1}]))
    limit = room("roomy")
    # When it is started with one byte more
    answer = api.request("POST", "/flows/roomy/executions", {"context": padded(limit + 1)})
    # Then 422 InvalidContext says how large it is and what the limit is
    assert answer.status == 422, answer.text
    assert answer.error_code == "InvalidContext"
    message = answer.body["error"]["message"]
    assert f"the context is {limit + 1} bytes" in message
    assert f"at most {limit} bytes" in message


def test_the_seed_run_route_refuses_a_context_that_cannot_run(api: Api) -> None:
    # Given a flow, and the 262,000-character context that used to be accepted
    api.create(single("roomy", records=[{"id": 1}]))
    context = padded(room("roomy") + 100)
    # When a seed route runs it
    answer = api.request("POST", "/flows/execute", {"flow_id": "roomy", "context": context})
    # Then it is refused before anything starts
    assert answer.status == 422, answer.text
    assert answer.error_code == "InvalidContext"


def test_a_report_shows_offloaded_data_inline_when_it_is_small_enough(api: Api) -> None:
    # Given a task whose data (100 generated records, ~10 KB) goes to the ResultsBucket
    api.create(single("mid", count=100))
    answer = api.request("POST", "/flows/mid/executions", {"context": {}})
    assert answer.status == 202, answer.text
    # When its report is read
    report = api.wait(answer.body["execution_id"])
    # Then the records are there as the task returned them
    data = report["task_results"]["fetch"]["data"]
    assert data["count"] == 100
    assert len(data["records"]) == 100
    assert isinstance(data["records"][0], dict)


def test_a_report_links_offloaded_data_too_large_to_inline(api: Api) -> None:
    # Given a task returning 1000 generated records (over 64 KiB)
    api.create(single("big", count=1000))
    answer = api.request("POST", "/flows/big/executions", {"context": {}})
    assert answer.status == 202, answer.text
    # When its report is read
    report = api.wait(answer.body["execution_id"])
    # Then the records are a marker with their size and a link, the small values stay
    data = report["task_results"]["fetch"]["data"]
    assert data["count"] == 1000
    marker = data["records"]
    assert marker["offloaded"] is True
    assert marker["bytes"] > 64 * 1024
    assert marker["ref"].startswith("s3://")
    assert marker["url"].startswith("http")
