"""Flow → Amazon States Language (DESIGN §4-§5). Pure: no AWS calls, no clock.

Shape of the compiled state machine, for a flow whose tasks are A → B:

    Start (Choice)      input carries flow_manager_resume → Resume; else → Set up
    Set up (Pass)       input is the client's context; state becomes {context, results: {}}
    Resume (Choice)     restores {context, results} (OutputPath) and jumps to `from`
    A (Task)            lambda:invoke; result → $.results.A = {status, data, error};
                        Lambda's transient errors retried with full jitter, then the
                        task's own retry; any error caught → $.results.A = {Error, Cause}
    <condition> (Choice) cases first (each rule's Comment is the case), then
                        status == outcome → target_task_success, else target_task_failure
    B (Task) ...
    Completed (Succeed) / "<task> failed" (Fail): `end` after a success / a failure;
    "Fail after <task>" / "Succeed after <task>": the `fail` / `succeed` targets

Each construct of DESIGN §3.1 has its unit below: a task (Task + Choice), a wait task
(Wait), a for_each task (a guard Choice + Map), a parallel task (Parallel + a Pass that
merges the branches' results), an approval (Task `.waitForTaskToken` + Choice). A
construct whose condition has no cases goes straight to its targets (Next / Catch).

Cost (DESIGN §5): an executed task costs at most two transitions, plus three fixed per
execution (Start, Set up or Resume, the terminal state). A case-free wait costs one;
a for_each task two plus three per item; a parallel task its branches' own plus two;
cases on a wait, for_each or parallel task add their Choice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flow_manager import expressions
from flow_manager.catalog import Catalog
from flow_manager.errors import InvalidFlow, Problem
from flow_manager.model import (
    APPROVAL_KIND,
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    DEFAULT_MAX_CONCURRENCY,
    END,
    FAIL,
    MAX_DEFINITION_BYTES,
    SUCCEED,
    TASK_NAME_PATTERN,
    Branch,
    Condition,
    Flow,
    Task,
)

State = dict[str, Any]
Graph = Flow | Branch

LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
START_STATE = "Start"
SET_UP_STATE = "Set up"
RESUME_STATE = "Resume"
CANNOT_RESUME_STATE = "Cannot resume"
SUCCEED_STATE = "Completed"
RESUME_KEY = "flow_manager_resume"
FLOW_FAILED = "FlowFailed"
ITEM_FAILED = "ItemFailed"
INVALID_RESUME = "InvalidResume"


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
    if len(rendered.encode()) >= MAX_DEFINITION_BYTES:
        # Indentation is for people; a large flow is still deterministic without it.
        rendered = render_compact(definition)
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


def render_compact(definition: dict[str, Any]) -> str:
    return json.dumps(definition, separators=(",", ":"), ensure_ascii=False) + "\n"


def translate(
    flow: Flow, catalog: Catalog, *, flow_id: str | None = None, version: int = 1
) -> dict[str, Any]:
    resolved_id = flow_id or flow.id
    if resolved_id is None:
        raise ValueError("a flow without an id needs flow_id")
    names = _Names(flow)
    context = _Context(catalog, resolved_id, version, names)
    start, set_up, resume = (names.fresh(n) for n in (START_STATE, SET_UP_STATE, RESUME_STATE))
    cannot_resume = names.fresh(CANNOT_RESUME_STATE)
    graph = _GraphUnit(flow, None, context)
    body = graph.states()
    resumable = [t for t in graph.order]
    states: dict[str, State] = {
        start: {
            "Type": "Choice",
            "Comment": f"Input with {RESUME_KEY} resumes at a task (the retry route); "
            "any other input is the context.",
            "Choices": [{"Variable": f"$.{RESUME_KEY}.from", "IsPresent": True, "Next": resume}],
            "Default": set_up,
        },
        set_up: {
            "Type": "Pass",
            "Comment": "The execution's input is the context; every task adds its result.",
            "Parameters": {"context.$": "$", "results": {}},
            "Next": graph.entry(flow.start_task),
        },
        resume: {
            "Type": "Choice",
            "Comment": f"Restore {RESUME_KEY}'s context and results, then run its task.",
            "Choices": [
                {
                    "Variable": f"$.{RESUME_KEY}.from",
                    "StringEquals": task.name,
                    "Next": graph.entry(task.name),
                }
                for task in resumable
            ],
            "Default": cannot_resume,
            "OutputPath": f"$.{RESUME_KEY}",
        },
        **body,
        cannot_resume: {
            "Type": "Fail",
            "Comment": f"{RESUME_KEY}.from names no task of this flow.",
            "Error": INVALID_RESUME,
            "Cause": f"{RESUME_KEY}.from must name a top-level task of this flow",
        },
    }
    definition: dict[str, Any] = {
        "Comment": _comment(flow, resolved_id, version),
        "StartAt": start,
        "States": states,
    }
    if flow.timeout_seconds is not None:
        definition["TimeoutSeconds"] = flow.timeout_seconds
    return definition


def _comment(flow: Flow, flow_id: str, version: int) -> str:
    text = f"Flow Manager: {flow.name} ({flow_id} v{version})"
    return text if flow.description is None else f"{text}. {flow.description}"


# ---- names --------------------------------------------------------------------------------


class _Names:
    """Readable, unique state names across the whole machine (branches included: Step
    Functions wants every state name unique). Task states are named after their tasks,
    Choice states after their conditions; generated names give way to those."""

    def __init__(self, flow: Flow) -> None:
        self._taken: set[str] = set()
        self._add(flow)

    def _add(self, graph: Graph) -> None:
        self._taken |= {t.name for t in graph.tasks} | {c.name for c in graph.conditions}
        for task in graph.tasks:
            for branch in task.branches or ():
                self._add(branch)

    def fresh(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self._taken:
            name, n = f"{wanted} ({n})", n + 1
        self._taken.add(name)
        return name


@dataclass
class _Context:
    catalog: Catalog
    flow_id: str
    version: int
    names: _Names


# ---- a graph: the flow, or a branch -------------------------------------------------------


@dataclass
class _Ends:
    """The terminal states one graph uses, made on demand."""

    succeed: str | None = None
    failed: dict[str, str] = field(default_factory=dict)  # task → "<task> failed"
    fail_after: dict[str, str] = field(default_factory=dict)  # task → "Fail after <task>"
    succeed_after: dict[str, str] = field(default_factory=dict)


class _GraphUnit:
    def __init__(self, graph: Graph, parent: str | None, context: _Context) -> None:
        self.graph = graph
        self.parent = parent  # the parallel task a branch belongs to
        self.context = context
        self.names = context.names
        self.order = list(_in_order(graph))
        self.ends = _Ends()
        self.entries: dict[str, str] = {}
        self.choice: dict[str, str] = {}
        for task in self.order:
            condition = graph.condition_for(task.name)
            if task.for_each is not None:
                self.entries[task.name] = self.names.fresh(f"{task.name} items?")
            if condition is not None:
                self.choice[task.name] = condition.name
            elif task.task_type in ("task", "approval") and task.for_each is None:
                self.choice[task.name] = self.names.fresh(after_state_name(task.name))

    @property
    def branch(self) -> Branch | None:
        return self.graph if isinstance(self.graph, Branch) else None

    def entry(self, task: str) -> str:
        """The state a transition to `task` goes to (a for_each task's guard first)."""
        return self.entries.get(task, task)

    def states(self) -> dict[str, State]:
        states: dict[str, State] = {}
        for task in self.order:
            states.update(self._task(task))
        states.update(self._terminal_states())
        return states

    def _task(self, task: Task) -> dict[str, State]:
        kind = task.task_type
        if kind == "wait":
            return _wait(self, task)
        if kind == "parallel":
            return _parallel(self, task)
        if task.for_each is not None:
            return _for_each(self, task)
        states = {task.name: _invoke(self, task)}
        states[self.choice[task.name]] = _choice(self, task)
        return states

    # ---- where a construct goes --------------------------------------------------------

    def routes(self, task: Task) -> tuple[str, str]:
        """(after a success, after a failure) for a construct that routes by itself:
        straight to the targets, or to its condition's Choice when it has cases."""
        condition = self.graph.condition_for(task.name)
        if condition is not None and condition.cases:
            return condition.name, condition.name
        on_success, on_failure = _targets(condition)
        return (
            self.target(on_success, task.name, succeeded=True),
            self.target(on_failure, task.name, succeeded=False),
        )

    def target(self, target: str, source: str, *, succeeded: bool) -> str:
        """The state a target names: a task's entry, or a terminal state."""
        if target == FAIL:
            if source not in self.ends.fail_after:
                self.ends.fail_after[source] = self.names.fresh(f"Fail after {source}")
            return self.ends.fail_after[source]
        if target == SUCCEED:
            if source not in self.ends.succeed_after:
                self.ends.succeed_after[source] = self.names.fresh(f"Succeed after {source}")
            return self.ends.succeed_after[source]
        if target != END:
            return self.entry(target)
        if succeeded:
            if self.ends.succeed is None:
                wanted = SUCCEED_STATE if self.branch is None else f"{self.branch.name} completed"
                self.ends.succeed = self.names.fresh(wanted)
            return self.ends.succeed
        if source not in self.ends.failed:
            self.ends.failed[source] = self.names.fresh(failed_state_name(source))
        return self.ends.failed[source]

    def _terminal_states(self) -> dict[str, State]:
        states: dict[str, State] = {}
        where = "" if self.branch is None else f"Branch '{self.branch.name}' of '{self.parent}': "
        # A branch hands its results to the parallel task, which merges them.
        output = {} if self.branch is None else {"OutputPath": "$.results"}
        if self.ends.succeed is not None:
            comment = "The last task succeeded." if self.branch is None else "The branch is done."
            states[self.ends.succeed] = {"Type": "Succeed", "Comment": comment, **output}
        for task in self.order:
            if task.name in self.ends.failed:
                states[self.ends.failed[task.name]] = {
                    "Type": "Fail",
                    "Comment": f"The flow ends after {task.name} failed.",
                    "Error": "TaskFailed",
                    "Cause": f"{where}Task '{task.name}' failed; its result is "
                    f"results.{task.name}.",
                }
        for task in self.order:
            condition = self.graph.condition_for(task.name)
            if task.name in self.ends.fail_after:
                states[self.ends.fail_after[task.name]] = {
                    "Type": "Fail",
                    "Comment": f"A condition sent the flow to 'fail' after {task.name}.",
                    "Error": FLOW_FAILED,
                    "Cause": f"{where}Condition '{condition.name if condition else ''}' "
                    f"ended the flow with 'fail' after task '{task.name}'.",
                }
            if task.name in self.ends.succeed_after:
                states[self.ends.succeed_after[task.name]] = {
                    "Type": "Succeed",
                    "Comment": f"A condition sent the flow to 'succeed' after {task.name}.",
                    **output,
                }
        return states


def _in_order(graph: Graph) -> Iterator[Task]:
    """Tasks in breadth-first order from start_task: the console lists states that way.
    A task no path reaches is a validation warning: it is left out (DESIGN §3)."""
    seen: set[str] = set()
    queue = [graph.start_task]
    by_name = {t.name: t for t in graph.tasks}
    while queue:
        name = queue.pop(0)
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        yield by_name[name]
        condition = graph.condition_for(name)
        if condition is not None:
            queue += [c.target for c in condition.cases or ()]
            queue += [condition.target_task_success, condition.target_task_failure]


def _targets(condition: Condition | None) -> tuple[str, str]:
    """(target after a success, target after a failure) of a task's condition."""
    if condition is None:
        return END, END
    if condition.outcome == "success":
        return condition.target_task_success, condition.target_task_failure
    return condition.target_task_failure, condition.target_task_success


# ---- a task: Task (lambda:invoke) -----------------------------------------------------------


def _retry(task: Task) -> list[dict[str, Any]]:
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


def _payload(unit: _GraphUnit, task: Task, source: str = "$") -> dict[str, Any]:
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


_RESULT_SELECTOR = {
    "status.$": "$.Payload.status",
    "data.$": "$.Payload.data",
    "error.$": "$.Payload.error",
}


def _invoke(unit: _GraphUnit, task: Task) -> State:
    """A task or an approval: its Task state, caught into its result, then its Choice."""
    approval = task.task_type == "approval"
    payload = _payload(unit, task)
    if approval:
        timeout = task.timeout_seconds or DEFAULT_APPROVAL_TIMEOUT_SECONDS
        payload |= {"task_token.$": "$$.Task.Token", "timeout_seconds": timeout}
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
        state["ResultSelector"] = dict(_RESULT_SELECTOR)
    state["ResultPath"] = result_path(task.name)
    if task.timeout_seconds is not None and not approval:
        state["TimeoutSeconds"] = task.timeout_seconds
    state["Retry"] = _retry(task) if not approval else _retry(task)[:1]
    choice = unit.choice[task.name]
    state["Catch"] = [
        {"ErrorEquals": ["States.ALL"], "ResultPath": result_path(task.name), "Next": choice}
    ]
    state["Next"] = choice
    return state


def _choice(unit: _GraphUnit, task: Task) -> State:
    """After `task`: its condition's cases, then its outcome (DESIGN §3.1, §4.3), or the end.

    `$.results.<task>.status` is absent when the Catch stored {Error, Cause}: the task
    raised, timed out or crashed, which is a failure. The first rule tests presence so
    the equality test never reads a missing path (a runtime error in Step Functions).
    """
    status = f"{result_path(task.name)}.status"
    condition = unit.graph.condition_for(task.name)
    on_success, on_failure = _targets(condition)
    if condition is None:
        comment = f"{task.name} has no condition: the flow ends here."
    else:
        comment = condition.description or (
            f"{task.name} succeeded?" if condition.outcome == "success" else f"{task.name} failed?"
        )
    success_next = unit.target(on_success, task.name, succeeded=True)
    failure_next = unit.target(on_failure, task.name, succeeded=False)
    succeeded: dict[str, Any] = {"Variable": status, "StringEquals": "success"}
    cases = _cases(unit, task, condition) if condition is not None else []
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


def _cases(
    unit: _GraphUnit, task: Task, condition: Condition
) -> list[tuple[str, dict[str, Any], str]]:
    """(Comment, rule, Next) per case, in order: the Comment is its description or when."""
    found = []
    for case in condition.cases or ():
        rule = expressions.compile_rule(expressions.parse(case.when), result_path, task.name)
        # Cases are tested when the status equals the outcome: that is how the task ended.
        target = unit.target(case.target, task.name, succeeded=condition.outcome == "success")
        found.append((case.description or case.when, rule, target))
    return found


def _case_choice(unit: _GraphUnit, task: Task) -> dict[str, State]:
    """The Choice of a wait, for_each or parallel task whose condition has cases."""
    condition = unit.graph.condition_for(task.name)
    if condition is None or not condition.cases:
        return {}
    return {condition.name: _choice(unit, task)}


# ---- a wait task: Wait ----------------------------------------------------------------------


def _wait(unit: _GraphUnit, task: Task) -> dict[str, State]:
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
        on_success, _ = _targets(condition)
        state["Next"] = unit.target(on_success, task.name, succeeded=True)
        return {task.name: state}
    # No result to test a status on: the cases, then the success target.
    state["Next"] = condition.name
    choice: State = {
        "Type": "Choice",
        "Comment": condition.description or f"after {task.name}",
        "Choices": [
            {"Comment": c, **rule, "Next": n} for c, rule, n in _cases(unit, task, condition)
        ],
        "Default": unit.target(condition.target_task_success, task.name, succeeded=True),
    }
    return {task.name: state, condition.name: choice}


# ---- a for_each task: guard Choice + Map ----------------------------------------------------


def _for_each(unit: _GraphUnit, task: Task) -> dict[str, State]:
    assert task.for_each is not None
    items = expressions.json_path(expressions.parse_path(task.for_each), result_path)
    guard = unit.entry(task.name)
    missing = unit.names.fresh(f"{task.name} has no items")
    on_success, on_failure = unit.routes(task)
    item_task, item_check = (unit.names.fresh(f"{task.name} item{s}") for s in ("", " ok?"))
    item_done, item_failed, item_raised = (
        unit.names.fresh(f"{task.name} item {s}") for s in ("done", "failed", "raised")
    )
    is_array_like = [
        {"Variable": items, "IsPresent": True},
        *({"Not": {"Variable": items, test: True}} for test in _SCALAR_TESTS),
    ]
    payload = _payload(unit, task) | {"item.$": "$.item", "index.$": "$.index"}
    item_state: State = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": unit.context.catalog[task.kind], "Payload": payload},
        "ResultSelector": dict(_RESULT_SELECTOR),
        "ResultPath": "$.result",
    }
    if task.timeout_seconds is not None:
        item_state["TimeoutSeconds"] = task.timeout_seconds
    item_state |= {
        "Retry": _retry(task),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.result", "Next": item_raised}],
        "Next": item_check,
    }
    processor = {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": item_task,
        "States": {
            item_task: item_state,
            item_check: {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.result.status", "IsPresent": True},
                            {"Variable": "$.result.status", "StringEquals": "success"},
                        ],
                        "Next": item_done,
                    }
                ],
                "Default": item_failed,
            },
            item_done: {"Type": "Succeed", "OutputPath": "$.result"},
            item_failed: {
                "Type": "Fail",
                "Error": ITEM_FAILED,
                "CausePath": "States.Format('item {} failed: {}', $.index, $.result.error)",
            },
            item_raised: {
                "Type": "Fail",
                "Error": ITEM_FAILED,
                "CausePath": "States.Format('item {} raised {}', $.index, $.result.Error)",
            },
        },
    }
    states: dict[str, State] = {
        guard: {
            "Type": "Choice",
            "Comment": f"{task.name} runs once per item of {task.for_each}: is it an array?",
            "Choices": [{"And": is_array_like, "Next": task.name}],
            "Default": missing,
        },
        missing: {
            "Type": "Pass",
            "Result": {
                "status": "failure",
                "data": None,
                "error": f"for_each: {task.for_each} is missing or not an array",
            },
            "ResultPath": result_path(task.name),
            "Next": on_failure,
        },
        task.name: {
            "Type": "Map",
            "Comment": task.description or f"{task.kind} for each item of {task.for_each}",
            "ItemsPath": items,
            "MaxConcurrency": task.max_concurrency or DEFAULT_MAX_CONCURRENCY,
            "ItemSelector": {
                "context.$": "$.context",
                "results.$": "$.results",
                "item.$": "$$.Map.Item.Value",
                "index.$": "$$.Map.Item.Index",
            },
            "ItemProcessor": processor,
            "ResultSelector": {"status": "success", "data.$": "$[*].data", "error": None},
            "ResultPath": result_path(task.name),
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": result_path(task.name),
                    "Next": on_failure,
                }
            ],
            "Next": on_success,
        },
    }
    return states | _case_choice(unit, task)


