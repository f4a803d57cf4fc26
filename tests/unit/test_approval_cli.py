"""The CLI's view of a waiting approval: the exact command that decides it, said once."""

from __future__ import annotations

import io
from typing import Any

from flow_manager_local.cli import main
from flow_manager_local.progress import Progress, approval_hint, summary

WAITING: dict[str, Any] = {
    "execution_id": "e1",
    "flow_id": "orders",
    "status": "running",
    "current_task": "manager_ok",
    "executed_tasks": ["manager_ok"],
    "task_results": {"manager_ok": {"status": "running"}},
    "waiting_for": {
        "task": "manager_ok",
        "since": "2026-12-02T09:00:00.000Z",
        "expires_at": "2026-12-09T09:00:00.000Z",
        "message": "Approve order?",
    },
}


def test_a_waiting_approval_is_shown_with_the_command_that_decides_it() -> None:
    hint = approval_hint(WAITING)
    assert hint is not None
    assert "flow-manager approve e1 manager_ok [--reject] [--comment TEXT]" in hint
    assert "until 2026-12-09T09:00:00.000Z" in hint
    assert "Approve order?" in hint
    assert hint in summary(WAITING)


def test_an_execution_that_waits_for_nothing_has_no_hint() -> None:
    assert approval_hint({**WAITING, "waiting_for": None}) is None


def test_progress_says_how_to_decide_an_approval_once() -> None:
    out = io.StringIO()
    progress = Progress(out, live=False)
    progress.update(WAITING)
    progress.update(WAITING)
    assert out.getvalue().count("flow-manager approve e1 manager_ok") == 1


def test_approve_without_a_task_is_a_usage_error() -> None:
    try:
        code = main(["approve", "e1"])
    except SystemExit as exc:  # argparse exits 2 on a missing argument
        code = int(exc.code or 0)
    assert code == 2
