"""Helpers of the e2e tests: flows to create, executions to wait for, the target stack.

The tests run against the local stack by default and against a deployed API when
FLOW_MANAGER_URL is set; ids are unique per test so a long-lived stack never sees a
collision, and every flow a test creates is deleted after it.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from flow_manager_local.client import ApiClient, ApiResponse

ROOT = Path(__file__).resolve().parents[2]
FLOW_FILES = sorted((ROOT / "events" / "flows").glob("*.json"))
DEPLOYED = bool(os.environ.get("FLOW_MANAGER_URL"))
EXECUTION_DEADLINE_SECONDS = 90.0
TERMINAL = ("completed", "failed", "aborted", "timed_out")

local_only = pytest.mark.skipif(DEPLOYED, reason="about the local stack itself")


def unique(prefix: str) -> str:
    """A flow id no other test (or earlier run on a deployed stack) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def task(name: str, function: str | None = None, **parameters: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "description": f"{name} ({function or name})"}
    if function:
        spec["function"] = function
    if parameters:
        spec["parameters"] = parameters
    return spec


def on_success(source: str, target: str, otherwise: str = "end") -> dict[str, Any]:
    return {
        "name": f"after_{source}",
        "source_task": source,
        "outcome": "success",
        "target_task_success": target,
        "target_task_failure": otherwise,
    }


def flow_document(
    flow_id: str | None,
    tasks: list[dict[str, Any]],
    conditions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "name": f"e2e {flow_id or 'flow'}",
        "start_task": tasks[0]["name"],
        "tasks": tasks,
        "conditions": conditions or [],
        **extra,
    }
    if flow_id is not None:
        flow["id"] = flow_id
    return {"flow": flow}


def pipeline(flow_id: str) -> dict[str, Any]:
    """The seeds' three-task flow: fetch → process → store, ending on any failure."""
    return flow_document(
        flow_id,
        [task("task1"), task("task2"), task("task3")],
        [on_success("task1", "task2"), on_success("task2", "task3")],
    )


def json_body(response: ApiResponse) -> dict[str, Any]:
    assert isinstance(response.body, dict), f"{response.status}: {response.text[:500]}"
    return response.body


def wait_for_end(
    api: ApiClient, execution_id: str, deadline: float = EXECUTION_DEADLINE_SECONDS
) -> dict[str, Any]:
    """The execution's report once it has ended (fails the test at the deadline)."""
    end = time.monotonic() + deadline
    report: dict[str, Any] = {}
    while time.monotonic() < end:
        response = api.get(f"/executions/{execution_id}")
        assert response.status == 200, response.error_line()
        report = json_body(response)
        if report["status"] in TERMINAL:
            return report
        time.sleep(0.2)
    pytest.fail(f"execution {execution_id} still {report.get('status')} after {deadline:.0f} s")


def wait_for_task(
    api: ApiClient, execution_id: str, name: str, deadline: float = EXECUTION_DEADLINE_SECONDS
) -> dict[str, Any]:
    """The execution's report once `name` is its current task."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        report = json_body(api.get(f"/executions/{execution_id}"))
        if report.get("current_task") == name:
            return report
        if report["status"] in TERMINAL:
            pytest.fail(f"execution ended {report['status']} before {name} ran")
        time.sleep(0.1)
    pytest.fail(f"{name} did not start within {deadline:.0f} s")


def start(api: ApiClient, flow_id: str, context: dict[str, Any] | None = None) -> str:
    response = api.post(f"/flows/{flow_id}/executions", {"context": context or {}})
    assert response.status == 202, response.error_line()
    return str(json_body(response)["execution_id"])


def run_to_end(
    api: ApiClient, flow_id: str, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    return wait_for_end(api, start(api, flow_id, context))
