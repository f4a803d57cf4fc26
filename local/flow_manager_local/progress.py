"""How an execution reads on a terminal: tasks starting and ending, then the result.

`Progress` is fed each execution report the CLI polls (GET /executions/{id}) and
prints what changed: on a terminal a live line for the running task plus one line
per finished task; otherwise plain lines ("task1 started", "task1 success 0.25 s")
that read well in CI logs. `summary()` is the final block, also used by `status`.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

TERMINAL = ("completed", "failed", "aborted", "timed_out")
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_MARKS = {"success": "✓", "failure": "✗", "running": "…"}


@dataclass(frozen=True)
class TaskLimits:
    """What the flow allows a task: shown beside its attempts and a timeout."""

    max_attempts: int = 1
    timeout_seconds: float | None = None


def task_results(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    results = report.get("task_results")
    if not isinstance(results, dict):
        return {}
    return {str(k): v for k, v in results.items() if isinstance(v, dict)}


def executed_tasks(report: Mapping[str, Any]) -> list[str]:
    """Tasks in the order they ran: `executed_tasks`, then any result it did not list."""
    order = [str(t) for t in report.get("executed_tasks") or []]
    order += [t for t in task_results(report) if t not in order]
    current = report.get("current_task")
    if isinstance(current, str) and current not in order:
        order.append(current)
    return order


def label(name: str, result: Mapping[str, Any]) -> str:
    """A task as the terminal names it: a parallel branch's task after its branch."""
    branch = result.get("branch")
    return f"{branch}/{name}" if isinstance(branch, str) and branch else name


def items_progress(result: Mapping[str, Any]) -> str | None:
    """A for_each task's items: `3/10 items`, `, 1 failed (first: item 4)`; None for
    another task or one whose path gave no array."""
    items = result.get("items")
    if not isinstance(items, dict) or not isinstance(items.get("total"), int):
        return None
    succeeded, failed = items.get("succeeded") or 0, items.get("failed") or 0
    text = f"{succeeded + failed}/{items['total']} items"
    if failed:
        first = items.get("first_failed_index")
        text += f", {failed} failed" + (f" (first: item {first})" if first is not None else "")
    return text


def seconds(value: object) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def duration(report: Mapping[str, Any]) -> float | None:
    start, end = parse_time(report.get("start_time")), parse_time(report.get("end_time"))
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def task_line(
    name: str,
    result: Mapping[str, Any],
    width: int,
    *,
    marks: bool,
    limits: TaskLimits | None = None,
) -> str:
    status = str(result.get("status", "?"))
    mark = f"{_MARKS.get(status, '?')} " if marks else ""
    shown = label(name, result)
    parts = [
        f"{mark}{shown.ljust(width)}  {status.ljust(7)}  {seconds(result.get('execution_time')):>9}"
    ]
    items = items_progress(result)
    if items is not None:
        parts.append(items)
    attempts = result.get("attempts")
    if isinstance(attempts, int) and attempts > 1:
        parts.append(f"({attempts} attempts)")
    error = result.get("error")
    if error:
        timeout = limits.timeout_seconds if limits else None
        if timeout is not None and str(error).startswith("States.Timeout"):
            parts.append(f"timed out after {timeout:g} s")
        parts.append(str(error))
    return "  ".join(parts)


def approval_hint(report: Mapping[str, Any]) -> str | None:
    """While an approval waits: which, until when, and the exact command that decides it."""
    waiting = report.get("waiting_for")
    if not isinstance(waiting, dict) or not waiting.get("task"):
        return None
    task = str(waiting["task"])
    until = f" until {waiting['expires_at']}" if waiting.get("expires_at") else ""
    message = f" ({waiting['message']})" if waiting.get("message") else ""
    command = f"flow-manager approve {report.get('execution_id', '?')} {task}"
    return f"waiting for approval {task}{message}{until}: {command} [--reject] [--comment TEXT]"


