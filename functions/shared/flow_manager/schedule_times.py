"""Schedule expressions and when they are due: rate(), AWS's 6-field cron(), at().

Parsed here, not left to EventBridge Scheduler, so that a typo is a located 422 before
Scheduler sees it (moto checks nothing), and so that the local stack can compute when a
schedule is due. Plain Python (no pydantic): the local stack's scheduler imports it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flow_manager.errors import InvalidRequest, Problem

MAX_EXPRESSION = 256  # Scheduler's limit
CRON_HORIZON_DAYS = 366 * 5  # a cron that matches no day within five years never fires here


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
        return invalid_value(location, message)

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
        raise invalid_value(location, message)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"'{name}' is not an IANA time zone name (e.g. UTC, Europe/Paris)"
        raise invalid_value(location, message) from None


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


def invalid_value(location: str, message: str) -> InvalidRequest:
    """422 InvalidRequest, located: the field is there but its value is wrong."""
    return InvalidRequest(f"{location}: {message}", [Problem(location, message)], "InvalidRequest")
