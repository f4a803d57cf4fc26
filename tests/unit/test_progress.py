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


# ---- language v2: for_each items, parallel branches --------------------------------------


def for_each(done: int, total: int = 10, **result: Any) -> dict[str, Any]:
    items = {"total": total, "succeeded": done, "failed": 0, "first_failed_index": None}
    return {
        "status": "running",
        "executed_tasks": ["price_items"],
        "current_task": "price_items",
        "current_tasks": ["price_items"],
        "task_results": {"price_items": {"status": "running", "items": items, **result}},
    }


def test_a_log_shows_a_for_each_tasks_items_as_they_end() -> None:
    # Given a for_each task polled three times, twice with the same items done
    out = io.StringIO()
    progress = Progress(out, live=False)
    for done in (0, 3, 3, 7):
        progress.update(for_each(done))
    # Then each change of the items done is one line
    assert out.getvalue().splitlines() == [
        "price_items started",
        "price_items  0/10 items",
        "price_items  3/10 items",
        "price_items  7/10 items",
    ]


def test_the_live_line_shows_a_for_each_tasks_items() -> None:
    out = io.StringIO()
    Progress(out, live=True).update(for_each(3))
    assert "price_items  running" in out.getvalue()
    assert "3/10 items" in out.getvalue()


def test_a_finished_for_each_names_its_failed_items() -> None:
    items = {"total": 10, "succeeded": 8, "failed": 2, "first_failed_index": 4}
    line = task_line(
        "price_items",
        {"status": "failure", "items": items, "error": "ItemFailed: item 4 failed: no price"},
        11,
        marks=False,
    )
    assert "10/10 items, 2 failed (first: item 4)" in line
    assert line.endswith("ItemFailed: item 4 failed: no price")


def parallel(score: str, geocode: str = "running") -> dict[str, Any]:
    running = [t for t, s in (("geocode", geocode), ("score", score)) if s == "running"]
    return {
        "status": "running",
        "executed_tasks": ["enrich", "geocode", "score"],
        "current_task": running[0] if running else "enrich",
        "current_tasks": running or ["enrich"],
        "task_results": {
            "enrich": {"status": "running"},
            "geocode": {"status": geocode, "branch": "geo", "parallel_task": "enrich"},
            "score": {"status": score, "branch": "credit", "parallel_task": "enrich"},
        },
    }


def test_a_log_prefixes_branch_tasks_with_their_branch() -> None:
    out = io.StringIO()
    progress = Progress(out, live=False)
    progress.update(parallel("running"))
    progress.update(parallel("success"))
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["enrich started", "geo/geocode started", "credit/score started"]
    assert lines[3].startswith("credit/score  success")


def test_the_live_line_shows_every_branch_task_that_runs() -> None:
    out = io.StringIO()
    Progress(out, live=True).update(parallel("running"))
    assert "geo/geocode, credit/score  running" in out.getvalue()


def test_the_summary_names_branch_tasks_by_branch() -> None:
    from flow_manager_local.progress import summary

    lines = summary({**parallel("success", "success"), "status": "completed"})
    assert [line.split()[0] for line in lines[1:]] == ["enrich", "geo/geocode", "credit/score"]
