"""The CLI's live display (flow_manager_local.progress): attempts and timeouts."""

from __future__ import annotations

import io
from typing import Any

from flow_manager_local.progress import Progress, TaskLimits, task_line


def report(**task: Any) -> dict[str, Any]:
    return {
        "status": "running",
        "executed_tasks": ["fetch"],
        "current_task": "fetch",
        "task_results": {"fetch": {"status": "running", **task}},
    }


def test_the_live_line_shows_the_attempt_of_a_retried_task() -> None:
    out = io.StringIO()
    progress = Progress(out, live=True, limits={"fetch": TaskLimits(max_attempts=3)})
    progress.update(report(attempts=2))
    assert "attempt 2/3" in out.getvalue()


def test_the_first_attempt_shows_no_attempt_count() -> None:
    out = io.StringIO()
    progress = Progress(out, live=True, limits={"fetch": TaskLimits(max_attempts=3)})
    progress.update(report(attempts=1))
    assert "attempt" not in out.getvalue()


def test_a_log_gets_a_line_when_a_task_is_retried() -> None:
    out = io.StringIO()
    progress = Progress(out, live=False, limits={"fetch": TaskLimits(max_attempts=3)})
    progress.update(report(attempts=1))
    progress.update(report(attempts=2))
    assert out.getvalue().splitlines() == ["fetch started", "fetch  attempt 2/3"]


def test_a_timed_out_task_says_after_how_long() -> None:
    line = task_line(
        "fetch",
        {"status": "failure", "error": "States.Timeout: task timed out", "execution_time": 2.0},
        5,
        marks=False,
        limits=TaskLimits(timeout_seconds=2),
    )
    assert "timed out after 2 s" in line
