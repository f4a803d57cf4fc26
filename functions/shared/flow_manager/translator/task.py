"""A task (and an approval): a Task state invoking its function, caught into its
result, then the Choice state of its condition (cases first)."""

from __future__ import annotations

from typing import Any

from flow_manager import expressions
from flow_manager.model import APPROVAL_KIND, DEFAULT_APPROVAL_TIMEOUT_SECONDS, Condition, Task
from flow_manager.results_store import INLINE_DATA_BYTES
from flow_manager.translator.common import LAMBDA_TRANSIENT_ERRORS, State, result_path
from flow_manager.translator.graph import GraphUnit, targets


def retry_policy(task: Task) -> list[dict[str, Any]]:
    retry: list[dict[str, Any]] = [
        {
            "ErrorEquals": list(LAMBDA_TRANSIENT_ERRORS),
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2,
            "MaxDelaySeconds": 10,
            "JitterStrategy": "FULL",
        }
    ]
    if task.retry is not None and task.retry.max_attempts > 1:
        retry.append(
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": task.retry.interval_seconds,
                "MaxAttempts": task.retry.max_attempts - 1,
                "BackoffRate": task.retry.backoff_rate,
            }
        )
    return retry


def task_event(unit: GraphUnit, task: Task, source: str = "$") -> dict[str, Any]:
    """The task contract's event (DESIGN §4.2); `source` is where context/results are."""
    root = "" if source == "$" else source
    return {
        "flow_id": unit.context.flow_id,
        "flow_version": unit.context.version,
        "execution_id.$": "$$.Execution.Name",
        "task": task.name,
        "retry_count.$": "$$.State.RetryCount",
        "parameters": task.parameters or {},
        "context.$": f"${root}.context",
        "results.$": f"${root}.results",
    }


RESULT_SELECTOR = {
    "status.$": "$.Payload.status",
    "data.$": "$.Payload.data",
    "error.$": "$.Payload.error",
}


def invoke(unit: GraphUnit, task: Task) -> State:
    """A task or an approval: its Task state, caught into its result, then its Choice."""
    approval = task.task_type == "approval"
    payload = task_event(unit, task)
    if approval:
        timeout = task.timeout_seconds or DEFAULT_APPROVAL_TIMEOUT_SECONDS
        payload |= {"task_token.$": "$$.Task.Token", "timeout_seconds": timeout}
    else:
        if unit.context.inline_bytes != INLINE_DATA_BYTES:
            # The flow's share of the state a task's data may take whole (§4.7).
            payload["inline_bytes"] = unit.context.inline_bytes
        if task.name in unit.context.keep_inline:
            # A later for_each iterates this data: the SDK keeps it in the state (§4.7).
            payload["keep_inline"] = unit.context.keep_inline[task.name]
    state: State = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke" + (".waitForTaskToken" if approval else ""),
        "Parameters": {
            "FunctionName": unit.context.catalog[APPROVAL_KIND if approval else task.kind],
            "Payload": payload,
        },
    }
    if approval:
        # The decision arrives as the task's result {status, data, error} (SendTaskSuccess).
        state["Comment"] = "Waits for a decision: POST /executions/{id}/approvals/{task}."
        state["TimeoutSeconds"] = task.timeout_seconds or DEFAULT_APPROVAL_TIMEOUT_SECONDS
    else:
        state["ResultSelector"] = dict(RESULT_SELECTOR)
    state["ResultPath"] = result_path(task.name)
    if task.timeout_seconds is not None and not approval:
        state["TimeoutSeconds"] = task.timeout_seconds
    state["Retry"] = retry_policy(task) if not approval else retry_policy(task)[:1]
    choice = unit.choice[task.name]
    state["Catch"] = [
        {"ErrorEquals": ["States.ALL"], "ResultPath": result_path(task.name), "Next": choice}
    ]
    state["Next"] = choice
    return state


def choice(unit: GraphUnit, task: Task) -> State:
    """After `task`: its condition's cases, then its outcome (DESIGN §3.1, §4.3), or the end.

    `$.results.<task>.status` is absent when the Catch stored {Error, Cause}: the task
    raised, timed out or crashed, which is a failure. The first rule tests presence so
    the equality test never reads a missing path (a runtime error in Step Functions).
    """
    status = f"{result_path(task.name)}.status"
    condition = unit.graph.condition_for(task.name)
    on_success, on_failure = targets(condition)
    if condition is None:
        comment = f"{task.name} has no condition: the flow ends here."
    else:
        comment = condition.description or (
            f"{task.name} succeeded?" if condition.outcome == "success" else f"{task.name} failed?"
        )
    success_next = unit.target(on_success, task.name, succeeded=True)
    failure_next = unit.target(on_failure, task.name, succeeded=False)
    succeeded: dict[str, Any] = {"Variable": status, "StringEquals": "success"}
    cases = case_rules(unit, task, condition) if condition is not None else []
    choices: list[dict[str, Any]]
    if not cases:
        choices = [
            {"Not": {"Variable": status, "IsPresent": True}, "Next": failure_next},
            {**succeeded, "Next": success_next},
        ]
    elif condition is not None and condition.outcome == "success":
        # Missing status (raised) first, so `succeeded` below never reads a missing path.
        choices = [
            {"Not": {"Variable": status, "IsPresent": True}, "Next": failure_next},
            *(
                {"Comment": comment, "And": [succeeded, rule], "Next": next_state}
                for comment, rule, next_state in cases
            ),
            {**succeeded, "Next": success_next},
        ]
    else:
        # outcome "failure": a success takes its route first; the cases see failures only.
        present: dict[str, Any] = {"Variable": status, "IsPresent": True}
        choices = [
            {"And": [present, succeeded], "Next": success_next},
            *({"Comment": c, **rule, "Next": n} for c, rule, n in cases),
        ]
    return {
        "Type": "Choice",
        "Comment": comment,
        "Choices": choices,
        "Default": failure_next,
    }


def case_rules(
    unit: GraphUnit, task: Task, condition: Condition
) -> list[tuple[str, dict[str, Any], str]]:
    """(Comment, rule, Next) per case, in order: the Comment is its description or when."""
    found = []
    for case in condition.cases or ():
        rule = expressions.compile_rule(expressions.parse(case.when), result_path, task.name)
        # Cases are tested when the status equals the outcome: that is how the task ended.
        target = unit.target(case.target, task.name, succeeded=condition.outcome == "success")
        found.append((case.description or case.when, rule, target))
    return found


def case_choice(unit: GraphUnit, task: Task) -> dict[str, State]:
    """The Choice of a wait, for_each or parallel task whose condition has cases."""
    condition = unit.graph.condition_for(task.name)
    if condition is None or not condition.cases:
        return {}
    return {condition.name: choice(unit, task)}
