"""An execution as a client reads it (DESIGN §7), from what Step Functions recorded.

Step Functions is the source of truth: `DescribeExecution` gives the status, input and
output; `GetExecutionHistory` gives the path. The translator names every Task state
after its task and stores each task's result at `$.results.<task>` (`{status, data,
error}`, or `{Error, Cause}` when the task raised, timed out or crashed), so the
history reads back in the flow's own terms.

Large task data lives in the ResultsBucket and the state holds references
(results_store.py): `expand_offloaded` puts the values back into a report, up to
REPORT_INLINE_BYTES per value and REPORT_INLINE_TOTAL_BYTES / REPORT_MAX_FETCHES per
report (a GET must answer within API Gateway's 29 s); a value beyond them reads
`{"offloaded": true, "bytes", "ref", "url"}` with a presigned link to the stored data.

An execution that Step Functions ended while a task was in flight (States.DataLimitExceeded,
a timeout of the whole execution, any execution-level failure) never records that task's
exit: the report shows the task as `failure` with the execution's error, not `running`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field, JsonValue

from flow_manager.results_store import Reference, flow_prefix, references
from flow_manager.trace import ItemCounts, PathStep, decision_path
from flow_manager.translator.common import ITEM_FAILED, NO_ITEMS, NO_SECONDS

if TYPE_CHECKING:
    from flow_manager.model import Flow, Task

ExecutionStatus = Literal["running", "completed", "failed", "aborted", "timed_out"]

STATUS_OF: Mapping[str, ExecutionStatus] = {
    "RUNNING": "running",
    "SUCCEEDED": "completed",
    "FAILED": "failed",
    "ABORTED": "aborted",
    "TIMED_OUT": "timed_out",
    "PENDING_REDRIVE": "failed",  # a failed execution that may be redriven
}
SFN_STATUS_OF: Mapping[ExecutionStatus, str] = {
    "running": "RUNNING",
    "completed": "SUCCEEDED",
    "failed": "FAILED",
    "aborted": "ABORTED",
    "timed_out": "TIMED_OUT",
}


REPORT_INLINE_BYTES = 64 * 1024
REPORT_INLINE_TOTAL_BYTES = 1024 * 1024
REPORT_MAX_FETCHES = 50
LINK_EXPIRES_SECONDS = 3600


class ApprovalDecision(BaseModel):
    """How an approval task was decided (POST /executions/{id}/approvals/{task})."""

    approved: bool = Field(description="true: approved (the task succeeded); false: rejected.")
    by: str | None = Field(default=None, description="Who decided.")
    comment: str | None = None
    decided_at: str | None = Field(default=None, description="When, ISO 8601 UTC.")


class TaskReport(BaseModel):
    """One task of the execution: a function, a wait, a for_each, a parallel task (its
    branches' tasks are listed beside it, with `branch`) or an approval."""

    status: Literal["success", "failure", "running"]
    data: JsonValue = None
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    execution_time: float | None = Field(default=None, description="Seconds, started to finished.")
    attempts: int = Field(
        default=0,
        description="How many times the task's Lambda was invoked (for_each: for all its "
        "items; a wait and a parallel task: 0).",
    )
    branch: str | None = Field(
        default=None, description="The parallel branch the task ran in (None: not in a branch)."
    )
    parallel_task: str | None = Field(
        default=None, description="The parallel task whose branch it ran in."
    )
    items: ItemCounts | None = Field(
        default=None,
        description="A for_each task's items: how many, how many succeeded and failed (while "
        "it runs, succeeded + failed are the items done), the first failed index.",
    )
    decision: ApprovalDecision | None = Field(
        default=None, description="An approval task's decision, once decided."
    )


class ExecutionSummary(BaseModel):
    """An execution in a list or just started: who, what, where, how far."""

    execution_id: str
    flow_id: str
    flow_version: int | None = None
    status: ExecutionStatus
    start_time: str | None = None
    end_time: str | None = None
    execution_arn: str
    state_machine_arn: str | None = None
    console_url: str | None = None
    retry_of: str | None = Field(
        default=None, description="The execution this one retries (POST .../retry)."
    )
    retries: list[str] = Field(
        default_factory=list, description="Executions that retry this one, oldest first."
    )


class WaitingFor(BaseModel):
    """An approval task that waits for a decision (POST /executions/{id}/approvals/{task})."""

    task: str
    since: str | None = Field(default=None, description="When the task started waiting.")
    expires_at: str | None = Field(
        default=None, description="When it fails with States.Timeout if nobody decides."
    )
    message: str | None = Field(default=None, description="The task's parameters.message.")


class ExecutionReport(ExecutionSummary):
    """An execution: its status, path, and every task's result, timing and attempts."""

    current_task: str | None = Field(
        default=None,
        description="The task that runs (the first of `current_tasks`); None once ended.",
    )
    current_tasks: list[str] = Field(
        default_factory=list,
        description="Every task that runs, in the order they began: several while parallel "
        "branches run side by side (a branch's task, not its parallel task).",
    )
    waiting_for: WaitingFor | None = Field(
        default=None, description="The approval the execution waits for, while it waits."
    )
    failed_task: str | None = None
    executed_tasks: list[str] = Field(default_factory=list)
    path: list[PathStep] = Field(
        default_factory=list,
        description="Why it went where it went: each step's task, status, attempts, the "
        "condition and case that decided (its `when`), and `next` (DESIGN §4.8).",
    )
    task_results: dict[str, TaskReport] = Field(default_factory=dict)
    context: JsonValue = None
    output: JsonValue = None
    error: str | None = Field(default=None, description="Why a failed execution failed.")
    cause: str | None = None


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z, as the seeds show times."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_report(
    summary: ExecutionSummary,
    described: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    flow: Flow | None = None,
) -> ExecutionReport:
    """The report of one execution: `summary` says which, the rest says what happened;
    `flow` (the version it ran) gives the decision trace.

    `events` may come without their data (inputs and outputs) except the newest ones:
    a finished task whose exit has no output takes its result from the newest state
    exit that has one, whose `results` holds every task finished by then."""
    status = STATUS_OF.get(str(described.get("status")), "running")
    tasks = _TaskTrail(_shape(flow))
    for event in sorted(events, key=lambda e: int(e.get("id", 0))):
        tasks.read(event)
    latest = _latest_state(events)
    if latest is not None and isinstance(latest.get("results"), dict):
        tasks.fill(latest["results"])
    error, cause = described.get("error"), described.get("cause")
    for event in events:  # AWS puts the failure in the history; moto also in describe
        details = event.get("executionFailedEventDetails") or event.get(
            "executionTimedOutEventDetails"
        )
        if details:
            error, cause = details.get("error", error), details.get("cause", cause)
    results = tasks.results()
    running = tasks.running
    current = tasks.current if status == "running" else []
    if status != "running":
        # The execution ended inside tasks (e.g. States.DataLimitExceeded): they failed
        # with the execution's error, they are not running any more.
        for name in running:
            results[name] = results[name].model_copy(
                update={
                    "status": "failure",
                    "error": _joined(error, cause) or f"the execution ended {status}",
                    "finished_at": iso(described.get("stopDate")),
                }
            )
    failed_task = None
    if status == "failed" and tasks.order:
        # The failure that ended last (a parallel task ends after its branch's task).
        ended = {n: tasks.runs[n].exited or 1 << 62 for n in tasks.order}
        failures = [
            t for t in tasks.order if results[t].status == "failure" and tasks.stopped_by(t) is None
        ]
        failed_task = max(failures, key=lambda t: ended[t]) if failures else tasks.order[-1]
    return ExecutionReport(
        **{
            **summary.model_dump(),
            "status": status,
            "start_time": iso(described.get("startDate")) or summary.start_time,
            "end_time": iso(described.get("stopDate")),
        },
        current_task=current[0] if current else None,
        current_tasks=current,
        waiting_for=waiting_approval(events) if status == "running" else None,
        failed_task=failed_task,
        executed_tasks=list(tasks.order),
        path=decision_path(flow, events, running=status == "running") if flow else [],
        task_results=results,
        context=_context(_json(described.get("input"))),
        output=_json(described.get("output")),
        error=error,
        cause=cause,
    )


