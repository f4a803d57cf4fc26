"""EventBridge Scheduler for the local stack: moto stores schedules but never fires them.

The loop reads the schedules from moto through the same API the service uses
(ListSchedules, GetSchedule), computes when each is due from its expression and time
zone (flow_manager.schedules), and starts its target state machine with its input, as
Scheduler would with the schedule's role. Its clock is the real one plus an offset that
`advance()` moves (POST /_local/clock on the gateway), so a test sees a rate(1 minute)
schedule fire without waiting a minute: advancing runs a tick at once and answers
what it started.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flow_manager.errors import InvalidRequest
from flow_manager.schedule_times import due_times, parse_expression, parse_timezone

TICK_SECONDS = 5.0  # Scheduler's resolution is a minute: a few seconds late is on time
MAX_FIRES_PER_TICK = 10  # a clock moved by a day does not start 1440 executions at once


@dataclass(frozen=True)
class Fired:
    schedule: str
    group: str
    due: datetime
    execution_arn: str


class Clock:
    """Real time plus an offset that only moves forward."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now
        self._offset = timedelta()
        # (real time of an advance, offset from then on), oldest first: `at` needs them
        self._moves: list[tuple[datetime, timedelta]] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now() + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            real = self._now()
            self._offset += timedelta(seconds=seconds)
            self._moves.append((real, self._offset))
            return real + self._offset

    def at(self, real: datetime) -> datetime:
        """This clock's time at a real moment: moto stamps what it stores with real time,
        and a schedule created after an advance must not count the advance as waited."""
        with self._lock:
            offset = timedelta()
            for moved, after in self._moves:
                if moved >= real:  # a tie: created before the move
                    break
                offset = after
            return real + offset


class LocalScheduler:
    def __init__(
        self,
        scheduler: Any,
        sfn: Any,
        groups: list[str],
        log: Callable[[str], None],
        clock: Clock | None = None,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.scheduler = scheduler
        self.sfn = sfn
        self.groups = groups
        self.log = log
        self.clock = clock or Clock()
        self.tick_seconds = tick_seconds
        # Schedule ARN and creation time → the time up to which it has been fired.
        self._checked: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)

    def advance(self, seconds: float) -> list[Fired]:
        self.clock.advance(seconds)
        return self.tick()

    def _run(self) -> None:
        while not self._stopping.wait(self.tick_seconds):
            try:
                self.tick()
            except Exception as exc:  # moto going away at shutdown, say: try again
                self.log(f"tick failed: {type(exc).__name__}: {exc}")

    def tick(self) -> list[Fired]:
        """Start every schedule due since the last tick."""
        with self._lock:
            now = self.clock.now()
            fired: list[Fired] = []
            seen: set[tuple[str, str]] = set()
            for group in self.groups:
                for name in self._names(group):
                    fired.extend(self._fire_due(group, name, now, seen))
            for key in set(self._checked) - seen:  # deleted: forget it
                del self._checked[key]
            return fired

    def _names(self, group: str) -> list[str]:
        names: list[str] = []
        request: dict[str, Any] = {"GroupName": group, "State": "ENABLED"}
        while True:
            page = self.scheduler.list_schedules(**request)
            names.extend(s["Name"] for s in page.get("Schedules", []))
            if not page.get("NextToken"):
                return names
            request["NextToken"] = page["NextToken"]

    def _fire_due(
        self, group: str, name: str, now: datetime, seen: set[tuple[str, str]]
    ) -> list[Fired]:
        try:
            schedule = self.scheduler.get_schedule(Name=name, GroupName=group)
        except Exception:  # deleted since the list
            return []
        stamped = _aware(schedule.get("CreationDate"))
        created = self.clock.at(stamped) if stamped else now
        key = (schedule["Arn"], created.isoformat())
        seen.add(key)
        since = self._checked.get(key, created)
        self._checked[key] = now
        try:
            expression = parse_expression(schedule["ScheduleExpression"])
            zone = parse_timezone(schedule.get("ScheduleExpressionTimezone") or "UTC")
        except InvalidRequest as exc:  # moto does not check what it stores
            self.log(f"{group}/{name}: not fired: {exc.message}")
            return []
        fired: list[Fired] = []
        for due in due_times(expression, zone, since, now, created):
            if len(fired) == MAX_FIRES_PER_TICK:
                self.log(f"{group}/{name}: more than {MAX_FIRES_PER_TICK} due; skipped the rest")
                break
            fired.append(self._start(group, name, schedule, due))
        if fired and expression.kind == "at" and schedule.get("ActionAfterCompletion") == "DELETE":
            self.scheduler.delete_schedule(Name=name, GroupName=group)
        return fired

    def _start(self, group: str, name: str, schedule: dict[str, Any], due: datetime) -> Fired:
        target = schedule["Target"]
        started = self.sfn.start_execution(
            stateMachineArn=target["Arn"],
            name=str(uuid.uuid4()),  # Scheduler names its executions itself
            input=target.get("Input") or "{}",
        )
        arn = str(started["executionArn"])
        self.log(
            f"{group}/{name} due {due.isoformat(timespec='seconds')}: started "
            f"{arn.rsplit(':', 1)[-1]} as {target.get('RoleArn', '?').rsplit('/', 1)[-1]}"
        )
        return Fired(name, group, due, arn)


def clock_request(scheduler: LocalScheduler, method: str, body: bytes) -> tuple[int, bytes]:
    """POST /_local/clock {"advance_seconds": N}: move the clock, fire what is due;
    GET: the clock's time."""
    if method == "GET":
        return 200, json.dumps({"now": scheduler.clock.now().isoformat()}).encode()
    if method != "POST":
        return 405, json.dumps({"message": "GET or POST"}).encode()
    try:
        seconds = json.loads(body or b"{}").get("advance_seconds", 0)
    except (ValueError, AttributeError):
        seconds = None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        message = 'send {"advance_seconds": <number ≥ 0>}'
        return 400, json.dumps({"message": message}).encode()
    fired = scheduler.advance(float(seconds))
    answer = {
        "now": scheduler.clock.now().isoformat(),
        "fired": [
            {
                "schedule": f.schedule,
                "group": f.group,
                "due": f.due.isoformat(),
                "execution_arn": f.execution_arn,
            }
            for f in fired
        ],
    }
    return 200, json.dumps(answer).encode()


def _aware(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None
