"""Schedule routes against moto's EventBridge Scheduler (which stores, never fires)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flow_manager import aws
from tests.integration.api.conftest import (
    SCHEDULE_GROUP,
    SCHEDULER_ROLE_ARN,
    STATE_MACHINE_PREFIX,
    Api,
)
from tests.integration.api.samples import single
from tests.support.sfn import REGION

FLOW = "nightly"
RATE = {"name": "every-5", "expression": "rate(5 minutes)", "context": {"region": "eu"}}


@pytest.fixture
def flow(api: Api) -> Api:
    assert api.create(single(FLOW)).status == 201
    return api


def stored(name: str) -> dict[str, Any]:
    found: dict[str, Any] = aws.client("scheduler", REGION).get_schedule(
        Name=name, GroupName=SCHEDULE_GROUP
    )
    return found


def test_create_answers_201_with_the_schedule_and_its_location(flow: Api) -> None:
    # Given a flow / When a rate schedule is created for it
    answer = flow.request("POST", f"/flows/{FLOW}/schedules", RATE)
    # Then it is answered as sent, with its defaults, and where to read it
    assert answer.status == 201, answer.text
    assert answer.headers["location"] == f"/flows/{FLOW}/schedules/every-5"
    body = answer.body
    assert (body["name"], body["expression"], body["timezone"], body["context"]) == (
        "every-5",
        "rate(5 minutes)",
        "UTC",
        {"region": "eu"},
    )


def test_the_scheduler_schedule_starts_the_unqualified_state_machine_with_the_context(
    flow: Api,
) -> None:
    # Given a created schedule
    flow.request("POST", f"/flows/{FLOW}/schedules", RATE)
    # When EventBridge Scheduler's copy is read
    target = stored(f"{FLOW}.every-5")["Target"]
    # Then it starts the flow's machine (its current version) as the scheduler role
    assert target["Arn"].endswith(f":stateMachine:{STATE_MACHINE_PREFIX}{FLOW}")
    assert target["RoleArn"] == SCHEDULER_ROLE_ARN
    assert json.loads(target["Input"]) == {"region": "eu"}


def test_a_second_schedule_of_the_same_name_is_a_409(flow: Api) -> None:
    # Given a schedule / When another of that name is created
    flow.request("POST", f"/flows/{FLOW}/schedules", RATE)
    answer = flow.request("POST", f"/flows/{FLOW}/schedules", RATE)
    # Then it is refused
    assert (answer.status, answer.error_code) == (409, "ScheduleExists")


def test_list_pages_through_the_flows_schedules_only(flow: Api) -> None:
    # Given three schedules of the flow and one of another flow whose id starts alike
    assert flow.create(single(f"{FLOW}-2")).status == 201
    for n in range(3):
        flow.request("POST", f"/flows/{FLOW}/schedules", {**RATE, "name": f"s{n}"})
    flow.request("POST", f"/flows/{FLOW}-2/schedules", {**RATE, "name": "other"})
    # When the flow's schedules are listed two at a time
    first = flow.request("GET", f"/flows/{FLOW}/schedules?limit=2")
    token = first.body["next_token"]
    second = flow.request("GET", f"/flows/{FLOW}/schedules?limit=2&next_token={token}")
    # Then the pages hold its three schedules and nothing else
    names = [s["name"] for s in first.body["schedules"] + second.body["schedules"]]
    assert sorted(names) == ["s0", "s1", "s2"]
    assert second.body["next_token"] is None


def test_a_page_token_of_another_list_is_a_400(flow: Api) -> None:
    # Given a token of a flow list / When it is passed to the schedule list
    answer = flow.request("GET", f"/flows/{FLOW}/schedules?next_token=eyJrIjoieCJ9")
    # Then it is refused as a bad token
    assert (answer.status, answer.error_code) == (400, "InvalidPageToken")


def test_delete_answers_204_and_the_schedule_is_gone(flow: Api) -> None:
    # Given a schedule / When it is deleted
    flow.request("POST", f"/flows/{FLOW}/schedules", RATE)
    deleted = flow.request("DELETE", f"/flows/{FLOW}/schedules/every-5")
    # Then reading it again is a 404
    read = flow.request("GET", f"/flows/{FLOW}/schedules/every-5")
    assert deleted.status == 204
    assert (read.status, read.error_code) == (404, "ScheduleNotFound")


def test_deleting_an_unknown_schedule_is_a_404(flow: Api) -> None:
    answer = flow.request("DELETE", f"/flows/{FLOW}/schedules/never")
    assert (answer.status, answer.error_code) == (404, "ScheduleNotFound")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_schedules_of_an_unknown_flow_are_a_404(api: Api, method: str) -> None:
    answer = api.request(method, "/flows/ghost/schedules", RATE if method == "POST" else None)
    assert (answer.status, answer.error_code) == (404, "FlowNotFound")


def test_deleting_the_flow_deletes_its_schedules(flow: Api) -> None:
    # Given a flow with a schedule / When the flow is deleted
    flow.request("POST", f"/flows/{FLOW}/schedules", RATE)
    assert flow.request("DELETE", f"/flows/{FLOW}").status == 204
    # Then EventBridge Scheduler no longer has it
    listed = aws.client("scheduler", REGION).list_schedules(GroupName=SCHEDULE_GROUP)
    assert [s["Name"] for s in listed["Schedules"]] == []


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"name": "has space"}, "name"),
        ({"name": "x" * 57}, "name"),  # nightly.<57> is 65 characters
        ({"expression": "rate(5 minute)"}, "expression"),
        ({"expression": "rate(1 minutes)"}, "expression"),
        ({"expression": "cron(0 12 * * *)"}, "expression"),
        ({"expression": "cron(0 12 * * MON *)"}, "expression"),
        ({"expression": "cron(61 12 ? * MON *)"}, "expression"),
        ({"expression": "at(2030-02-30T08:00:00)"}, "expression"),
        ({"expression": "every 5 minutes"}, "expression"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"context": {"demo": True}}, "context"),
        ({"context": {"flow_manager_resume": {}}}, "context"),
        ({"context": {"demo": {"nope": {"fail": True}}}}, "context"),
    ],
)
def test_an_invalid_field_is_a_located_422(
    flow: Api, change: dict[str, Any], location: str
) -> None:
    # Given a schedule body with one bad field / When it is posted
    answer = flow.request("POST", f"/flows/{FLOW}/schedules", {**RATE, **change})
    # Then it is refused, saying where
    assert answer.status == 422, answer.text
    locations = [d["location"] for d in answer.body["error"]["details"]]
    assert any(loc == location or loc.startswith(f"{location}.") for loc in locations), answer.text


def test_the_openapi_document_shows_the_schedule_body_with_examples(api: Api) -> None:
    # Given the API's OpenAPI document / When the create route's body is read
    spec = api.request("GET", "/docs?format=json").body
    operation = spec["paths"]["/flows/{flow_id}/schedules"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    # Then Swagger UI offers a rate, a cron and an at example, and documents the 409
    assert {e["value"]["expression"].split("(")[0] for e in examples.values()} == {
        "rate",
        "cron",
        "at",
    }
    assert "ScheduleExists" in operation["responses"]["409"]["description"]


def test_every_openapi_example_body_creates_a_schedule(flow: Api) -> None:
    # Given the create route's documented examples
    spec = flow.request("GET", "/docs?format=json").body
    operation = spec["paths"]["/flows/{flow_id}/schedules"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    # When each is posted / Then each is created
    statuses = {
        key: flow.request("POST", f"/flows/{FLOW}/schedules", example["value"]).status
        for key, example in examples.items()
    }
    assert statuses == dict.fromkeys(examples, 201)
