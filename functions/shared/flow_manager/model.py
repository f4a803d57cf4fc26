"""The flow language (DESIGN §3) and the task contract (DESIGN §4) as Pydantic models.

The models describe *shape*: types, ranges, patterns and unknown fields. Rules that
relate one part of a flow to another (references, reachability, cycles, the catalog)
live in `validation`, which reports every problem at once with its location.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

END = "end"
"""The reserved target that ends a flow (completed or failed as its last task went)."""
FAIL = "fail"
"""The reserved target that ends a flow failed, whatever its last task did."""
SUCCEED = "succeed"
"""The reserved target that ends a flow completed, whatever its last task did."""
TERMINALS = (END, FAIL, SUCCEED)

MAX_TASKS = 500
MAX_TASK_TIMEOUT_SECONDS = 900
MAX_FLOW_TIMEOUT_SECONDS = 31_536_000  # a year: Step Functions' STANDARD maximum
MAX_EXPRESS_TIMEOUT_SECONDS = 300  # Step Functions' EXPRESS maximum
MAX_CONDITION_NAME_LENGTH = 80  # Step Functions' limit on a state name
MAX_PAYLOAD_BYTES = 256 * 1024  # Step Functions' payload limit (context, request body)
MAX_DEFINITION_BYTES = 1024 * 1024  # Step Functions' definition limit
MAX_CASES = 20
MIN_BRANCHES, MAX_BRANCHES = 2, 10
MAX_NESTING = 3  # parallel tasks inside branches, counting the outermost
MAX_CONCURRENCY = 40
DEFAULT_MAX_CONCURRENCY = 10
DEFAULT_APPROVAL_TIMEOUT_SECONDS = 7 * 24 * 3600
MAX_WAIT_SECONDS = MAX_FLOW_TIMEOUT_SECONDS
APPROVAL_KIND = "approval"  # = catalog.APPROVAL_KIND (the model imports nothing of ours)

FLOW_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$"
TASK_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"

FlowId = Annotated[str, StringConstraints(pattern=FLOW_ID_PATTERN)]
TaskName = Annotated[str, StringConstraints(pattern=TASK_NAME_PATTERN)]
Target = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(max_length=2048)]
Outcome = Literal["success", "failure"]
TaskStatus = Literal["success", "failure"]


class _Strict(BaseModel):
    # Unknown fields are errors: a misspelt optional field must not pass silently.
    # Strict: "30" is not a number of seconds; JSON has numbers for that.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RetryPolicy(_Strict):
    """Retries for errors a task raises (not for a returned `failure`)."""

    max_attempts: Annotated[int, Field(ge=1, le=10)] = Field(
        description="How many times the task runs at most, the first attempt included."
    )
    interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 1
    backoff_rate: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0


TaskType = Literal["task", "wait", "parallel", "approval"]


class Task(_Strict):
    name: TaskName
    description: Text | None = None
    # None, not "task": a v1 flow's canonical JSON (its content hash and id) must not change.
    type: TaskType | None = Field(
        default=None,
        description="task (the default: runs a function), wait, parallel (branches) or approval.",
    )
    function: TaskName | None = Field(
        default=None, description="Task kind from the catalog; defaults to the task's name."
    )
    parameters: dict[str, JsonValue] | None = None
    timeout_seconds: Annotated[int, Field(ge=1, le=MAX_FLOW_TIMEOUT_SECONDS)] | None = Field(
        default=None,
        description=f"A task: 1..{MAX_TASK_TIMEOUT_SECONDS}. An approval: 1 s..1 year "
        "(default 7 days).",
    )
    retry: RetryPolicy | None = None
    seconds: Annotated[int, Field(ge=0, le=MAX_WAIT_SECONDS)] | None = Field(
        default=None, description="A wait task: how long."
    )
    until: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description='A wait task: until when (RFC 3339, "2026-12-24T09:00:00Z").'
    )
    seconds_from: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        default=None, description="A wait task: the path of a number of seconds."
    )
    for_each: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        default=None, description="Run the function once per item of this array path."
    )
    max_concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] | None = Field(
        default=None, description=f"for_each: items at once (default {DEFAULT_MAX_CONCURRENCY})."
    )
    branches: (
        Annotated[list[Branch], Field(min_length=MIN_BRANCHES, max_length=MAX_BRANCHES)] | None
    ) = Field(default=None, description="A parallel task: its sub-flows.")

    @property
    def task_type(self) -> TaskType:
        return self.type or "task"

    @property
    def kind(self) -> str:
        """The catalog kind the task invokes (wait and parallel tasks invoke none)."""
        if self.type == "approval":
            return APPROVAL_KIND
        return self.function or self.name

    @property
    def invokes(self) -> bool:
        return self.task_type in ("task", "approval")


class Case(_Strict):
    when: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    target: Target
    description: Text | None = None


class Condition(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CONDITION_NAME_LENGTH)]
    description: Text | None = None
    source_task: Target
    outcome: Outcome
    cases: Annotated[list[Case], Field(max_length=MAX_CASES)] | None = None
    target_task_success: Target
    target_task_failure: Target


class _Graph:
    """Tasks and the conditions between them: a flow, or a branch of a parallel task.
    (A mixin, so each model keeps its own field order in documents and the OpenAPI.)"""

    start_task: str
    tasks: list[Task]
    conditions: list[Condition]

    @cached_property
    def _condition_by_source(self) -> dict[str, Condition]:
        # Computed once: the translator asks for every task (O(n²) on 500 tasks otherwise).
        return {c.source_task: c for c in self.conditions}

    def condition_for(self, task_name: str) -> Condition | None:
        return self._condition_by_source.get(task_name)

    def next_task(self, task_name: str, status: TaskStatus) -> str:
        """Where the flow goes after `task_name` ended with `status` (DESIGN §4.3-4.4)."""
        condition = self.condition_for(task_name)
        if condition is None:
            return END
        if status == condition.outcome:
            return condition.target_task_success
        return condition.target_task_failure

    def all_tasks(self) -> Iterator[Task]:
        """Every task, those inside branches included (depth first)."""
        for task in self.tasks:
            yield task
            for branch in task.branches or ():
                yield from branch.all_tasks()


class Branch(_Graph, _Strict):
    name: TaskName
    description: Text | None = None
    start_task: Target
    tasks: Annotated[list[Task], Field(min_length=1, max_length=MAX_TASKS)]
    conditions: list[Condition] = Field(default_factory=list)


class Flow(_Graph, _Strict):
    id: FlowId | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    description: Text | None = None
    type: Literal["STANDARD", "EXPRESS"] = "STANDARD"
    timeout_seconds: Annotated[int, Field(ge=1, le=MAX_FLOW_TIMEOUT_SECONDS)] | None = None
    start_task: Target
    tasks: Annotated[list[Task], Field(min_length=1, max_length=MAX_TASKS)]
    conditions: list[Condition] = Field(default_factory=list)


Task.model_rebuild()


class FlowDocument(_Strict):
    """The canonical request body: `{"flow": {...}}`."""

    flow: Flow


@dataclass(frozen=True)
class PredictedRun:
    """What DESIGN §4 and §3.1 say an execution does, given each task's outcome."""

    status: Literal["completed", "failed"]
    executed_tasks: tuple[str, ...]  # the flow's own (top-level) tasks, in order
    failed_task: str | None
    results: Mapping[str, Any] = field(default_factory=dict)


