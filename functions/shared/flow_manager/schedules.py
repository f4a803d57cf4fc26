"""Schedules: EventBridge Scheduler schedules that start a flow (DESIGN §7, §8).

Schedules live in EventBridge Scheduler, not in the table: one schedule group per stack
(SCHEDULE_GROUP), each schedule named `<flow id>.<name>`. A flow id has no ".", so the
first "." splits the two unambiguously and `NamePrefix=<flow id>.` lists exactly one
flow's schedules.

The target is the flow's *unqualified* state machine ARN. Every flow update calls
UpdateStateMachine with publish=True, which changes the machine's own definition and
publishes that revision as a version: the unqualified ARN always runs the latest
published definition, i.e. the flow's current version, without rewriting schedules on
every update (a version ARN would pin the schedule to the version it was created on).
The one gap: a definition published by an update that died before its DynamoDB commit
runs until the update is retried (flows.py's step 2-3 window).

Expressions and due times: flow_manager.schedule_times.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from flow_manager.aws import client, is_client_error, raise_if_unavailable
from flow_manager.errors import (
    ConfigurationError,
    FlowManagerError,
    InvalidPageToken,
)
from flow_manager.reports import iso
from flow_manager.schedule_times import (
    Expression,
    invalid_value,
    parse_expression,
    parse_timezone,
)

if TYPE_CHECKING:
    from flow_manager.executions import Executions
    from flow_manager.settings import Settings

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SEPARATOR = "."  # never in a flow id (model.FLOW_ID_PATTERN)
MAX_SCHEDULER_NAME = 64  # EventBridge Scheduler's limit for a schedule name
MAX_DESCRIPTION = 512  # Scheduler's limit
DEFAULT_TIMEZONE = "UTC"


class ScheduleNotFound(FlowManagerError):
    def __init__(self, flow_id: str, name: str) -> None:
        super().__init__(f"flow '{flow_id}' has no schedule '{name}'", [], "ScheduleNotFound")


class ScheduleExists(FlowManagerError):
    def __init__(self, flow_id: str, name: str) -> None:
        super().__init__(
            f"flow '{flow_id}' already has a schedule '{name}': delete it first or choose "
            "another name",
            [],
            "ScheduleExists",
        )


# ---- names -------------------------------------------------------------------------------


def scheduler_name(flow_id: str, name: str) -> str:
    return f"{flow_id}{SEPARATOR}{name}"


def split_scheduler_name(scheduler: str) -> tuple[str, str]:
    flow_id, _, name = scheduler.partition(SEPARATOR)
    return flow_id, name


def check_name(flow_id: str, name: object, location: str = "name") -> str:
    room = MAX_SCHEDULER_NAME - len(flow_id) - len(SEPARATOR)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        message = "must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'"
    elif len(name) > room:
        message = (
            f"is {len(name)} characters; flow '{flow_id}' leaves room for {room} "
            f"(EventBridge Scheduler names <flow id>.<name> are at most {MAX_SCHEDULER_NAME})"
        )
    else:
        return name
    raise invalid_value(location, message)


# ---- the service -------------------------------------------------------------------------


class Schedule(BaseModel):
    name: str
    flow_id: str
    expression: str = Field(description="rate(...), cron(...) or at(...).")
    timezone: str
    context: dict[str, Any] = Field(description="The input of every execution it starts.")
    description: str | None = None
    state: str = Field(description="ENABLED or DISABLED.")
    schedule_arn: str
    state_machine_arn: str = Field(
        description="What it starts: the flow's state machine, which runs its current version."
    )
    created_at: str | None = None


class SchedulePage(BaseModel):
    schedules: list[Schedule]
    next_token: str | None = Field(default=None, description="Pass it back to get the next page.")


@dataclass(frozen=True)
class ScheduleRequest:
    name: str
    expression: Expression
    timezone: str
    context: dict[str, Any]
    description: str | None


class Schedules:
    def __init__(self, executions: Executions) -> None:
        self.executions = executions
        self.flows = executions.flows
        self.settings: Settings = executions.flows.settings

    @cached_property
    def _scheduler(self) -> Any:
        return client("scheduler", self.settings.region)

    @property
    def group(self) -> str:
        if not self.settings.schedule_group or not self.settings.scheduler_role_arn:
            raise ConfigurationError(
                "SCHEDULE_GROUP and SCHEDULER_ROLE_ARN must be set for schedules"
            )
        return self.settings.schedule_group

    def check(self, flow_id: str, body: dict[str, Any]) -> ScheduleRequest:
        """Every field of a new schedule, each problem located; the context as a start
        would check it (size, reserved keys, context.demo of the current version)."""
        head = self.flows.head(flow_id)
        name = check_name(flow_id, body.get("name"))
        expression = parse_expression(body.get("expression"))
        timezone = body.get("timezone", DEFAULT_TIMEZONE)
        parse_timezone(timezone)
        description = body.get("description")
        if description is not None and (
            not isinstance(description, str) or len(description) > MAX_DESCRIPTION
        ):
            message = f"must be a string of at most {MAX_DESCRIPTION} characters"
            raise invalid_value("description", message)
        context = body.get("context", {})
        self.executions.check_start(head, context)
        return ScheduleRequest(name, expression, str(timezone), context, description)

    def create(self, flow_id: str, body: dict[str, Any]) -> Schedule:
        request = self.check(flow_id, body)
        group = self.group
        target = self.flows.engine.state_machine_arn(flow_id)
        full_name = scheduler_name(flow_id, request.name)
        arguments: dict[str, Any] = {
            "Name": full_name,
            "GroupName": group,
            "ScheduleExpression": request.expression.text,
            "ScheduleExpressionTimezone": request.timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {
                "Arn": target,
                "RoleArn": self.settings.scheduler_role_arn,
                "Input": json.dumps(request.context, separators=(",", ":"), sort_keys=True),
            },
        }
        if request.description is not None:
            arguments["Description"] = request.description
        if request.expression.kind == "at":
            # A one-time schedule deletes itself once it ran, as nothing would fire it again.
            arguments["ActionAfterCompletion"] = "DELETE"
        try:
            self._scheduler.create_schedule(**arguments)
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ConflictException"):
                raise ScheduleExists(flow_id, request.name) from exc
            if is_client_error(exc, "ValidationException"):
                message = _message(exc)
                raise invalid_value(
                    "expression", f"EventBridge Scheduler refused it: {message}"
                ) from exc
            raise
        return self.get(flow_id, request.name)

    def get(self, flow_id: str, name: str) -> Schedule:
        self.flows.head(flow_id)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ScheduleNotFound(flow_id, name[:64])
        return self._get(flow_id, name)

    def _get(self, flow_id: str, name: str) -> Schedule:
        try:
            found = self._scheduler.get_schedule(
                Name=scheduler_name(flow_id, name), GroupName=self.group
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ResourceNotFoundException", "ValidationException"):
                raise ScheduleNotFound(flow_id, name) from exc
            raise
        return _shape(found)

    def list(self, flow_id: str, limit: int, token: str | None) -> SchedulePage:
        self.flows.head(flow_id)
        kind = f"schedules:{flow_id}"
        position = (
            self.flows.tokens.decode(kind, token, ("scheduler",)) if token is not None else None
        )
        request: dict[str, Any] = {
            "GroupName": self.group,
            "NamePrefix": scheduler_name(flow_id, ""),
            "MaxResults": limit,
        }
        if position is not None:
            request["NextToken"] = position["scheduler"]
        try:
            page = self._scheduler.list_schedules(**request)
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ValidationException"):
                raise InvalidPageToken() from exc
            raise
        schedules = []
        for summary in page.get("Schedules", []):
            owner, name = split_scheduler_name(summary["Name"])
            if owner != flow_id:  # NamePrefix is a prefix match: "a." never matches "ab."
                continue
            try:
                schedules.append(self._get(flow_id, name))
            except ScheduleNotFound:
                continue  # deleted between the list and the read
        next_token = page.get("NextToken")
        return SchedulePage(
            schedules=schedules,
            next_token=self.flows.tokens.encode(kind, {"scheduler": next_token})
            if next_token
            else None,
        )

    def delete(self, flow_id: str, name: str) -> None:
        self.flows.head(flow_id)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ScheduleNotFound(flow_id, name[:64])
        if not self._delete(scheduler_name(flow_id, name)):
            raise ScheduleNotFound(flow_id, name)

    def delete_all(self, flow_id: str) -> None:
        """Every schedule of the flow (the flow is being deleted). Safe to repeat."""
        if not self.settings.schedule_group:
            return  # a stack without schedules has none to delete
        request: dict[str, Any] = {
            "GroupName": self.settings.schedule_group,
            "NamePrefix": scheduler_name(flow_id, ""),
        }
        names: list[str] = []
        while True:
            try:
                page = self._scheduler.list_schedules(**request)
            except Exception as exc:
                raise_if_unavailable(exc)
                raise
            names.extend(
                s["Name"]
                for s in page.get("Schedules", [])
                if split_scheduler_name(s["Name"])[0] == flow_id
            )
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        for name in names:
            self._delete(name)

    def _delete(self, full_name: str) -> bool:
        try:
            self._scheduler.delete_schedule(Name=full_name, GroupName=self.group)
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ResourceNotFoundException"):
                return False
            raise
        return True


def _shape(found: dict[str, Any]) -> Schedule:
    flow_id, name = split_scheduler_name(found["Name"])
    target = found.get("Target") or {}
    try:
        context = json.loads(target.get("Input") or "{}")
    except ValueError:
        context = {}
    created = found.get("CreationDate")
    return Schedule(
        name=name,
        flow_id=flow_id,
        expression=found.get("ScheduleExpression", ""),
        timezone=found.get("ScheduleExpressionTimezone") or DEFAULT_TIMEZONE,
        context=context if isinstance(context, dict) else {},
        description=found.get("Description") or None,
        state=found.get("State", "ENABLED"),
        schedule_arn=found.get("Arn", ""),
        state_machine_arn=target.get("Arn", ""),
        created_at=iso(created) if isinstance(created, datetime) else None,
    )


def _message(exc: Exception) -> str:
    response = getattr(exc, "response", {})
    return str(response.get("Error", {}).get("Message", exc))[:500]
