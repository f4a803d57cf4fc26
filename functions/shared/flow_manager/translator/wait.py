"""A wait task: a Wait state (Seconds, Timestamp or SecondsPath)."""

from __future__ import annotations

from flow_manager import expressions
from flow_manager.model import Task
from flow_manager.translator.common import NO_SECONDS, State, result_path
from flow_manager.translator.graph import GraphUnit, targets
from flow_manager.translator.task import case_choice, case_rules


def wait(unit: GraphUnit, task: Task) -> dict[str, State]:
    """A Wait state; it always succeeds (no result), so it goes to the success route."""
    state: State = {"Type": "Wait"}
    if task.description:
        state["Comment"] = task.description
    if task.seconds is not None:
        state["Seconds"] = task.seconds
    elif task.until is not None:
        state["Timestamp"] = task.until
    guard: dict[str, State] = {}
    if task.seconds_from is not None:
        operand = expressions.parse_path(task.seconds_from)
        seconds = expressions.json_path(operand, result_path)
        state["SecondsPath"] = seconds
        guard = _seconds_guard(unit, task, seconds)
    condition = unit.graph.condition_for(task.name)
    if condition is None or not condition.cases or condition.outcome == "failure":
        # A wait succeeds: with outcome "failure" its cases are never tested.
        on_success, _ = targets(condition)
        state["Next"] = unit.target(on_success, task.name, succeeded=True)
        return guard | {task.name: state}
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
    return guard | {task.name: state, condition.name: choice}


def _seconds_guard(unit: GraphUnit, task: Task, seconds: str) -> dict[str, State]:
    """A Wait whose SecondsPath is missing, not a number or negative fails the whole
    execution with States.Runtime, which no Catch can catch: test it first, and make
    it the task's failure (its failure route), as a for_each's guard does."""
    condition = unit.graph.condition_for(task.name)
    _, on_failure = targets(condition)
    invalid = unit.names.fresh(f"{task.name}{NO_SECONDS}")
    after: dict[str, State] = {}
    if condition is not None and condition.cases and condition.outcome == "failure":
        # Cases are tested when the status equals the outcome: a failure here.
        after = case_choice(unit, task)
        failure_next = condition.name
    else:
        failure_next = unit.target(on_failure, task.name, succeeded=False)
    return after | {
        unit.entry(task.name): {
            "Type": "Choice",
            "Comment": f"{task.name} waits {task.seconds_from} seconds: is it a number ≥ 0?",
            "Choices": [
                {
                    "And": [
                        {"Variable": seconds, "IsPresent": True},
                        {"Variable": seconds, "IsNumeric": True},
                        {"Variable": seconds, "NumericGreaterThanEquals": 0},
                    ],
                    "Next": task.name,
                }
            ],
            "Default": invalid,
        },
        invalid: {
            "Type": "Pass",
            "Result": {
                "status": "failure",
                "data": None,
                "error": f"wait: {task.seconds_from} is missing, not a number or negative "
                "(a wait takes a whole number of seconds ≥ 0)",
            },
            "ResultPath": result_path(task.name),
            "Next": failure_next,
        },
    }