_SCALAR_TESTS = ("IsString", "IsNumeric", "IsBoolean", "IsNull")


# ---- a parallel task: Parallel + merge Pass -------------------------------------------------


def _parallel(unit: _GraphUnit, task: Task) -> dict[str, State]:
    """Each branch is a sub-flow whose terminal success hands over its results; the
    Parallel state merges them (States.JsonMerge over States.ArrayGetItem: moto reads
    `$[1].results` as a list), and a Pass puts them into `results` with the parallel
    task's own result."""
    on_success, on_failure = unit.routes(task)
    merge = unit.names.fresh(f"{task.name} results")
    branches = []
    for branch in task.branches or ():
        sub = _GraphUnit(branch, task.name, unit.context)
        branch_states = sub.states()
        branches.append(
            {
                "Comment": branch.description or f"Branch '{branch.name}'",
                "StartAt": sub.entry(branch.start_task),
                "States": branch_states,
            }
        )
    merged = "States.ArrayGetItem($, 0)"
    for i in range(1, len(branches)):
        merged = f"States.JsonMerge({merged}, States.ArrayGetItem($, {i}), false)"
    parallel: State = {"Type": "Parallel"}
    if task.description:
        parallel["Comment"] = task.description
    parallel |= {
        "Branches": branches,
        "ResultSelector": {
            "branches.$": merged,
            "own": {task.name: {"status": "success", "data": None, "error": None}},
        },
        "ResultPath": _SCRATCH,
        "Catch": [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": result_path(task.name),
                "Next": on_failure,
            }
        ],
        "Next": merge,
    }
    scratch = _SCRATCH
    return {
        task.name: parallel,
        merge: {
            "Type": "Pass",
            "Comment": f"Every branch task's result, and {task.name}'s own, into results.",
            "Parameters": {
                "context.$": "$.context",
                "results.$": f"States.JsonMerge(States.JsonMerge($.results, {scratch}.branches, "
                f"false), {scratch}.own, false)",
            },
            "Next": on_success,
        },
    } | _case_choice(unit, task)


_SCRATCH = "$.parallel"
"""Where a Parallel state leaves its merged branch results for the Pass after it."""
