"""Schedule routes: EventBridge Scheduler schedules that start a flow (DESIGN §7)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from flow_manager.schedules import (
    DEFAULT_TIMEZONE,
    MAX_DESCRIPTION,
    NAME_PATTERN,
    Schedule,
    SchedulePage,
)
from routes.params import Limit, NextToken
from routes.responses import BODY_ERRORS, errors, json_response, ok
from routes.services import schedules

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class ScheduleBody(BaseModel):
    """Types only: flow_manager.schedules checks every value and says where it is wrong."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description="1-64 of A-Z a-z 0-9 _ . - , unique within the flow; "
        "<flow id>.<name> is at most 64 characters (EventBridge Scheduler's limit).",
        # Documented, checked by flow_manager.schedules (which says where and why).
        json_schema_extra={"pattern": NAME_PATTERN.pattern, "minLength": 1, "maxLength": 64},
    )
    expression: str = Field(
        description="rate(N minute|minutes|hour|hours|day|days), cron(minutes hours "
        "day-of-month month day-of-week year) with one of the day fields '?', or "
        "at(yyyy-mm-ddThh:mm:ss) for once."
    )
    timezone: str = Field(
        default=DEFAULT_TIMEZONE, description="IANA time zone of cron() and at() times."
    )
    context: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="The input of every execution the schedule starts, checked as a start "
        "checks it.",
    )
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


EXAMPLES = {
    "rate": {
        "summary": "Every 5 minutes",
        "value": {"name": "every-5-minutes", "expression": "rate(5 minutes)", "context": {}},
    },
    "cron": {
        "summary": "Weekdays at 08:30 in Paris",
        "value": {
            "name": "weekday-mornings",
            "expression": "cron(30 8 ? * MON-FRI *)",
            "timezone": "Europe/Paris",
            "context": {"source": "s3://bucket/daily.csv"},
            "description": "the daily import",
        },
    },
    "at": {
        "summary": "Once",
        "value": {"name": "once", "expression": "at(2030-01-31T08:00:00)", "timezone": "UTC"},
    },
}

SCHEDULE_ERRORS = ("FlowNotFound", "ScheduleNotFound")


@router.post(
    "/flows/<flow_id>/schedules",
    tags=["schedules"],
    summary="Schedule the flow: an EventBridge Scheduler schedule that starts it",
    description="Each time the expression fires, EventBridge Scheduler starts the flow's "
    "state machine with the context as input: the flow's current version at that time "
    "(updating the flow changes what the schedule runs). 409 ScheduleExists when the flow "
    "has a schedule of that name. at() schedules delete themselves after they ran. "
    "Executions a schedule starts are listed by GET /flows/{flow_id}/executions, and "
    "the ids it gives are read, stopped and retried as any other.",
    responses={
        **ok(201, Schedule, "Created"),
        **errors("FlowNotFound", "ScheduleExists", "InvalidContext", *BODY_ERRORS),
    },
)
def create_schedule(
    flow_id: str, body: Annotated[ScheduleBody, Body(openapi_examples=EXAMPLES)]
) -> Response[Schedule]:
    created = schedules().create(flow_id, body.model_dump(exclude_unset=True))
    location = f"/flows/{flow_id}/schedules/{created.name}"
    return json_response(201, created, {"Location": location})


@router.get(
    "/flows/<flow_id>/schedules",
    tags=["schedules"],
    summary="List the flow's schedules",
    responses={
        **ok(200, SchedulePage, "A page of schedules"),
        **errors("FlowNotFound", "InvalidPageToken", "InvalidRequest"),
    },
)
def list_schedules(
    flow_id: str, limit: Limit = 50, next_token: NextToken = None
) -> Response[SchedulePage]:
    return json_response(200, schedules().list(flow_id, limit, next_token))


@router.get(
    "/flows/<flow_id>/schedules/<name>",
    tags=["schedules"],
    summary="Read a schedule",
    responses={**ok(200, Schedule, "The schedule"), **errors(*SCHEDULE_ERRORS)},
)
def get_schedule(flow_id: str, name: str) -> Response[Schedule]:
    return json_response(200, schedules().get(flow_id, name))


@router.delete(
    "/flows/<flow_id>/schedules/<name>",
    tags=["schedules"],
    summary="Delete a schedule: it starts nothing more",
    responses={
        204: {"description": "Deleted (no body)", "content": {}},
        **errors(*SCHEDULE_ERRORS),
    },
)
def delete_schedule(flow_id: str, name: str) -> Response[None]:
    schedules().delete(flow_id, name)
    return Response(status_code=204)