def predict(
    flow: Flow,
    outcomes: Mapping[str, TaskStatus],
    *,
    data: Mapping[str, Any] | None = None,
    context: Any = None,
) -> PredictedRun:
    """The reference semantics: run `flow` on paper.

    `outcomes[task]` is how each function-running task ends (a for_each task: how every
    item ends); `data[task]` is the data it returns; `context` is the execution's input.
    Wait tasks succeed (a seconds_from wait fails when its value is not a number ≥ 0);
    a parallel task succeeds when every branch completes. A valid
    flow is acyclic, so this ends after at most one visit per task.
    """
    results: dict[str, Any] = {}
    status, path, failed = _predict_graph(flow, outcomes, data or {}, context, results)
    return PredictedRun(status, tuple(path), failed, results)


def _predict_graph(
    graph: _Graph,
    outcomes: Mapping[str, TaskStatus],
    data: Mapping[str, Any],
    context: Any,
    results: dict[str, Any],
) -> tuple[Literal["completed", "failed"], list[str], str | None]:
    from flow_manager import expressions  # the model stays importable on its own

    by_name = {t.name: t for t in graph.tasks}
    path: list[str] = []
    current = graph.start_task
    while True:
        path.append(current)
        task = by_name[current]
        status = _predict_task(task, outcomes, data, context, results)
        condition = graph.condition_for(current)
        following = END
        if condition is not None:
            following = graph.next_task(current, status)
            if status == condition.outcome:
                for case in condition.cases or ():
                    expr = expressions.parse(case.when)
                    if expressions.evaluate(expr, _lookup(current, context, results)):
                        following = case.target
                        break
        if following in TERMINALS:
            failed = following == FAIL or (following == END and status == "failure")
            return ("failed" if failed else "completed"), path, current if failed else None
        current = following


