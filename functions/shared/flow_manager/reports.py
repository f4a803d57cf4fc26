"""An execution as a client reads it (DESIGN §7), from what Step Functions recorded.

Step Functions is the source of truth: `DescribeExecution` gives the status, input and
output; `GetExecutionHistory` gives the path. The translator names every Task state
after its task and stores each task's result at `$.results.<task>` (`{status, data,
error}`, or `{Error, Cause}` when the task raised, timed out or crashed), so the
history reads back in the flow's own terms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

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
) -> ExecutionReport:
    """The report of one execution: `summary` says which, the rest says what happened."""
    status = STATUS_OF.get(str(described.get("status")), "running")
    tasks = _TaskTrail()
    for event in sorted(events, key=lambda e: int(e.get("id", 0))):
        tasks.read(event)
    error, cause = described.get("error"), described.get("cause")
    for event in events:  # AWS puts the failure in the history; moto also in describe
        details = event.get("executionFailedEventDetails") or event.get(
            "executionTimedOutEventDetails"
        )
        if details:
            error, cause = details.get("error", error), details.get("cause", cause)
    results = tasks.results()
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
        task_results=results,
        context=_json(described.get("input")),
        output=_json(described.get("output")),
        error=error,
        cause=cause,
    )


# ---- approvals ------------------------------------------------------------------------

WAIT_FOR_TOKEN = ".waitForTaskToken"


def waiting_approval(events: Sequence[Mapping[str, Any]]) -> WaitingFor | None:
    """The task whose `.waitForTaskToken` call is scheduled and not yet over, from the
    history alone: its TaskScheduled gives the start and the timeout, the payload the
    message. Only approval tasks use the callback pattern (DESIGN §3.1)."""
    waiting: WaitingFor | None = None
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
            waiting = WaitingFor(
                task=entered,
                since=iso(since) if isinstance(since, datetime) else None,
                expires_at=iso(expires),
                message=_message(details.get("parameters")),
            )
        elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStateExited"):
            waiting = None
    return waiting


def _message(parameters: object) -> str | None:
    scheduled = _json(parameters)
    payload = scheduled.get("Payload") if isinstance(scheduled, dict) else None
    task_parameters = payload.get("parameters") if isinstance(payload, dict) else None
    message = task_parameters.get("message") if isinstance(task_parameters, dict) else None
    return message if isinstance(message, str) else None


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
            self.current = None

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


def _json(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
