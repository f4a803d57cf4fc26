"""reports.build_report: an execution history, as Step Functions records it, read back
in the flow's terms (DESIGN §7)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flow_manager.reports import ExecutionSummary, build_report, iso, task_error

T0 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:123456789012:execution:flow-manager_f:e1"


def summary() -> ExecutionSummary:
    return ExecutionSummary(execution_id="e1", flow_id="f", status="running", execution_arn=ARN)


class History:
    """Builds the events a flow's state machine records, one state at a time."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.events: list[dict[str, Any]] = []
        self.clock = T0
        self.state: dict[str, Any] = {"context": context, "results": {}}
        self.add("ExecutionStarted", executionStartedEventDetails={"input": json.dumps(context)})

    def add(self, kind: str, **details: Any) -> None:
        self.clock += timedelta(milliseconds=100)
        self.events.append(
            {"id": len(self.events) + 1, "type": kind, "timestamp": self.clock, **details}
        )

    def task(self, name: str, result: dict[str, Any], attempts: int = 1, exit: bool = True) -> None:
        self.add("TaskStateEntered", stateEnteredEventDetails={"name": name})
        for _ in range(attempts):
            self.add("TaskScheduled", taskScheduledEventDetails={})
        if exit:
            self.state["results"][name] = result
            self.add(
                "TaskStateExited",
                stateExitedEventDetails={"name": name, "output": json.dumps(self.state)},
            )
            self.add("ChoiceStateEntered", stateEnteredEventDetails={"name": f"After {name}"})

    def described(self, status: str, **extra: Any) -> dict[str, Any]:
        described = {
            "status": status,
            "startDate": T0,
            "input": self.events[0]["executionStartedEventDetails"]["input"],
        }
        if status != "RUNNING":
            described["stopDate"] = self.clock
        return {**described, **extra}


def ok(data: Any = None) -> dict[str, Any]:
    return {"status": "success", "data": data, "error": None}


def test_a_completed_execution_lists_its_tasks_in_order_with_their_results() -> None:
    # Given a history of two tasks that succeeded
    history = History({"batch": 1})
    history.task("task1", ok({"n": 1}))
    history.task("task2", ok({"n": 2}))
    output = json.dumps(history.state)
    # When it is read back
    report = build_report(summary(), history.described("SUCCEEDED", output=output), history.events)
    # Then the report is the flow's view of it
    assert report.status == "completed"
    assert report.executed_tasks == ["task1", "task2"]
    assert report.task_results["task2"].data == {"n": 2}
    assert report.failed_task is None
    assert report.current_task is None
    assert report.context == {"batch": 1}
    assert report.output == history.state


def test_task_timing_comes_from_entering_and_leaving_its_state() -> None:
    history = History({})
    history.task("task1", ok())
    report = build_report(summary(), history.described("SUCCEEDED"), history.events)
    result = report.task_results["task1"]
    assert result.started_at == "2024-01-15T10:30:00.200Z"
    assert result.finished_at == "2024-01-15T10:30:00.400Z"
    assert result.execution_time == 0.2


def test_attempts_count_every_invocation_of_a_task() -> None:
    history = History({})
    history.task("task1", ok(), attempts=3)
    report = build_report(summary(), history.described("SUCCEEDED"), history.events)
    assert report.task_results["task1"].attempts == 3


def test_a_failed_execution_names_the_task_that_failed() -> None:
    history = History({})
    history.task("task1", ok())
    history.task("task2", {"status": "failure", "data": None, "error": "no records"})
    history.add(
        "ExecutionFailed",
        executionFailedEventDetails={"error": "TaskFailed", "cause": "Task 'task2' failed"},
    )
    report = build_report(summary(), history.described("FAILED"), history.events)
    assert report.status == "failed"
    assert report.failed_task == "task2"
    assert report.task_results["task2"].error == "no records"
    assert (report.error, report.cause) == ("TaskFailed", "Task 'task2' failed")


