"""Flows the API tests send: the seeds' own payloads and small variations of them."""

from __future__ import annotations

import copy
from typing import Any


def chain(flow_id: str | None = "data_pipeline", **task_parameters: Any) -> dict[str, Any]:
    """The seeds' flow: task1 → task2 → task3 while each succeeds, else end.

    `task_parameters` maps a task name to its `parameters` (e.g. demo `fail: true`).
    """
    tasks: list[dict[str, Any]] = [
        {"name": "task1", "description": "Fetch data"},
        {"name": "task2", "description": "Process data"},
        {"name": "task3", "description": "Store data"},
    ]
    for task in tasks:
        if task["name"] in task_parameters:
            task["parameters"] = task_parameters[task["name"]]
    flow: dict[str, Any] = {
        "name": "Data processing flow",
        "start_task": "task1",
        "tasks": tasks,
        "conditions": [
            {
                "name": "condition_task1_result",
                "description": "Evaluate the result of task1. If successful, proceed to task2.",
                "source_task": "task1",
                "outcome": "success",
                "target_task_success": "task2",
                "target_task_failure": "end",
            },
            {
                "name": "condition_task2_result",
                "description": "Evaluate the result of task2. If successful, proceed to task3.",
                "source_task": "task2",
                "outcome": "success",
                "target_task_success": "task3",
                "target_task_failure": "end",
            },
        ],
    }
    if flow_id is not None:
        flow = {"id": flow_id, **flow}
    return flow


def renamed(flow: dict[str, Any], name: str) -> dict[str, Any]:
    """The same flow with another name: a different definition, so a new version."""
    changed = copy.deepcopy(flow)
    changed["name"] = name
    return changed


def single(flow_id: str, **parameters: Any) -> dict[str, Any]:
    """One fetch_data task; `parameters` are its demo parameters."""
    task: dict[str, Any] = {"name": "fetch", "function": "fetch_data"}
    if parameters:
        task["parameters"] = parameters
    return {"id": flow_id, "name": f"Single {flow_id}", "start_task": "fetch", "tasks": [task]}
