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
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field, JsonValue

from flow_manager.results_store import Reference, flow_prefix, references
from flow_manager.trace import PathStep, decision_path

if TYPE_CHECKING:
    from flow_manager.model import Flow

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


class TaskReport(BaseModel):
    status: Literal["success", "failure", "running"]
    data: JsonValue = None
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    execution_time: float | None = Field(default=None, description="Seconds, started to finished.")
    attempts: int = Field(default=0, description="How many times the task's Lambda was invoked.")


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

    current_task: str | None = None
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
    tasks = _TaskTrail()
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
    if status != "running" and tasks.current is not None:
        # The execution ended inside a task (e.g. States.DataLimitExceeded): that task
        # failed with the execution's error, it is not running any more.
        results[tasks.current] = results[tasks.current].model_copy(
            update={
                "status": "failure",
                "error": _joined(error, cause) or f"the execution ended {status}",
                "finished_at": iso(described.get("stopDate")),
            }
        )
    failed_task = None
    if status == "failed" and tasks.order:
        failures = [t for t in tasks.order if results[t].status == "failure"]
        failed_task = failures[-1] if failures else tasks.order[-1]
    return ExecutionReport(
        **{
            **summary.model_dump(),
            "status": status,
            "start_time": iso(described.get("startDate")) or summary.start_time,
            "end_time": iso(described.get("stopDate")),
        },
        current_task=tasks.current if status == "running" else None,
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


class _TaskTrail:
    """Walks the history once: which tasks ran in which order, when, how often, and how."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.current: str | None = None
        self._started: dict[str, datetime] = {}
        self._finished: dict[str, datetime] = {}
        self._attempts: dict[str, int] = {}
        self._results: dict[str, Any] = {}

    def read(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        when = event.get("timestamp")
        if kind == "TaskStateEntered":
            name = event["stateEnteredEventDetails"]["name"]
            self.order.append(name)
            self.current = name
            if isinstance(when, datetime):
                self._started[name] = when
            self._attempts[name] = 0
        elif kind == "TaskScheduled" and self.current is not None:
            # One state runs at a time in a flow: a schedule belongs to the task entered last.
            self._attempts[self.current] += 1
        elif kind == "TaskStateExited":
            details = event["stateExitedEventDetails"]
            name = details["name"]
            if isinstance(when, datetime):
                self._finished[name] = when
            state = _json(details.get("output"))
            if isinstance(state, dict) and isinstance(state.get("results"), dict):
                self._results[name] = state["results"].get(name)
            else:
                self._results.pop(name, None)  # filled from the latest state
            self.current = None

    def fill(self, results: Mapping[str, Any]) -> None:
        """Results of finished tasks whose exit event came without its output."""
        for name in self._finished:
            if name not in self._results and name in results:
                self._results[name] = results[name]

    def results(self) -> dict[str, TaskReport]:
        reports: dict[str, TaskReport] = {}
        for name in self.order:
            started, finished = self._started.get(name), self._finished.get(name)
            timing: dict[str, Any] = {
                "started_at": iso(started),
                "finished_at": iso(finished),
                "execution_time": (
                    round((finished - started).total_seconds(), 3)
                    if started is not None and finished is not None
                    else None
                ),
                "attempts": self._attempts.get(name, 0),
            }
            reports[name] = TaskReport(**self._outcome(name, finished is not None), **timing)
        return reports

    def _outcome(self, name: str, finished: bool) -> dict[str, Any]:
        if not finished:
            return {"status": "running"}
        result = self._results.get(name)
        if isinstance(result, dict) and result.get("status") in ("success", "failure"):
            error = result.get("error")
            return {
                "status": result["status"],
                "data": result.get("data"),
                "error": error if isinstance(error, str) or error is None else str(error),
            }
        if isinstance(result, dict) and "Error" in result:
            return {"status": "failure", "error": task_error(result)}
        # The state's output was truncated or not recorded: the outcome is unknown.
        return {"status": "failure", "error": "the task's result is not in the history"}


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