def test_a_failure_routed_to_a_task_that_succeeds_completes_and_stays_visible() -> None:
    history = History({})
    history.task("task1", {"status": "failure", "data": None, "error": "boom"})
    history.task("cleanup", ok())
    report = build_report(summary(), history.described("SUCCEEDED"), history.events)
    assert report.status == "completed"
    assert report.failed_task is None
    assert report.task_results["task1"].status == "failure"


def test_a_task_that_raised_is_a_failure_with_its_error_type_and_message() -> None:
    history = History({})
    cause = json.dumps({"errorType": "Boom", "errorMessage": "bad thing"})
    history.task("task1", {"Error": "Boom", "Cause": cause})
    report = build_report(summary(), history.described("FAILED"), history.events)
    assert report.task_results["task1"].status == "failure"
    assert report.task_results["task1"].error == "Boom: bad thing"
    assert report.failed_task == "task1"


def test_a_running_execution_names_its_current_task() -> None:
    history = History({})
    history.task("task1", ok())
    history.task("task2", ok(), exit=False)
    report = build_report(summary(), history.described("RUNNING"), history.events)
    assert report.status == "running"
    assert report.current_task == "task2"
    assert report.task_results["task2"].status == "running"
    assert report.end_time is None


def test_step_functions_statuses_map_to_the_flow_statuses() -> None:
    history = History({})
    statuses = {
        sfn: build_report(summary(), history.described(sfn), history.events).status
        for sfn in ("RUNNING", "SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
    }
    assert statuses == {
        "RUNNING": "running",
        "SUCCEEDED": "completed",
        "FAILED": "failed",
        "ABORTED": "aborted",
        "TIMED_OUT": "timed_out",
    }


def test_events_are_read_in_id_order_whatever_order_they_come_in() -> None:
    history = History({})
    history.task("task1", ok())
    history.task("task2", ok())
    shuffled = list(reversed(history.events))
    report = build_report(summary(), history.described("SUCCEEDED"), shuffled)
    assert report.executed_tasks == ["task1", "task2"]


def test_a_timeout_error_without_a_cause_is_named_alone() -> None:
    assert task_error({"Error": "States.Timeout"}) == "States.Timeout"


def test_a_cause_that_is_not_json_is_kept_as_it_is() -> None:
    assert task_error({"Error": "E", "Cause": "plain words"}) == "E: plain words"


def test_times_are_iso_8601_utc_with_milliseconds() -> None:
    assert iso(datetime(2024, 1, 15, 11, 30, 0, 123456, tzinfo=UTC)) == "2024-01-15T11:30:00.123Z"
    assert iso(datetime(2024, 1, 15, 12, 0, tzinfo=UTC).astimezone()) == "2024-01-15T12:00:00.000Z"
    assert iso(None) is None


# ---- a waiting approval ------------------------------------------------------------------


def approval_scheduled(
    history: History, name: str, timeout: int | None, submitted: bool = True
) -> None:
    """An approval task's state entered and its `.waitForTaskToken` call scheduled, then
    (`submitted`) the ApprovalFunction returned, having recorded the token."""
    history.add("TaskStateEntered", stateEnteredEventDetails={"name": name})
    details: dict[str, Any] = {
        "resourceType": "lambda",
        "resource": "invoke.waitForTaskToken",
        "parameters": json.dumps({"Payload": {"parameters": {"message": "Ship it?"}}}),
    }
    if timeout is not None:
        details["timeoutInSeconds"] = timeout
    history.add("TaskScheduled", taskScheduledEventDetails=details)
    history.add("TaskStarted", taskStartedEventDetails={"resourceType": "lambda"})
    if submitted:
        history.add("TaskSubmitted", taskSubmittedEventDetails={"resourceType": "lambda"})


def test_an_approval_whose_token_is_not_recorded_yet_is_not_waiting() -> None:
    # Given an approval call scheduled and started, the ApprovalFunction not returned yet
    history = History({})
    history.task("fetch", ok())
    approval_scheduled(history, "manager_ok", timeout=3600, submitted=False)
    # When the report is built
    report = build_report(summary(), history.described("RUNNING"), history.events)
    # Then it does not say waiting (the approval route could not decide it yet)
    assert report.waiting_for is None
    assert report.current_task == "manager_ok"


def test_a_running_execution_waiting_for_a_token_shows_waiting_for() -> None:
    # Given a history whose last task scheduled a .waitForTaskToken call
    history = History({})
    history.task("fetch", ok())
    approval_scheduled(history, "manager_ok", timeout=3600)
    scheduled_at = history.clock - timedelta(milliseconds=200)  # TaskScheduled's time
    # When the report is built
    report = build_report(summary(), history.described("RUNNING"), history.events)
    # Then it says which task waits, since when, until when, and the task's message
    assert report.waiting_for is not None
    assert report.waiting_for.task == "manager_ok"
    assert report.waiting_for.since == iso(scheduled_at)
    assert report.waiting_for.expires_at == iso(scheduled_at + timedelta(seconds=3600))
    assert report.waiting_for.message == "Ship it?"
    assert report.current_task == "manager_ok"


def test_a_waiting_approval_without_timeout_has_no_expiry() -> None:
    history = History({})
    approval_scheduled(history, "manager_ok", timeout=None)
    report = build_report(summary(), history.described("RUNNING"), history.events)
    assert report.waiting_for is not None
    assert report.waiting_for.expires_at is None


def test_an_ordinary_running_task_is_not_waiting_for_anything() -> None:
    history = History({})
    history.task("fetch", ok(), exit=False)
    report = build_report(summary(), history.described("RUNNING"), history.events)
    assert report.current_task == "fetch"
    assert report.waiting_for is None


def test_a_decided_approval_no_longer_waits_and_its_decision_is_its_result() -> None:
    # Given an approval that was decided (its token's result recorded, the state exited)
    history = History({})
    approval_scheduled(history, "manager_ok", timeout=60)
    decision = {"approved": True, "by": "local", "comment": None, "decided_at": "x"}
    history.add("TaskSucceeded", taskSucceededEventDetails={})
    history.state["results"]["manager_ok"] = ok(decision)
    history.add(
        "TaskStateExited",
        stateExitedEventDetails={"name": "manager_ok", "output": json.dumps(history.state)},
    )
    history.task("ship", ok(), exit=False)
    # When the report is built
    report = build_report(summary(), history.described("RUNNING"), history.events)
    # Then nothing waits, and the approval's result is the decision
    assert report.waiting_for is None
    assert report.task_results["manager_ok"].data == decision


def test_an_ended_execution_waits_for_nothing() -> None:
    history = History({})
    approval_scheduled(history, "manager_ok", timeout=60)
    report = build_report(summary(), history.described("ABORTED"), history.events)
    assert report.waiting_for is None


def test_a_history_without_data_reads_each_result_from_the_newest_state() -> None:
    # Given a history without execution data (no state outputs) but for the newest exit
    history = History({"x": 1})
    history.task("task1", ok({"rows": 1}))
    history.task("task2", {"status": "failure", "data": None, "error": "bad"})
    newest_exit = max(e["id"] for e in history.events if "stateExitedEventDetails" in e)
    outline = [
        {
            **event,
            "stateExitedEventDetails": {"name": event["stateExitedEventDetails"]["name"]},
        }
        if "stateExitedEventDetails" in event and event["id"] != newest_exit
        else event
        for event in history.events
    ]
    # When the report is built from it
    report = build_report(summary(), history.described("FAILED"), outline)
    # Then every finished task has its own result, as with the full history
    assert report.task_results["task1"].data == {"rows": 1}
    assert report.task_results["task2"].status == "failure"
    assert report.task_results["task2"].error == "bad"
    assert report.failed_task == "task2"


def test_a_running_task_stays_running_while_the_execution_runs() -> None:
    # Given a task entered but not exited in a running execution
    history = History({})
    history.task("task1", ok(), exit=False)
    # When the report is built
    report = build_report(summary(), history.described("RUNNING"), history.events)
    # Then it is the current task, running
    assert report.task_results["task1"].status == "running"
    assert report.current_task == "task1"