# ---- approvals ------------------------------------------------------------------------

WAIT_FOR_TOKEN = ".waitForTaskToken"
_CALL_ENDED = frozenset(
    {
        "TaskSucceeded",
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "TaskStateExited",
    }
)


def waiting_approval(events: Sequence[Mapping[str, Any]]) -> WaitingFor | None:
    """The task whose `.waitForTaskToken` call is submitted and not yet over, from the
    history alone: its TaskScheduled gives the start and the timeout, the payload the
    message. Only approval tasks use the callback pattern (DESIGN §3.1).

    Waiting starts at TaskSubmitted, not TaskScheduled: the ApprovalFunction records
    the token before it returns, so only then can the approval route decide it (a
    report that said "waiting" earlier sent clients to a 409)."""
    waiting: WaitingFor | None = None
    scheduled: WaitingFor | None = None
    entered: str | None = None
    for event in sorted(events, key=lambda e: int(e.get("id", 0))):
        kind = event.get("type")
        if kind == "TaskStateEntered":
            entered = event["stateEnteredEventDetails"]["name"]
        elif kind == "TaskScheduled" and entered is not None:
            details = event.get("taskScheduledEventDetails") or {}
            if not str(details.get("resource", "")).endswith(WAIT_FOR_TOKEN):
                continue
            since = event.get("timestamp")
            timeout = details.get("timeoutInSeconds")
            expires = (
                since + timedelta(seconds=int(timeout))
                if isinstance(since, datetime) and isinstance(timeout, int)
                else None
            )
            scheduled = WaitingFor(
                task=entered,
                since=iso(since) if isinstance(since, datetime) else None,
                expires_at=iso(expires),
                message=_message(details.get("parameters")),
            )
        elif kind == "TaskSubmitted" and scheduled is not None:
            waiting, scheduled = scheduled, None
        elif kind in _CALL_ENDED:
            waiting = scheduled = None
    return waiting


