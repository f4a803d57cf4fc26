"""Flow → Amazon States Language (DESIGN §4-§5). Pure: no AWS calls, no clock.

Shape of the compiled state machine, for a flow whose tasks are A → B:

    Start (Pass)        input is the client's context; state becomes {context, results: {}}
    A (Task)            lambda:invoke; result → $.results.A = {status, data, error};
                        Lambda's transient errors retried with full jitter, then the
                        task's own retry; any error caught → $.results.A = {Error, Cause}
    <condition> (Choice) status == outcome → target_task_success, else target_task_failure
    B (Task) ...
    Completed (Succeed) / "<task> failed" (Fail): `end` after a success / a failure

So an executed task costs two transitions (Task, Choice), plus one for the set-up
and one for the terminal state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flow_manager.catalog import Catalog
from flow_manager.errors import InvalidFlow, Problem
from flow_manager.model import END, MAX_DEFINITION_BYTES, TASK_NAME_PATTERN, Flow, Task

State = dict[str, Any]

LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
START_STATE = "Start"
SUCCEED_STATE = "Completed"


def result_path(task: str) -> str:
    """Where a task's result lives. Step Functions' reference paths want bracket
    notation for a name with a character other than letters, digits and '_'.

    The one place a client's text becomes part of a path: the name pattern keeps quotes,
    brackets and dots out, and this refuses anything else rather than splice it."""
    if re.fullmatch(TASK_NAME_PATTERN, task) is None:
        raise ValueError(f"not a task name, refused in a path: {task!r}")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", task):
        return f"$.results.{task}"
    return f"$.results['{task}']"


def failed_state_name(task: str) -> str:
    return f"{task} failed"


def after_state_name(task: str) -> str:
    """The Choice state of a task that has no condition."""
    return f"After {task}"


@dataclass(frozen=True)
class CompiledFlow:
    definition: dict[str, Any]
    json: str  # byte-identical for the same flow, catalog and version


def compile_flow(
    flow: Flow, catalog: Catalog, *, flow_id: str | None = None, version: int = 1
) -> CompiledFlow:
    """Translate a *validated* flow; raise InvalidFlow if the result is too large."""
    definition = translate(flow, catalog, flow_id=flow_id, version=version)
    rendered = render(definition)
    size = len(rendered.encode())
    if size >= MAX_DEFINITION_BYTES:
        raise InvalidFlow(
            [
                Problem(
                    "flow",
                    f"the compiled state machine is {size} bytes; Step Functions accepts "
                    f"less than {MAX_DEFINITION_BYTES} (use fewer tasks or smaller parameters)",
                )
            ]
        )
    return CompiledFlow(definition, rendered)


def render(definition: dict[str, Any]) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def translate(
    flow: Flow, catalog: Catalog, *, flow_id: str | None = None, version: int = 1
) -> dict[str, Any]:
    resolved_id = flow_id or flow.id
    if resolved_id is None:
        raise ValueError("a flow without an id needs flow_id")
    names = _StateNames(flow)
    states: dict[str, State] = {
        names.start: {
            "Type": "Pass",
            "Comment": "The execution's input is the context; every task adds its result.",
            "Parameters": {"context.$": "$", "results": {}},
            "Next": flow.start_task,
        }
    }
    for task in _in_order(flow):
        states[task.name] = _task_state(task, catalog[task.kind], resolved_id, version, names)
        choice_name, choice = _choice_state(flow, task, names)
        states[choice_name] = choice
    if names.used_succeed:
        states[names.succeed] = {"Type": "Succeed", "Comment": "The last task succeeded."}
    for task in _in_order(flow):
        if task.name in names.used_failed:
            states[names.failed[task.name]] = {
                "Type": "Fail",
                "Comment": f"The flow ends after {task.name} failed.",
                "Error": "TaskFailed",
                "Cause": f"Task '{task.name}' failed; its result is results.{task.name}.",
            }
    definition: dict[str, Any] = {
        "Comment": _comment(flow, resolved_id, version),
        "StartAt": names.start,
        "States": states,
    }
    if flow.timeout_seconds is not None:
        definition["TimeoutSeconds"] = flow.timeout_seconds
    return definition


def _comment(flow: Flow, flow_id: str, version: int) -> str:
    text = f"Flow Manager: {flow.name} ({flow_id} v{version})"
    return text if flow.description is None else f"{text}. {flow.description}"


def _in_order(flow: Flow) -> Iterator[Task]:
    """Tasks in breadth-first order from start_task: the console lists states that way."""
    seen: set[str] = set()
    queue = [flow.start_task]
    by_name = {t.name: t for t in flow.tasks}
    while queue:
        name = queue.pop(0)
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        yield by_name[name]
        condition = flow.condition_for(name)
        if condition is not None:
            queue += [condition.target_task_success, condition.target_task_failure]
    # A task no path reaches is a validation warning: it is left out (DESIGN §3).


def _task_state(task: Task, arn: str, flow_id: str, version: int, names: _StateNames) -> State:
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
    state: State = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": arn,
            "Payload": {
                "flow_id": flow_id,
                "flow_version": version,
                "execution_id.$": "$$.Execution.Name",
                "task": task.name,
                "retry_count.$": "$$.State.RetryCount",
                "parameters": task.parameters or {},
                "context.$": "$.context",
                "results.$": "$.results",
            },
        },
        "ResultSelector": {
            "status.$": "$.Payload.status",
            "data.$": "$.Payload.data",
            "error.$": "$.Payload.error",
        },
        "ResultPath": result_path(task.name),
    }
    if task.timeout_seconds is not None:
        state["TimeoutSeconds"] = task.timeout_seconds
    state["Retry"] = retry
    choice = names.choice[task.name]
    state["Catch"] = [
        {"ErrorEquals": ["States.ALL"], "ResultPath": result_path(task.name), "Next": choice}
    ]
    state["Next"] = choice
    return state


def _choice_state(flow: Flow, task: Task, names: _StateNames) -> tuple[str, State]:
    """After `task`: go where its condition says (DESIGN §4.3), or end the flow (§4.4).

    `$.results.<task>.status` is absent when the Catch stored {Error, Cause}: the task
    raised, timed out or crashed, which is a failure. The first rule tests presence so
    the equality test never reads a missing path (a runtime error in Step Functions).
    """
    status = f"{result_path(task.name)}.status"
    condition = flow.condition_for(task.name)
    if condition is None:
        on_success, on_failure = END, END
        comment = f"{task.name} has no condition: the flow ends here."
    elif condition.outcome == "success":
        on_success, on_failure = condition.target_task_success, condition.target_task_failure
        comment = condition.description or f"{task.name} succeeded?"
    else:
        on_success, on_failure = condition.target_task_failure, condition.target_task_success
        comment = condition.description or f"{task.name} failed?"
    success_next = names.target(on_success, task.name, succeeded=True)
    failure_next = names.target(on_failure, task.name, succeeded=False)
    state: State = {
        "Type": "Choice",
        "Comment": comment,
        "Choices": [
            {"Not": {"Variable": status, "IsPresent": True}, "Next": failure_next},
            {"Variable": status, "StringEquals": "success", "Next": success_next},
        ],
        "Default": failure_next,
    }
    return names.choice[task.name], state


class _StateNames:
    """Readable, unique state names. Task states are named after their tasks and
    Choice states after their conditions; generated names (Start, Completed,
    "<task> failed", "After <task>") give way when a condition already uses them."""

    def __init__(self, flow: Flow) -> None:
        self._taken = {t.name for t in flow.tasks} | {c.name for c in flow.conditions}
        self.start = self._fresh(START_STATE)
        self.succeed = self._fresh(SUCCEED_STATE)
        self.choice: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        for task in flow.tasks:
            condition = flow.condition_for(task.name)
            self.choice[task.name] = (
                condition.name if condition else self._fresh(after_state_name(task.name))
            )
            self.failed[task.name] = self._fresh(failed_state_name(task.name))
        self.used_succeed = False
        self.used_failed: set[str] = set()

    def _fresh(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self._taken:
            name, n = f"{wanted} ({n})", n + 1
        self._taken.add(name)
        return name

    def target(self, target: str, source: str, *, succeeded: bool) -> str:
        if target != END:
            return target
        if succeeded:
            self.used_succeed = True
            return self.succeed
        self.used_failed.add(source)
        return self.failed[source]
