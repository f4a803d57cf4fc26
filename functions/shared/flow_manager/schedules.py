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

Expressions are parsed here (rate, cron with AWS's 6 fields, at) so a typo is a located
422 before Scheduler sees it, and so the local stack can compute when a schedule is due.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from flow_manager.aws import client, is_client_error, raise_if_unavailable
from flow_manager.errors import (
    ConfigurationError,
    FlowManagerError,
    InvalidPageToken,
    InvalidRequest,
    Problem,
)
from flow_manager.paging import decode_token, encode_token
from flow_manager.reports import iso

if TYPE_CHECKING:
    from flow_manager.executions import Executions
    from flow_manager.settings import Settings

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SEPARATOR = "."  # never in a flow id (model.FLOW_ID_PATTERN)
MAX_SCHEDULER_NAME = 64  # EventBridge Scheduler's limit for a schedule name
MAX_DESCRIPTION = 512  # Scheduler's limit
MAX_EXPRESSION = 256  # Scheduler's limit
DEFAULT_TIMEZONE = "UTC"
CRON_HORIZON_DAYS = 366 * 5  # a cron that matches no day within five years never fires here


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


# ---- expressions ---------------------------------------------------------------------

_RATE = re.compile(r"^rate\((\d{1,9}) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\(([^()]*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}  # AWS: 1 = SUN
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (  # name, low, high, names
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    days: str  # the day-of-month field as written ("?" when day-of-week decides)
    weekdays: str  # the day-of-week field as written ("?" when day-of-month decides)

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.days != "?":
            return _dom_matches(self.days, day)
        return _dow_matches(self.weekdays, day)


@dataclass(frozen=True)
class Expression:
    kind: Literal["rate", "cron", "at"]
    text: str
    every: timedelta | None = None  # rate
    at: datetime | None = None  # at: naive, in the schedule's timezone
    cron: Cron | None = None


def parse_expression(text: object, location: str = "expression") -> Expression:
    """rate(N unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss), as EventBridge Scheduler
    accepts them; anything else is a located InvalidRequest."""

    def refuse(message: str) -> InvalidRequest:
        return _invalid(location, message)

    if not isinstance(text, str) or not text or len(text) > MAX_EXPRESSION:
        raise refuse(
            f"must be a string of 1-{MAX_EXPRESSION} characters: rate(5 minutes), "
            "cron(0 12 * * ? *) or at(2030-01-31T08:00:00)"
        )
    if text.startswith("rate("):
        rate = _RATE.match(text)
        if rate is None:
            raise refuse(
                f"'{text}' is not rate(<number> <minute(s)|hour(s)|day(s)>), e.g. rate(5 minutes)"
            )
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise refuse(f"'{text}': the rate must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            right = unit.rstrip("s") + ("" if value == 1 else "s")
            raise refuse(f"'{text}': write rate({value} {right}) (singular for 1, else plural)")
        seconds = value * _UNIT_SECONDS[unit.removesuffix("s")]
        return Expression("rate", text, every=timedelta(seconds=seconds))
    if text.startswith("at("):
        at = _AT.match(text)
        if at is None:
            raise refuse(f"'{text}' is not at(yyyy-mm-ddThh:mm:ss), e.g. at(2030-01-31T08:00:00)")
        try:
            moment = datetime.fromisoformat(at.group(1))
        except ValueError as exc:
            raise refuse(f"'{text}': {exc}") from None
        return Expression("at", text, at=moment)
    if text.startswith("cron("):
        cron = _CRON.match(text)
        if cron is None:
            raise refuse(f"'{text}' is not cron(<6 fields>)")
        return Expression("cron", text, cron=_parse_cron(cron.group(1), refuse))
    raise refuse(
        f"'{text[:80]}' is none of rate(5 minutes), cron(0 12 * * ? *), at(2030-01-31T08:00:00)"
    )


def _parse_cron(body: str, refuse: Any) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise refuse(
            f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(fields)}: '{body}'"
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise refuse(
            "cron: exactly one of day-of-month and day-of-week must be '?' "
            f"(got '{dom}' and '{dow}')"
        )
    values: list[frozenset[int]] = []
    for (name, low, high, names), field in zip(_CRON_FIELDS, fields, strict=True):
        if name == "day-of-month" and field != "?":
            _check_dom(field, refuse)
            values.append(frozenset())
            continue
        if name == "day-of-week" and field != "?":
            _check_dow(field, refuse)
            values.append(frozenset())
            continue
        if field == "?":
            values.append(frozenset())
            continue
        values.append(_expand(field, low, high, names, name, refuse))
    del minutes, hours, month, year
    return Cron(values[0], values[1], values[3], values[5], dom, dow)


def _number(text: str, names: dict[str, int], name: str, refuse: Any) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise refuse(f"cron {name}: '{text}' is not a number")
    return int(text)


def _expand(
    field: str, low: int, high: int, names: dict[str, int], name: str, refuse: Any
) -> frozenset[int]:
    """A field of numbers: *, n, a-b, lists, and /step, within [low, high]."""
    found: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise refuse(f"cron {name}: '{part}' has a bad step")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _number(a, names, name, refuse), _number(b, names, name, refuse)
        else:
            first = _number(base, names, name, refuse)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise refuse(f"cron {name}: '{part}' is outside {low}-{high}")
        found.update(range(first, last + 1, step))
    return frozenset(found)


def _check_dom(field: str, refuse: Any) -> None:
    if field in ("L", "LW") or re.fullmatch(r"\d{1,2}W", field):
        if field.endswith("W") and field != "LW" and not 1 <= int(field[:-1]) <= 31:
            raise refuse(f"cron day-of-month: '{field}' is outside 1-31")
        return
    _expand(field, 1, 31, {}, "day-of-month", refuse)


def _check_dow(field: str, refuse: Any) -> None:
    nth = re.fullmatch(r"([1-7]|[A-Za-z]{3})#([1-5])", field)
    last = re.fullmatch(r"([1-7]|[A-Za-z]{3})L", field)
    for match in (nth, last):
        if match is not None:
            _number(match.group(1), _DAYS, "day-of-week", refuse)
            if match.group(1).isdigit() or match.group(1).upper() in _DAYS:
                return
    if field == "L":
        return
    _expand(field, 1, 7, _DAYS, "day-of-week", refuse)


def _aws_weekday(day: date) -> int:
    return (day.isoweekday() % 7) + 1  # Sunday 1 … Saturday 7


def _dom_matches(field: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if field == "L":
        return day.day == last
    if field.endswith("W"):
        target = last if field == "LW" else min(int(field[:-1]), last)
        return day.day == _nearest_weekday(day.year, day.month, target, last)
    return day.day in _expand(field, 1, 31, {}, "day-of-month", _never)


def _nearest_weekday(year: int, month: int, target: int, last: int) -> int:
    weekday = date(year, month, target).weekday()  # Monday 0
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: Monday after, unless that leaves the month
        return target + 1 if target < last else target - 2
    return target


def _dow_matches(field: str, day: date) -> bool:
    weekday = _aws_weekday(day)
    if field == "L":
        return weekday == 7
    if "#" in field:
        wanted, _, nth = field.partition("#")
        return weekday == _number(wanted, _DAYS, "", _never) and (day.day - 1) // 7 + 1 == int(nth)
    if field.endswith("L"):
        wanted_day = _number(field[:-1], _DAYS, "", _never)
        last = calendar.monthrange(day.year, day.month)[1]
        return weekday == wanted_day and day.day + 7 > last
    return weekday in _expand(field, 1, 7, _DAYS, "day-of-week", _never)


def _never(message: str) -> Exception:  # a parsed expression is valid: cannot happen
    return AssertionError(message)


def parse_timezone(name: object, location: str = "timezone") -> ZoneInfo:
    if not isinstance(name, str) or not name or len(name) > 50:
        message = "must be an IANA time zone name such as UTC or Europe/Paris"
        raise _invalid(location, message)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"'{name}' is not an IANA time zone name (e.g. UTC, Europe/Paris)"
        raise _invalid(location, message) from None


# ---- due times -------------------------------------------------------------------------


def next_fire(
    expression: Expression, zone: ZoneInfo, after: datetime, start: datetime
) -> datetime | None:
    """The first time after `after` (aware) when the schedule fires, None if never again.

    rate: every interval counted from `start` (Scheduler counts from the creation time);
    at: once, at the wall-clock time in `zone`; cron: the next matching minute in `zone`.
    """
    if expression.every is not None:
        if after < start:
            return start + expression.every
        periods = (after - start) // expression.every + 1
        return start + periods * expression.every
    if expression.at is not None:
        moment = expression.at.replace(tzinfo=zone)
        return moment if moment > after else None
    assert expression.cron is not None
    return _next_cron(expression.cron, zone, after)


def _next_cron(cron: Cron, zone: ZoneInfo, after: datetime) -> datetime | None:
    local = after.astimezone(zone)
    day = local.date()
    for _ in range(CRON_HORIZON_DAYS):
        if cron.matches_day(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    if moment > after:
                        return moment
        day += timedelta(days=1)
    return None


def due_times(
    expression: Expression, zone: ZoneInfo, after: datetime, until: datetime, start: datetime
) -> Iterator[datetime]:
    """Every fire time in (after, until]: what a clock that jumped from one to the other
    missed."""
    moment = next_fire(expression, zone, after, start)
    while moment is not None and moment <= until:
        yield moment
        moment = next_fire(expression, zone, moment, start)


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
    raise _invalid(location, message)


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
            raise _invalid("description", message)
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
                raise _invalid(
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
        position = decode_token(kind, token, ("scheduler",)) if token is not None else None
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
            next_token=encode_token(kind, {"scheduler": next_token}) if next_token else None,
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


def _invalid(location: str, message: str) -> InvalidRequest:
    """422 InvalidRequest, located: the field is there but its value is wrong."""
    return InvalidRequest(f"{location}: {message}", [Problem(location, message)], "InvalidRequest")


def _message(exc: Exception) -> str:
    response = getattr(exc, "response", {})
    return str(response.get("Error", {}).get("Message", exc))[:500]