def _message(parameters: object) -> str | None:
    scheduled = _json(parameters)
    payload = scheduled.get("Payload") if isinstance(scheduled, dict) else None
    task_parameters = payload.get("parameters") if isinstance(payload, dict) else None
    message = task_parameters.get("message") if isinstance(task_parameters, dict) else None
    return message if isinstance(message, str) else None


def _latest_state(events: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    exits = [
        (int(event.get("id", 0)), details["output"])
        for event in events
        if isinstance(details := event.get("stateExitedEventDetails"), Mapping)
        and isinstance(details.get("output"), str)
    ]
    state = _json(max(exits)[1]) if exits else None
    return state if isinstance(state, dict) else None


def _joined(error: object, cause: object) -> str | None:
    if not error:
        return str(cause) if cause else None
    return f"{error}: {cause}" if cause else str(error)


class OffloadedReader(Protocol):
    """What expand_offloaded needs of the ResultsBucket (results_store.ResultsStore)."""

    bucket: str

    def resolve(self, ref: Reference) -> Any: ...

    def presigned_url(self, ref: Reference, expires_seconds: int) -> str: ...


def expand_offloaded(report: ExecutionReport, reader: OffloadedReader) -> ExecutionReport:
    """The report with offloaded values read back, or linked when too large (see top)."""
    prefix = flow_prefix(report.flow_id)
    budget = REPORT_INLINE_TOTAL_BYTES
    fetched: set[str] = set()
    changed: dict[str, TaskReport] = {}
    for name, result in report.task_results.items():
        found = references(result.data, reader.bucket, prefix)
        if not found:
            continue
        data: Any = result.data
        for key, ref in found:
            fits = ref.size <= min(REPORT_INLINE_BYTES, budget)
            if fits and (ref.key in fetched or len(fetched) < REPORT_MAX_FETCHES):
                try:
                    value = reader.resolve(ref)
                except Exception as exc:  # expired by the lifecycle rule, or deleted
                    value = _offloaded(ref, reader, f"cannot read it: {type(exc).__name__}")
                else:
                    budget -= ref.size
                    fetched.add(ref.key)
            else:
                value = _offloaded(ref, reader, None)
            data = value if key is None else {**data, key: value}
        changed[name] = result.model_copy(update={"data": data})
    if not changed:
        return report
    return report.model_copy(update={"task_results": {**report.task_results, **changed}})


def _offloaded(ref: Reference, reader: OffloadedReader, problem: str | None) -> dict[str, Any]:
    marker: dict[str, Any] = {"offloaded": True, "bytes": ref.size, "ref": ref.uri}
    try:
        marker["url"] = reader.presigned_url(ref, LINK_EXPIRES_SECONDS)
    except Exception as exc:  # signing is local; without credentials there is no link
        marker["url"] = None
        problem = problem or f"no link: {type(exc).__name__}"
    if problem:
        marker["error"] = problem
    return marker


def task_error(result: Mapping[str, Any]) -> str:
    """`{Error, Cause}` as one line: Lambda's cause is JSON with the exception's message."""
    name = str(result.get("Error") or "Error")
    cause = result.get("Cause")
    message = cause
    if isinstance(cause, str):
        parsed = _json(cause)
        if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
            message = parsed["errorMessage"]
    return f"{name}: {message}" if message else name


_TASK_STATES = ("Task", "Wait", "Map", "Parallel")  # the states named after a task (§5)


def _guard_failed(name: str) -> str | None:
    """The task whose guard's failure Pass `name` is, if it is one."""
    for suffix in (NO_ITEMS, NO_SECONDS):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


@dataclass(frozen=True)
class _Shape:
    """What the flow says of its tasks: kind, for_each path, and the branch each is in."""

    kinds: Mapping[str, str]
    for_each: Mapping[str, str]
    branch: Mapping[str, tuple[str, str]]  # task → (branch, parallel task)


def _shape(flow: Flow | None) -> _Shape | None:
    if flow is None:
        return None
    kinds: dict[str, str] = {}
    for_each: dict[str, str] = {}
    branch: dict[str, tuple[str, str]] = {}

    def walk(tasks: Sequence[Task], where: tuple[str, str] | None) -> None:
        for task in tasks:
            kinds[task.name] = task.task_type
            if task.for_each is not None:
                for_each[task.name] = task.for_each
            if where is not None:
                branch[task.name] = where
            for sub in task.branches or ():
                walk(sub.tasks, (sub.name, task.name))

    walk(flow.tasks, None)
    return _Shape(kinds, for_each, branch)


@dataclass
class _Run:
    """One task as the history tells it."""

    state: str  # the state type: Task, Wait, Map, Parallel (or Pass: a for_each's no items)
    entered: int
    started: datetime | None = None
    finished: datetime | None = None
    exited: int | None = None
    attempts: int = 0
    result: Any = None
    has_result: bool = False
    callback: bool = False  # its Lambda call waits for a task token: an approval
    total: int | None = None
    succeeded: int = 0
    failed: set[int] = dc_field(default_factory=set)


class _TaskTrail:
    """Walks the history once: which tasks ran in which order, when, how often, and how.

    Events belong to the task whose state caused them (`previousEventId` chains, inside
    parallel branches and Map iterations too; without ids, the task entered last): so a
    TaskScheduled counts for its own task while branches run side by side, and the
    states inside a for_each's items count for the for_each task."""

    def __init__(self, shape: _Shape | None = None) -> None:
        self.shape = shape
        self.order: list[str] = []
        self.runs: dict[str, _Run] = {}
        self._owner: dict[int, str] = {}
        self._last: str | None = None
        self._parent: dict[str, str] = {}  # a branch task → its parallel task
        self._previous = 0

    @property
    def running(self) -> list[str]:
        """Tasks entered and not exited, in the order they began (not those a parallel
        task stopped when another branch failed)."""
        return [
            name
            for name in self.order
            if self.runs[name].exited is None and self.stopped_by(name) is None
        ]

    def stopped_by(self, name: str) -> str | None:
        """The parallel task that ended while `name`, inside it, had not: Step Functions
        stops every branch when one fails, and the stopped tasks never record an exit."""
        if self.runs[name].exited is not None:
            return None
        parallel = self._parallel_of(name)
        seen: set[str] = set()
        while parallel is not None and parallel not in seen:
            seen.add(parallel)
            run = self.runs.get(parallel)
            if run is not None and run.exited is not None:
                return parallel
            parallel = self._parallel_of(parallel)
        return None

    @property
    def current(self) -> list[str]:
        """The running tasks that do the work: a parallel task only while none of its
        branches' tasks runs (between them, or before the first)."""
        running = self.running
        busy = {self._parallel_of(name) for name in running}
        return [name for name in running if name not in busy]

    def _parallel_of(self, name: str) -> str | None:
        if self.shape is not None:
            where = self.shape.branch.get(name)
            return where[1] if where else None
        return self._parent.get(name)

    def read(self, event: Mapping[str, Any]) -> None:
        kind = str(event.get("type", ""))
        event_id = int(event.get("id", 0))
        previous = self._previous = int(event.get("previousEventId") or 0)
        owner = self._owner.get(previous, self._last)
        when = event.get("timestamp")
        entered = event.get("stateEnteredEventDetails")
        if kind.endswith("StateEntered") and isinstance(entered, Mapping):
            task = self._task_of(str(entered.get("name")), kind[: -len("StateEntered")], owner)
            if task is not None:
                self._enter(task, kind[: -len("StateEntered")], event_id, when)
                self._owner[event_id] = self._last = task
                return
        if owner is not None:
            self._owner[event_id] = owner
        run = self.runs.get(owner) if owner is not None else None
        exited = event.get("stateExitedEventDetails")
        if kind.endswith("StateExited") and isinstance(exited, Mapping):
            name = str(exited.get("name"))
            task = _guard_failed(name) or name
            run = self.runs.get(task)
            # A for_each's "no items" Pass ends it, after its guard or after its Map.
            if run is not None and (run.exited is None or name != task):
                self._exit(task, event_id, when, exited.get("output"))
        elif kind == "TaskScheduled" and run is not None:
            run.attempts += 1
            details = event.get("taskScheduledEventDetails") or {}
            if str(details.get("resource", "")).endswith(WAIT_FOR_TOKEN):
                run.callback = True
        elif kind == "MapStateStarted" and run is not None and run.state == "Map":
            length = (event.get("mapStateStartedEventDetails") or {}).get("length")
            run.total = length if isinstance(length, int) else None
        elif kind in ("MapIterationSucceeded", "MapIterationFailed"):
            details = event.get(f"{kind[0].lower()}{kind[1:]}EventDetails") or {}
            map_run = self.runs.get(str(details.get("name")))
            if map_run is not None and kind == "MapIterationSucceeded":
                map_run.succeeded += 1
            elif map_run is not None and isinstance(details.get("index"), int):
                map_run.failed.add(details["index"])

    def _task_of(self, name: str, state: str, owner: str | None) -> str | None:
        """The task a state entered begins, if it begins one."""
        guarded = _guard_failed(name) if state == "Pass" else None
        if guarded is not None:
            known = self.shape is None or (
                guarded in self.shape.for_each
                if name.endswith(NO_ITEMS)
                else self.shape.kinds.get(guarded) == "wait"
            )
            return guarded if known and guarded not in self.runs else None
        if state not in _TASK_STATES:
            return None
        if self.shape is not None:
            return name if name in self.shape.kinds else None
        # Without the flow: a state inside a running for_each's items is not a task.
        around = self.runs.get(owner) if owner is not None else None
        if around is not None and around.state == "Map" and around.exited is None:
            return None
        return name

    def _enter(self, task: str, state: str, event_id: int, when: object) -> None:
        if task not in self.runs:
            self.order.append(task)
        parent = self._running_parallel(self._owner.get(self._previous, self._last))
        if parent is not None:
            self._parent[task] = parent
        self.runs[task] = _Run(
            state=state, entered=event_id, started=when if isinstance(when, datetime) else None
        )

    def _running_parallel(self, owner: str | None) -> str | None:
        """The parallel task running around a state whose cause belongs to `owner`."""
        seen: set[str] = set()
        while owner is not None and owner in self.runs and owner not in seen:
            seen.add(owner)
            run = self.runs[owner]
            if run.state == "Parallel" and run.exited is None:
                return owner
            owner = self._parent.get(owner)
        return None

    def _exit(self, task: str, event_id: int, when: object, output: object) -> None:
        run = self.runs[task]
        run.exited = event_id
        run.finished = when if isinstance(when, datetime) else None
        state = _json(output)
        if isinstance(state, dict) and isinstance(state.get("results"), dict):
            run.result = state["results"].get(task)
            run.has_result = task in state["results"]
        else:  # no data: filled from the latest state
            run.result, run.has_result = None, False

    def fill(self, results: Mapping[str, Any]) -> None:
        """Results of finished tasks whose exit event came without its output."""
        for name, run in self.runs.items():
            if run.exited is not None and not run.has_result and name in results:
                run.result, run.has_result = results[name], True

    def results(self) -> dict[str, TaskReport]:
        reports: dict[str, TaskReport] = {}
        for name in self.order:
            run = self.runs[name]
            started, finished = run.started, run.finished
            stopped_by = self.stopped_by(name)
            if stopped_by is not None:
                finished = self.runs[stopped_by].finished
            where = self.shape.branch.get(name) if self.shape is not None else None
            reports[name] = TaskReport(
                **self._outcome(name, run),
                started_at=iso(started),
                finished_at=iso(finished),
                execution_time=(
                    round((finished - started).total_seconds(), 3)
                    if started is not None and finished is not None
                    else None
                ),
                attempts=run.attempts,
                branch=where[0] if where else None,
                parallel_task=where[1] if where else None,
                items=self._items(name, run),
            )
        return reports

    def _items(self, name: str, run: _Run) -> ItemCounts | None:
        for_each = name in self.shape.for_each if self.shape is not None else run.state == "Map"
        if not for_each:
            return None
        if run.state != "Map":  # the guard found no array: no item ran
            return ItemCounts(total=None)
        return ItemCounts(
            total=run.total,
            succeeded=run.succeeded,
            failed=len(run.failed),
            first_failed_index=min(run.failed) if run.failed else None,
        )

    def _outcome(self, name: str, run: _Run) -> dict[str, Any]:
        stopped_by = self.stopped_by(name)
        if stopped_by is not None:
            return {
                "status": "failure",
                "error": f"stopped: the parallel task '{stopped_by}' ended before it finished",
            }
        if run.exited is None:
            return {"status": "running"}
        if run.state == "Wait":
            return {"status": "success"}  # a wait always succeeds (§3.1), it has no result
        result = run.result
        if isinstance(result, dict) and result.get("status") in ("success", "failure"):
            error = result.get("error")
            outcome = {
                "status": result["status"],
                "data": result.get("data"),
                "error": error if isinstance(error, str) or error is None else str(error),
            }
            if run.callback:
                outcome["decision"] = _decision(result.get("data"))
            return outcome
        if isinstance(result, dict) and "Error" in result:
            return {"status": "failure", "error": self._error(name, run, result)}
        # The state's output was truncated or not recorded: the outcome is unknown.
        return {"status": "failure", "error": "the task's result is not in the history"}

    def _error(self, name: str, run: _Run, result: Mapping[str, Any]) -> str:
        text = task_error(result)
        path = self.shape.for_each.get(name) if self.shape is not None else None
        if run.state == "Map" and run.total is None and result.get("Error") != ITEM_FAILED:
            # The Map could not read its items: the guard rules out what a Choice can test
            # (missing, string, number, boolean, null) but ASL cannot tell an object from
            # an array, so an object reaches the Map and fails it.
            return f"for_each: {path or 'its path'} is not an array (an object?): {text}"
        return text


def _decision(data: object) -> ApprovalDecision | None:
    if not isinstance(data, dict) or not isinstance(data.get("approved"), bool):
        return None
    try:
        return ApprovalDecision.model_validate(data)
    except ValueError:
        return None


RESUME_KEY = "flow_manager_resume"  # = translator.RESUME_KEY (DESIGN §5)


def _context(execution_input: Any) -> Any:
    """A retry's input is the resume envelope: its context is the one inside."""
    if isinstance(execution_input, dict) and isinstance(execution_input.get(RESUME_KEY), dict):
        return execution_input[RESUME_KEY].get("context")
    return execution_input


def _json(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
