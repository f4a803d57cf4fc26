"""A wait task: a Wait state (Seconds, Timestamp or SecondsPath)."""

from __future__ import annotations

from flow_manager import expressions
from flow_manager.model import Task
from flow_manager.translator.common import State, result_path
from flow_manager.translator.graph import GraphUnit, targets
from flow_manager.translator.task import case_rules


def wait(unit: GraphUnit, task: Task) -> dict[str, State]:
    """A Wait state; it always succeeds (no result), so it goes to the success route."""
    state: State = {"Type": "Wait"}
    if task.description:
        state["Comment"] = task.description
    if task.seconds is not None:
        state["Seconds"] = task.seconds
    elif task.until is not None:
        state["Timestamp"] = task.until
    elif task.seconds_from is not None:
        operand = expressions.parse_path(task.seconds_from)
        state["SecondsPath"] = expressions.json_path(operand, result_path)
    condition = unit.graph.condition_for(task.name)
    if condition is None or not condition.cases or condition.outcome == "failure":
        # A wait succeeds: with outcome "failure" its cases are never tested.
        on_success, _ = targets(condition)
        state["Next"] = unit.target(on_success, task.name, succeeded=True)
        return {task.name: state}
    # No result to test a status on: the cases, then the success target.
    state["Next"] = condition.name
    choice: State = {
        "Type": "Choice",
        "Comment": condition.description or f"after {task.name}",
        "Choices": [
            {"Comment": c, **rule, "Next": n} for c, rule, n in case_rules(unit, task, condition)
        ],
        "Default": unit.target(condition.target_task_success, task.name, succeeded=True),
    }
    return {task.name: state, condition.name: choice}