def _predict_task(
    task: Task,
    outcomes: Mapping[str, TaskStatus],
    data: Mapping[str, Any],
    context: Any,
    results: dict[str, Any],
) -> TaskStatus:
    kind = task.task_type
    if kind == "wait":
        if task.seconds_from is None:
            return "success"
        from flow_manager import expressions

        seconds = _lookup(task.name, context, results)(expressions.parse_path(task.seconds_from))
        number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
        if number and seconds >= 0:
            return "success"
        results[task.name] = {"status": "failure", "data": None, "error": "no seconds"}
        return "failure"
    if kind == "parallel":
        merged = dict(results)
        ok = True
        for branch in task.branches or ():
            own = dict(results)
            branch_status, _, _ = _predict_graph(branch, outcomes, data, context, own)
            ok = ok and branch_status == "completed"
            merged.update(own)
        if ok:
            results.update(merged)
            results[task.name] = {"status": "success", "data": None, "error": None}
            return "success"
        results[task.name] = {"Error": "TaskFailed"}
        return "failure"
    status = outcomes[task.name]
    if task.for_each is not None:
        from flow_manager import expressions

        operand = expressions.parse_path(task.for_each)
        items = _lookup(task.name, context, results)(operand)
        if not isinstance(items, list):
            results[task.name] = {"status": "failure", "data": None, "error": "not an array"}
            return "failure"
        if not items:
            status = "success"
        if status == "success":  # a for_each's data is its items' data, in order
            results[task.name] = {
                "status": status,
                "data": [data.get(task.name)] * len(items),
                "error": None,
            }
            return status
        # An item failed: the Map keeps its error and no data (docs/flow-language.md).
        results[task.name] = {"status": "failure", "data": None, "error": "ItemFailed"}
        return "failure"
    results[task.name] = {
        "status": status,
        "data": data.get(task.name),
        "error": None if status == "success" else f"{task.name} failed",
    }
    return status


def _lookup(source: str, context: Any, results: Mapping[str, Any]) -> Any:
    from flow_manager import expressions

    def value_of(operand: expressions.Operand) -> object:
        if operand.root == "context":
            value: Any = context
        else:
            result = results.get(operand.task or source)
            if not isinstance(result, dict):
                return expressions.Missing
            base = operand.base
            if base == "status":
                return result.get("status", "failure")
            if base == "error":
                return result.get("error", result.get("Error", expressions.Missing))
            if "data" not in result:
                return expressions.Missing
            value = result["data"]
        for segment in operand.segments:
            if isinstance(segment, int):
                if not isinstance(value, list) or segment >= len(value):
                    return expressions.Missing
            elif not isinstance(value, dict) or segment not in value:
                return expressions.Missing
            value = value[segment]
        return value

    return value_of


# ---- The task contract (DESIGN §4.2) -------------------------------------------------


class TaskEvent(BaseModel):
    """What a task Lambda receives from the state machine."""

    # Lenient on purpose: newer state machines may send more than this version knows.
    model_config = ConfigDict(extra="ignore", frozen=True)

    flow_id: str
    flow_version: int
    execution_id: str
    task: str
    retry_count: int = 0  # $$.State.RetryCount: 0 on the first attempt
    parameters: dict[str, Any] = Field(default_factory=dict)
    context: Any = None
    results: dict[str, Any] = Field(default_factory=dict)
    # JSON pointers into this task's data that a later for_each iterates: kept in the
    # state rather than offloaded (results_store.skeleton).
    keep_inline: list[str] = Field(default_factory=list)
    # The largest data kept whole in the state (results_store.inline_data_bytes of the
    # flow's size); absent, the least any flow keeps.
    inline_bytes: int | None = None


class TaskResult(BaseModel):
    """What a task Lambda returns; the state machine's Choice states read `status`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: TaskStatus
    data: JsonValue = None
    error: str | None = None
