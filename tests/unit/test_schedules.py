"""Schedule expressions, time zones and names (flow_manager.schedules), and when a
schedule is due: what the API refuses before EventBridge Scheduler sees it, and what
the local stack's scheduler fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flow_manager.errors import InvalidRequest
from flow_manager.schedule_times import due_times, next_fire, parse_expression, parse_timezone
from flow_manager.schedules import check_name, scheduler_name, split_scheduler_name
from flow_manager_local.scheduler import Clock, LocalScheduler, clock_request

UTC_ZONE = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
START = datetime(2030, 1, 1, 12, 0, 7, tzinfo=UTC)


def at(text: str, zone: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def fire(expression: str, after: str, zone: ZoneInfo = UTC_ZONE) -> datetime | None:
    return next_fire(parse_expression(expression), zone, at(after, zone), START)


# ---- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "cron(0 12 * * ? *)",
        "cron(15 10 ? * 6L 2030-2040)",
        "cron(0/15 * ? * MON-FRI *)",
        "cron(0 8 1,15 JAN-MAR ? *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 9 L * ? *)",
        "cron(0 9 15W * ? *)",
        "at(2030-01-31T08:00:00)",
    ],
)
def test_scheduler_expressions_are_accepted(text: str) -> None:
    assert parse_expression(text).text == text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 weeks)", "rate(<number>"),
        ("cron(0 12 * * *)", "6 fields"),
        ("cron(0 12 * * MON *)", "'?'"),
        ("cron(0 12 ? * ? *)", "'?'"),
        ("cron(60 12 ? * MON *)", "outside 0-59"),
        ("cron(0 24 ? * MON *)", "outside 0-23"),
        ("cron(0 12 ? FOO MON *)", "not a number"),
        ("cron(0 12 ? * 8 *)", "outside 1-7"),
        ("at(2030-02-30T08:00:00)", "day is out of range"),
        ("at(2030-01-31 08:00:00)", "yyyy-mm-ddThh:mm:ss"),
        ("every 5 minutes", "none of"),
        ("", "1-256"),
    ],
)
def test_malformed_expressions_are_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_expression(text)
    (problem,) = refused.value.details
    assert getattr(problem, "location", None) == "expression"
    assert says in refused.value.message


def test_a_non_string_expression_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        parse_expression(5)


def test_iana_time_zones_are_accepted_and_others_refused() -> None:
    assert parse_timezone("Europe/Paris") == PARIS
    for bad in ("Mars/Olympus", "", "../etc/passwd", 3):
        with pytest.raises(InvalidRequest):
            parse_timezone(bad)


# ---- names -------------------------------------------------------------------------------


def test_scheduler_names_join_and_split_at_the_first_dot() -> None:
    # flow ids have no ".", names may: the first "." is the boundary
    full = scheduler_name("nightly", "v1.2")
    assert (full, split_scheduler_name(full)) == ("nightly.v1.2", ("nightly", "v1.2"))


@pytest.mark.parametrize("name", ["a b", "", "é", "x/y", None])
def test_names_outside_the_pattern_are_refused(name: Any) -> None:
    with pytest.raises(InvalidRequest):
        check_name("nightly", name)


def test_a_name_is_limited_by_what_the_flow_id_leaves_of_64_characters() -> None:
    flow_id = "f" * 48
    assert check_name(flow_id, "n" * 15) == "n" * 15
    with pytest.raises(InvalidRequest, match="room for 15"):
        check_name(flow_id, "n" * 16)


# ---- due times ---------------------------------------------------------------------------


def test_a_rate_fires_every_interval_counted_from_its_creation() -> None:
    assert fire("rate(5 minutes)", "2030-01-01T12:00:07") == START + timedelta(minutes=5)
    assert fire("rate(5 minutes)", "2030-01-01T12:05:07") == START + timedelta(minutes=10)
    assert fire("rate(1 hour)", "2030-01-01T11:00:00") == START + timedelta(hours=1)


def test_an_at_fires_once_at_its_wall_clock_time_in_its_zone() -> None:
    # 08:00 in Paris in January is 07:00 UTC
    expected = datetime(2030, 1, 31, 7, 0, tzinfo=UTC)
    assert fire("at(2030-01-31T08:00:00)", "2030-01-01T00:00:00", PARIS) == expected
    assert fire("at(2030-01-31T08:00:00)", "2030-01-31T08:00:00", PARIS) is None


def test_a_cron_fires_on_weekdays_only() -> None:
    # 2030-01-04 is a Friday: the next weekday 08:30 after Friday 09:00 is Monday
    moment = fire("cron(30 8 ? * MON-FRI *)", "2030-01-04T09:00:00")
    assert moment == at("2030-01-07T08:30:00")


def test_a_cron_follows_its_zone_across_summer_time() -> None:
    # 09:00 in Paris is 08:00 UTC on Saturday 2030-03-30, 07:00 UTC from Sunday the 31st
    saturday = fire("cron(0 9 * * ? *)", "2030-03-29T10:00:00", PARIS)
    sunday = fire("cron(0 9 * * ? *)", "2030-03-30T10:00:00", PARIS)
    assert saturday == datetime(2030, 3, 30, 8, 0, tzinfo=UTC)
    assert sunday == datetime(2030, 3, 31, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 9 L * ? *)", "2030-02-01T00:00:00", "2030-02-28T09:00:00"),
        ("cron(0 9 ? * 2#1 *)", "2030-01-08T00:00:00", "2030-02-04T09:00:00"),  # 1st Monday
        ("cron(0 9 ? * 6L *)", "2030-01-01T00:00:00", "2030-01-25T09:00:00"),  # last Friday
        ("cron(0 9 15W * ? *)", "2030-06-01T00:00:00", "2030-06-14T09:00:00"),  # 15th: Sat
        ("cron(0/20 10 ? * MON *)", "2030-01-07T10:20:00", "2030-01-07T10:40:00"),
        ("cron(0 0 1 1 ? 2031)", "2030-01-01T00:00:00", "2031-01-01T00:00:00"),
    ],
)
def test_cron_special_days(expression: str, after: str, expected: str) -> None:
    assert fire(expression, after) == at(expected)


def test_a_cron_of_years_gone_never_fires() -> None:
    assert fire("cron(0 0 1 1 ? 1999)", "2030-01-01T00:00:00") is None


def test_a_clock_jump_yields_every_missed_fire_time() -> None:
    expression = parse_expression("rate(1 minute)")
    after, until = START, START + timedelta(minutes=3, seconds=1)
    moments = list(due_times(expression, UTC_ZONE, after, until, START))
    assert moments == [START + timedelta(minutes=n) for n in (1, 2, 3)]


# ---- the local scheduler -----------------------------------------------------------------


class FakeScheduler:
    def __init__(self, schedules: list[dict[str, Any]]) -> None:
        self.schedules = {s["Name"]: s for s in schedules}

    def list_schedules(self, **_: Any) -> dict[str, Any]:
        return {"Schedules": [{"Name": n} for n in self.schedules]}

    def get_schedule(self, Name: str, GroupName: str) -> dict[str, Any]:
        return self.schedules[Name]

    def delete_schedule(self, Name: str, GroupName: str) -> None:
        del self.schedules[Name]


class FakeSfn:
    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, str]:
        self.started.append((stateMachineArn, input))
        return {"executionArn": f"{stateMachineArn}:{name}"}


def schedule(name: str, expression: str, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Arn": f"arn:aws:scheduler:us-east-1:1:schedule/g/{name}",
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": "UTC",
        "CreationDate": START,
        "Target": {"Arn": "arn:sm", "Input": '{"a":1}', "RoleArn": "arn:role/r"},
        **extra,
    }


def local_scheduler(*schedules: dict[str, Any]) -> tuple[LocalScheduler, FakeSfn, FakeScheduler]:
    sfn, scheduler = FakeSfn(), FakeScheduler(list(schedules))
    clock = Clock(lambda: START)
    return LocalScheduler(scheduler, sfn, ["g"], lambda _: None, clock), sfn, scheduler


def test_advancing_the_clock_fires_a_due_rate_once_with_its_input() -> None:
    local, sfn, _ = local_scheduler(schedule("f.every", "rate(1 minute)"))
    assert local.tick() == []
    fired = local.advance(61)
    assert [f.schedule for f in fired] == ["f.every"]
    assert sfn.started == [("arn:sm", '{"a":1}')]
    assert local.tick() == []  # already fired for that minute


def test_a_fired_at_schedule_that_deletes_itself_is_deleted() -> None:
    once = schedule("f.once", "at(2030-01-01T12:05:00)", ActionAfterCompletion="DELETE")
    local, _, scheduler = local_scheduler(once)
    assert len(local.advance(600)) == 1
    assert scheduler.schedules == {}


def test_the_clock_endpoint_refuses_a_negative_step() -> None:
    local, _, _ = local_scheduler()
    status, _ = clock_request(local, "POST", b'{"advance_seconds": -5}')
    assert status == 400


def test_a_schedule_created_after_the_clock_moved_waits_a_full_interval() -> None:
    # Given a local clock moved two minutes ahead, then a rate created on the real clock
    # (moto stamps CreationDate with real time) a moment later
    real = [START]
    local, sfn, scheduler = local_scheduler()
    local.clock = Clock(lambda: real[0])
    local.advance(121)
    real[0] = START + timedelta(seconds=5)
    created = schedule("f.every", "rate(1 minute)", CreationDate=real[0])
    scheduler.schedules["f.every"] = created
    # When the background tick sees it
    early = local.tick()
    # Then nothing is due yet, and it fires once a minute of the local clock later
    assert (early, sfn.started) == ([], [])
    assert [f.schedule for f in local.advance(61)] == ["f.every"]