def summary(report: Mapping[str, Any], *, marks: bool = False) -> list[str]:
    """The result of an execution: status, each task's outcome and duration, the failed task."""
    status = str(report.get("status", "unknown"))
    version = report.get("flow_version")
    flow = f"{report.get('flow_id', '?')}" + (f" v{version}" if version is not None else "")
    took = duration(report)
    head = f"{status}  {flow}  execution {report.get('execution_id', '?')}"
    if took is not None:
        head += f"  {seconds(took)}"
    lines = [head]
    results = task_results(report)
    order = executed_tasks(report)
    width = max((len(label(t, results.get(t, {}))) for t in order), default=0)
    for name in order:
        lines.append(
            "  " + task_line(name, results.get(name, {"status": "running"}), width, marks=marks)
        )
    hint = approval_hint(report)
    if hint is not None:
        lines.append(hint)
    if report.get("failed_task"):
        lines.append(f"failed task: {report['failed_task']}")
    elif status in ("failed", "aborted", "timed_out") and report.get("error"):
        lines.append(f"error: {report.get('error')}: {report.get('cause') or ''}".rstrip(": "))
    return lines


class Progress:
    """Prints each task as it starts and ends, from successive execution reports."""

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        live: bool | None = None,
        limits: Mapping[str, TaskLimits] | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.limits = dict(limits or {})
        self.live = self.out.isatty() if live is None else live
        self._started: dict[str, float] = {}
        self._ended: set[str] = set()
        self._spinner = itertools.cycle(_SPINNER)
        self._hinted: set[str] = set()
        self._pending_line = False
        self._width = 0
        self._attempts: dict[str, int] = {}
        self._items: dict[str, str] = {}

    def update(self, report: Mapping[str, Any]) -> None:
        results = task_results(report)
        order = executed_tasks(report)
        self._width = max([self._width, *(len(label(t, results.get(t, {}))) for t in order)])
        for name in order:
            result = results.get(name, {"status": "running"})
            shown = label(name, result)
            if name not in self._started:
                self._started[name] = time.monotonic()
                if not self.live:
                    self._write(f"{shown} started")
            items = items_progress(result) if result.get("status") == "running" else None
            if not self.live and items is not None and items != self._items.get(name):
                self._items[name] = items  # a line per poll that saw items end, not per item
                self._write(f"{shown}  {items}")
            attempts = result.get("attempts")
            if (
                not self.live
                and result.get("status") == "running"
                and isinstance(attempts, int)
                and attempts > self._attempts.get(name, 1)
            ):
                self._attempts[name] = attempts
                self._write(f"{shown}{self.attempt(name, result)}")
            if result.get("status") in ("success", "failure") and name not in self._ended:
                self._ended.add(name)
                line = task_line(
                    name, result, self._width, marks=self.live, limits=self.limits.get(name)
                )
                self._write(line)
        self._hint_approval(report)
        if self.live:
            self._status_line(order, results, report.get("current_tasks"))

    def _hint_approval(self, report: Mapping[str, Any]) -> None:
        """Say once per approval how to decide it (the run waits until someone does)."""
        hint = approval_hint(report)
        task = str((report.get("waiting_for") or {}).get("task", ""))
        if hint is not None and task not in self._hinted:
            self._hinted.add(task)
            self._write(hint)

    def attempt(self, name: str, result: Mapping[str, Any]) -> str:
        """`attempt 2/3` while a task is retried (nothing on its first attempt)."""
        attempts = result.get("attempts")
        if not isinstance(attempts, int) or attempts < 2:
            return ""
        limit = self.limits.get(name)
        total = f"/{limit.max_attempts}" if limit and limit.max_attempts > 1 else ""
        return f"  attempt {attempts}{total}"

    def _status_line(
        self, order: list[str], results: Mapping[str, Any], current: object = None
    ) -> None:
        running = [t for t in order if t not in self._ended]
        if not running:
            self._clear()
            return
        # The tasks that run: the report's current_tasks (several while parallel
        # branches run side by side), else the task that began last.
        named = [t for t in current if t in running] if isinstance(current, list) else []
        names = named or [running[-1]]
        name = names[0]
        elapsed = time.monotonic() - self._started[name]
        shown = ", ".join(label(t, results.get(t, {})) for t in names)
        items = items_progress(results.get(name, {}))
        self._clear()
        self.out.write(
            f"{next(self._spinner)} {shown.ljust(self._width)}  running  {elapsed:5.1f} s"
            + (f"  {items}" if items else "")
            + self.attempt(name, results.get(name, {}))
        )
        self.out.flush()
        self._pending_line = True

    def _clear(self) -> None:
        if self._pending_line:
            self.out.write("\r\x1b[2K")
            self._pending_line = False

    def _write(self, line: str) -> None:
        self._clear()
        self.out.write(line + "\n")
        self.out.flush()

    def finish(self) -> None:
        self._clear()
        self.out.flush()
