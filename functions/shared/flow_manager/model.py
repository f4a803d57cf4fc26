"""The flow language (DESIGN §3) and the task contract (DESIGN §4) as Pydantic models.

The models describe *shape*: types, ranges, patterns and unknown fields. Rules that
relate one part of a flow to another (references, reachability, cycles, the catalog)
live in `validation`, which reports every problem at once with its location.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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
APPROVAL_KIND = "approval"
"""The catalog's internal kind of the function that records an approval's task token."""

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
    """What DESIGN §4 says an execution does, given each task's outcome."""

    status: Literal["completed", "failed"]
    executed_tasks: tuple[str, ...]
    failed_task: str | None


def predict(flow: Flow, outcomes: Mapping[str, TaskStatus]) -> PredictedRun:
    """The reference semantics: run `flow` on paper with the given task outcomes.

    A valid flow is acyclic, so this ends after at most one visit per task.
    """
    path: list[str] = []
    current = flow.start_task
    while True:
        path.append(current)
        status = outcomes[current]
        following = flow.next_task(current, status)
        if following == END:
            failed = status == "failure"
            return PredictedRun(
                status="failed" if failed else "completed",
                executed_tasks=tuple(path),
                failed_task=current if failed else None,
            )
        current = following


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


class TaskResult(BaseModel):
    """What a task Lambda returns; the state machine's Choice states read `status`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: TaskStatus
    data: JsonValue = None
    error: str | None = None
