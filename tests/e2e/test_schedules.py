"""Schedules over HTTP on the local stack: its scheduler loop reads them from moto and
fires them; POST /_local/clock moves its clock so a rate(1 minute) fires at once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from flow_manager_local.client import ApiClient
from flow_manager_local.launch import LocalStackProcess
from tests.e2e.support import EXECUTION_DEADLINE_SECONDS, flow_document, json_body, task

CONTEXT = {"source": "scheduled", "n": 7}


@pytest.fixture
def local(local_stack: LocalStackProcess | None) -> LocalStackProcess:
    if local_stack is None:
        pytest.skip("the local clock exists on the local stack only")
    return local_stack


def advance(api: ApiClient, seconds: float) -> list[dict[str, Any]]:
    response = api.post("/_local/clock", {"advance_seconds": seconds})
    assert response.status == 200, response.text
    fired: list[dict[str, Any]] = json_body(response)["fired"]
    return fired


def moto_sfn(local: LocalStackProcess) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=local.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def ended(sfn: Any, execution_arn: str) -> dict[str, Any]:
    end = time.monotonic() + EXECUTION_DEADLINE_SECONDS
    while time.monotonic() < end:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    pytest.fail(f"{execution_arn} still running")


def entered_states(sfn: Any, execution_arn: str) -> set[str]:
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    key = "stateEnteredEventDetails"
    return {e[key]["name"] for e in events if key in e}


def test_a_rate_schedule_fires_the_flows_current_version_with_its_context(
    api: ApiClient, local: LocalStackProcess, create_flow: Callable[..., str]
) -> None:
    # Given the three-task pipeline updated to a one-task version 2, scheduled every minute
    flow_id = create_flow()
    etag = api.get(f"/flows/{flow_id}").header("ETag") or ""
    updated = api.put(
        f"/flows/{flow_id}", flow_document(flow_id, [task("task1")]), headers={"If-Match": etag}
    )
    assert updated.status == 200, updated.error_line()
    body = {"name": "every-minute", "expression": "rate(1 minute)", "context": CONTEXT}
    created = api.post(f"/flows/{flow_id}/schedules", body)
    assert created.status == 201, created.error_line()
    # When the local clock moves a minute on
    fired = [f for f in advance(api, 61) if f["schedule"] == f"{flow_id}.every-minute"]
    # Then it started one execution, with the context, running version 2 (task1 only)
    assert len(fired) == 1
    sfn = moto_sfn(local)
    described = ended(sfn, fired[0]["execution_arn"])
    assert (described["status"], json.loads(described["input"])) == ("SUCCEEDED", CONTEXT)
    states = entered_states(sfn, fired[0]["execution_arn"])
    assert "task1" in states
    assert "task2" not in states
    # And the flow's executions list it
    listed = json_body(api.get(f"/flows/{flow_id}/executions"))["executions"]
    assert fired[0]["execution_arn"] in [e["execution_arn"] for e in listed]


def test_an_execution_a_schedule_started_is_read_by_the_id_its_list_gives(
    api: ApiClient, local: LocalStackProcess, create_flow: Callable[..., str]
) -> None:
    # Given an execution a schedule started (Scheduler names it: no request of ours did)
    flow_id = create_flow()
    body = {"name": "every-minute", "expression": "rate(1 minute)", "context": CONTEXT}
    assert api.post(f"/flows/{flow_id}/schedules", body).status == 201
    fired = next(f for f in advance(api, 61) if f["schedule"] == f"{flow_id}.every-minute")
    ended(moto_sfn(local), fired["execution_arn"])
    # When the flow's executions are listed, and the listed id is read
    listed = json_body(api.get(f"/flows/{flow_id}/executions"))["executions"]
    (entry,) = [e for e in listed if e["execution_arn"] == fired["execution_arn"]]
    report = api.get(f"/executions/{entry['execution_id']}")
    # Then the list names the version it ran, and its report reads like any other
    assert entry["flow_version"] == 1
    assert report.status == 200, report.error_line()
    read = json_body(report)
    assert (read["status"], read["flow_version"], read["context"]) == ("completed", 1, CONTEXT)
    assert read["executed_tasks"] == ["task1", "task2", "task3"]


def test_a_deleted_schedule_no_longer_fires(
    api: ApiClient, local: LocalStackProcess, create_flow: Callable[..., str]
) -> None:
    # Given a flow with a rate(1 minute) schedule, then that schedule deleted
    flow_id = create_flow()
    body = {"name": "gone", "expression": "rate(1 minute)"}
    assert api.post(f"/flows/{flow_id}/schedules", body).status == 201
    assert api.delete(f"/flows/{flow_id}/schedules/gone").status == 204
    # When the clock moves five minutes on
    fired = advance(api, 301)
    # Then nothing of the flow was started
    assert [f for f in fired if f["schedule"].startswith(f"{flow_id}.")] == []
    assert json_body(api.get(f"/flows/{flow_id}/executions"))["executions"] == []


def test_schedules_are_listed_read_and_refused_twice(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a flow with a cron schedule in Paris time
    flow_id = create_flow()
    body = {
        "name": "mornings",
        "expression": "cron(30 8 ? * MON-FRI *)",
        "timezone": "Europe/Paris",
        "context": {"a": 1},
    }
    assert api.post(f"/flows/{flow_id}/schedules", body).status == 201
    # When it is listed, read, and created again
    listed = json_body(api.get(f"/flows/{flow_id}/schedules"))["schedules"]
    read = json_body(api.get(f"/flows/{flow_id}/schedules/mornings"))
    again = api.post(f"/flows/{flow_id}/schedules", body)
    # Then the list and the read show it as sent, and the second create is a 409
    assert [(s["name"], s["expression"], s["timezone"], s["context"]) for s in listed] == [
        ("mornings", body["expression"], "Europe/Paris", {"a": 1})
    ]
    assert read["state_machine_arn"].endswith(f"_{flow_id}")
    assert (again.status, json_body(again)["error"]["code"]) == (409, "ScheduleExists")
