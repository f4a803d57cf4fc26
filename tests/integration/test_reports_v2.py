"""Execution reports read every construct of language v2 from the real history (DESIGN
§3.1, §7): a wait's timing, a for_each's items, parallel branches' tasks and what runs
inside them, an approval's decision.

Compiled flows run in moto; the report is built from the history Step Functions
recorded (with and without its data, as the API may read it) and the flow that ran."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from flow_manager.model import Flow
from flow_manager.reports import ExecutionReport, ExecutionSummary, build_report
from flow_manager.translator import compile_flow
from tests.integration.test_decision_path import execute, report_of
from tests.integration.test_semantics_v2 import (
    _approval_flow,
    _doubling,
    _enrich,
    _fan_out,
    cond,
    delay_wait,
    make,
    ok,
    returning,
)
from tests.support.sfn import LambdaContext, SfnHarness

DEADLINE_SECONDS = 30.0


def report_now(
    sfn: SfnHarness, flow: Flow | None, arn: str, *, data: bool = True
) -> ExecutionReport:
    """The report of a (possibly running) execution, as GET /executions/{id} builds it:
    `data=False` reads the history as the API does (executions.progress), the outline
    without data and the newest events, back to the last state exit, with theirs."""
    described = dict(sfn.client.describe_execution(executionArn=arn))
    pages = sfn.client.get_paginator("get_execution_history").paginate(executionArn=arn)
    events = [dict(e) for page in pages for e in page["events"]]
    exits = [i for i, e in enumerate(events) if (e.get("stateExitedEventDetails") or {})]
    newest = 0 if data or not exits else exits[-1]
    for event in events[:newest]:
        for key, details in list(event.items()):
            if key.endswith("EventDetails") and isinstance(details, dict):
                event[key] = {k: v for k, v in details.items() if k not in ("input", "output")}
    summary = ExecutionSummary(execution_id="x", flow_id="v2", status="running", execution_arn=arn)
    return build_report(summary, described, events, flow)


def start(sfn: SfnHarness, flow: Flow, catalog: dict[str, str], context: Any = None) -> str:
    machine = sfn.create_state_machine(compile_flow(flow, catalog).json)
    return sfn.start(machine, context if context is not None else {})


def until(
    sfn: SfnHarness, flow: Flow, arn: str, holds: Callable[[ExecutionReport], bool]
) -> ExecutionReport:
    """Poll the running execution's report until `holds` (a deadline, not a measure)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        report = report_now(sfn, flow, arn)
        if holds(report):
            return report
        assert time.monotonic() < deadline, report.model_dump(exclude={"path", "context"})
        time.sleep(0.02)


def blocking(gate: threading.Event, data: Any = None) -> Callable[..., Any]:
    """A handler that waits for `gate`, then succeeds with `data`."""

    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        assert gate.wait(DEADLINE_SECONDS)
        return {"status": "success", "data": data, "error": None}

    return handler


# ---- wait ------------------------------------------------------------------------------


def test_a_wait_task_has_its_timing_and_succeeds(sfn: SfnHarness) -> None:
    # Given a wait task before a task
    ok(sfn, "a")
    flow, catalog = make(
        [{"name": "w", "type": "wait", "seconds": 0}, {"name": "a"}], [cond("w", "a")]
    )
    # When it runs
    report = report_of(sfn, flow, execute(sfn, flow, catalog))
    # Then the wait is listed first, succeeded, with its start, end and duration
    assert report.executed_tasks == ["w", "a"]
    wait = report.task_results["w"]
    assert (wait.status, wait.data, wait.error, wait.attempts) == ("success", None, None, 0)
    assert wait.started_at is not None
    assert wait.finished_at is not None
    assert wait.started_at <= wait.finished_at
    assert wait.execution_time is not None
    assert wait.execution_time >= 0


@pytest.mark.parametrize("data", [True, False], ids=["with-data", "without-data"])
def test_a_wait_whose_seconds_from_is_no_number_is_reported_failed_with_its_route(
    sfn: SfnHarness, data: bool
) -> None:
    # Given a wait on context.delay whose failure goes to b
    flow, catalog = delay_wait(sfn, "w", "a", "b")
    # When it runs without a delay (the report read as the API reads the history)
    report = report_now(sfn, flow, execute(sfn, flow, catalog, {}).execution_arn, data=data)
    # Then the wait is a failure saying why, and the path goes to its failure target
    assert report.executed_tasks == ["w", "b"]
    assert report.task_results["w"].status == "failure"
    assert "context.delay is missing" in (report.task_results["w"].error or "")
    assert [(s.task, s.status, s.next) for s in report.path] == [
        ("w", "failure", "b"),
        ("b", "success", "end"),
    ]


def test_while_waiting_the_wait_is_the_current_task(sfn: SfnHarness) -> None:
    # Given a flow that waits an hour
    ok(sfn, "a")
    flow, catalog = make(
        [{"name": "w", "type": "wait", "seconds": 3600}, {"name": "a"}], [cond("w", "a")]
    )
    arn = start(sfn, flow, catalog)
    try:
        # When its report is read while it waits
        report = until(sfn, flow, arn, lambda r: "w" in r.task_results)
        # Then the wait is the running, current task
        assert (report.status, report.current_task, report.current_tasks) == (
            "running",
            "w",
            ["w"],
        )
        assert report.task_results["w"].status == "running"
        assert report.task_results["w"].started_at is not None
    finally:
        sfn.client.stop_execution(executionArn=arn)


# ---- for_each --------------------------------------------------------------------------


@pytest.mark.parametrize("data", [True, False], ids=["with-data", "without-data"])
def test_a_for_each_task_reports_its_items(sfn: SfnHarness, data: bool) -> None:
    # Given a for_each over three items that all succeed
    sfn.register("resize", _doubling())
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    # When it runs
    run = execute(sfn, flow, catalog, {"items": [1, 2, 3]})
    report = report_now(sfn, flow, run.execution_arn, data=data)
    # Then the task is listed once (not its items' states), with its data and its items
    assert report.executed_tasks == ["resize", "done"]
    resize = report.task_results["resize"]
    assert (resize.status, resize.attempts) == ("success", 3)
    assert resize.data == [{"double": 2, "i": 0}, {"double": 4, "i": 1}, {"double": 6, "i": 2}]
    assert resize.items is not None
    assert resize.items.model_dump() == {
        "total": 3,
        "succeeded": 3,
        "failed": 0,
        "first_failed_index": None,
    }
    assert resize.execution_time is not None


@pytest.mark.parametrize("data", [True, False], ids=["with-data", "without-data"])
def test_a_failed_for_each_names_its_first_failed_item(sfn: SfnHarness, data: bool) -> None:
    sfn.register("resize", _doubling(fail_at=1))
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    run = execute(sfn, flow, catalog, {"items": [1, 2, 3]})
    report = report_now(sfn, flow, run.execution_arn, data=data)
    resize = report.task_results["resize"]
    assert (resize.status, resize.error) == ("failure", "ItemFailed: item 1 failed: bad item 2")
    assert resize.items is not None
    assert (resize.items.total, resize.items.failed, resize.items.first_failed_index) == (3, 1, 1)
    assert report.executed_tasks == ["resize", "cleanup"]


def test_a_for_each_over_no_array_is_a_failed_task_without_items(sfn: SfnHarness) -> None:
    ok(sfn, "resize", "done", "cleanup")
    flow, catalog = _fan_out()
    report = report_of(sfn, flow, execute(sfn, flow, catalog, {"items": "abc"}))
    resize = report.task_results["resize"]
    assert (resize.status, resize.error) == (
        "failure",
        "for_each: context.items is missing or not an array",
    )
    assert resize.items is not None
    assert resize.items.total is None
    assert report.executed_tasks == ["resize", "cleanup"]


def test_a_for_each_over_an_object_says_its_path_is_not_an_array(sfn: SfnHarness) -> None:
    # Given a for_each whose path holds an object (a Choice cannot tell it from an array)
    ok(sfn, "resize", "done", "cleanup")
    flow, catalog = _fan_out()
    # When it runs
    report = report_of(sfn, flow, execute(sfn, flow, catalog, {"items": {"a": 1}}))
    # Then the task failed, and its error says the path is not an array
    resize = report.task_results["resize"]
    assert (resize.status, resize.error) == (
        "failure",
        "for_each: context.items is missing or not an array",
    )
    assert sfn.invoked("resize") == []
    assert report.executed_tasks == ["resize", "cleanup"]


def done(report: ExecutionReport) -> int:
    result = report.task_results.get("resize")
    items = result.items if result is not None else None
    return items.succeeded + items.failed if items is not None else -1


def test_a_running_for_each_says_how_many_items_are_done(sfn: SfnHarness) -> None:
    # Given a for_each (one item at a time) whose third item blocks
    gate = threading.Event()
    doubling = _doubling()

    def third_blocks(event: dict[str, Any], context: LambdaContext) -> Any:
        if event["index"] == 2:
            assert gate.wait(DEADLINE_SECONDS)
        return doubling(event, context)

    sfn.register("resize", third_blocks)
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    arn = start(sfn, flow, catalog, {"items": [1, 2, 3, 4]})
    try:
        # When its report is read while the third item runs
        report = until(sfn, flow, arn, lambda r: len(sfn.invoked("resize")) == 3 and done(r) == 2)
        # Then the for_each is the current task, two of its four items done
        assert (report.current_task, report.task_results["resize"].status) == (
            "resize",
            "running",
        )
        items = report.task_results["resize"].items
        assert items is not None
        assert (items.total, items.succeeded, items.failed) == (4, 2, 0)
    finally:
        gate.set()
    assert sfn.wait(arn).status == "SUCCEEDED"


def test_without_the_flow_a_for_each_is_still_one_task(sfn: SfnHarness) -> None:
    # Given the flow version is gone (the report reads the history alone)
    sfn.register("resize", _doubling())
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    run = execute(sfn, flow, catalog, {"items": [1, 2]})
    report = report_now(sfn, None, run.execution_arn)
    # Then the states inside its items are not tasks
    assert report.executed_tasks == ["resize", "done"]
    resize = report.task_results["resize"]
    assert resize.items is not None
    assert (resize.items.total, resize.items.succeeded) == (2, 2)


# ---- parallel --------------------------------------------------------------------------


@pytest.mark.parametrize("data", [True, False], ids=["with-data", "without-data"])
def test_branch_tasks_are_listed_with_their_branch(sfn: SfnHarness, data: bool) -> None:
    # Given enrich runs geo (geocode) and credit (score → flag) side by side
    sfn.register("geocode", returning(data={"lat": 1}))
    sfn.register("score", returning(data={"value": 750}))
    ok(sfn, "flag", "fast", "slow", "cleanup")
    flow, catalog = _enrich()
    # When it runs
    report = report_now(sfn, flow, execute(sfn, flow, catalog).execution_arn, data=data)
    # Then every branch task has its result, its branch and its parallel task
    results = report.task_results
    assert (report.executed_tasks[0], report.executed_tasks[-1]) == ("enrich", "fast")
    assert {t: (r.branch, r.parallel_task) for t, r in results.items()} == {
        "enrich": (None, None),
        "geocode": ("geo", "enrich"),
        "score": ("credit", "enrich"),
        "flag": ("credit", "enrich"),
        "fast": (None, None),
    }
    assert (results["score"].status, results["score"].data) == ("success", {"value": 750})
    assert (results["enrich"].status, results["enrich"].attempts) == ("success", 0)
    assert {results[t].attempts for t in ("geocode", "score", "flag")} == {1}
    assert results["enrich"].execution_time is not None


def test_a_failed_branch_task_is_listed_and_the_parallel_task_is_the_failed_one(
    sfn: SfnHarness,
) -> None:
    # Given enrich (with no condition) whose credit branch fails while geo still runs
    gate = threading.Event()
    sfn.register("geocode", blocking(gate, {"lat": 1}))
    sfn.register("score", returning("failure", error="no score"))
    ok(sfn, "flag")
    flow, catalog = make(
        [{"name": "enrich", "type": "parallel", "branches": _enrich_branches()}],
    )
    arn = start(sfn, flow, catalog)
    try:
        # When the execution has ended
        report = until(sfn, flow, arn, lambda r: r.status != "running")
    finally:
        gate.set()
    # Then the branch task's failure is listed, the parallel task is the failed task
    results = report.task_results
    assert report.status == "failed"
    assert (results["score"].status, results["score"].error) == ("failure", "no score")
    assert results["enrich"].status == "failure"
    assert report.failed_task == "enrich"
    # and the task Step Functions stopped in the other branch is not running
    assert (results["geocode"].status, results["geocode"].error) == (
        "failure",
        "stopped: the parallel task 'enrich' ended before it finished",
    )
    assert report.current_tasks == []


def test_after_a_failed_parallel_task_only_the_next_task_is_current(sfn: SfnHarness) -> None:
    # Given credit fails while geocode still runs (once geocode has started: on a busy
    # machine its branch may start after the other's failure, and never run), and the
    # failure route's cleanup blocks
    geo_started, geo_gate, cleanup_gate = threading.Event(), threading.Event(), threading.Event()
    geocode = blocking(geo_gate)
    fail_score = returning("failure", error="no score")

    def geocode_started(event: dict[str, Any], context: LambdaContext) -> Any:
        geo_started.set()
        return geocode(event, context)

    def score_after_geocode(event: dict[str, Any], context: LambdaContext) -> Any:
        assert geo_started.wait(DEADLINE_SECONDS)
        return fail_score(event, context)

    sfn.register("geocode", geocode_started)
    sfn.register("score", score_after_geocode)
    sfn.register("cleanup", blocking(cleanup_gate))
    ok(sfn, "flag", "fast", "slow")
    flow, catalog = _enrich()
    arn = start(sfn, flow, catalog)
    try:
        # When the report is read while cleanup runs
        report = until(sfn, flow, arn, lambda r: "cleanup" in r.task_results)
        # Then cleanup is the only current task: geocode was stopped with its branch
        assert (report.current_task, report.current_tasks) == ("cleanup", ["cleanup"])
        assert report.task_results["geocode"].status == "failure"
        assert report.task_results["enrich"].status == "failure"
    finally:
        geo_gate.set()
        cleanup_gate.set()
    assert sfn.wait(arn).status == "SUCCEEDED"


def _enrich_branches() -> list[dict[str, Any]]:
    return [
        {"name": "geo", "start_task": "geocode", "tasks": [{"name": "geocode"}]},
        {
            "name": "credit",
            "start_task": "score",
            "tasks": [{"name": "score"}, {"name": "flag"}],
            "conditions": [cond("score", "flag")],
        },
    ]


def test_inside_a_branch_the_current_task_is_the_branch_task_that_runs(sfn: SfnHarness) -> None:
    # Given geocode finishes and score blocks
    gate = threading.Event()
    sfn.register("geocode", returning(data={"lat": 1}))
    sfn.register("score", blocking(gate, {"value": 1}))
    ok(sfn, "flag", "fast", "slow", "cleanup")
    flow, catalog = _enrich()
    arn = start(sfn, flow, catalog)
    try:
        # When the report is read while score runs
        report = until(
            sfn,
            flow,
            arn,
            lambda r: (
                "score" in r.task_results
                and r.task_results.get("geocode", r.task_results["score"]).status == "success"
            ),
        )
        # Then score is the current task, its parallel task runs around it
        assert (report.current_task, report.current_tasks) == ("score", ["score"])
        assert report.task_results["enrich"].status == "running"
        assert report.task_results["score"].status == "running"
        assert report.task_results["score"].branch == "credit"
    finally:
        gate.set()
    assert sfn.wait(arn).status == "SUCCEEDED"


def test_branch_tasks_running_side_by_side_are_all_current(sfn: SfnHarness) -> None:
    # Given both branches' first tasks block
    gate = threading.Event()
    sfn.register("geocode", blocking(gate))
    sfn.register("score", blocking(gate, {"value": 1}))
    ok(sfn, "flag", "fast", "slow", "cleanup")
    flow, catalog = _enrich()
    arn = start(sfn, flow, catalog)
    try:
        report = until(sfn, flow, arn, lambda r: len(sfn.invoked()) == 2)
        # Then both are current, in the order they began; current_task is the first
        assert sorted(report.current_tasks) == ["geocode", "score"]
        assert report.current_task == report.current_tasks[0]
        # and the same holds without the flow (the history alone)
        assert sorted(report_now(sfn, None, arn).current_tasks) == ["geocode", "score"]
    finally:
        gate.set()
    assert sfn.wait(arn).status == "SUCCEEDED"


# ---- approval --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "status", "error"),
    [
        (
            {
                "status": "success",
                "data": {
                    "approved": True,
                    "by": "ann",
                    "comment": "fine",
                    "decided_at": "2026-12-02T07:00:00.000Z",
                },
                "error": None,
            },
            "success",
            None,
        ),
        (
            {
                "status": "failure",
                "data": {
                    "approved": False,
                    "by": "bob",
                    "comment": "too big",
                    "decided_at": "2026-12-02T08:00:00.000Z",
                },
                "error": "rejected: too big",
            },
            "failure",
            "rejected: too big",
        ),
    ],
    ids=["approved", "rejected"],
)
def test_an_approval_task_reports_its_decision(
    sfn: SfnHarness, result: dict[str, Any], status: str, error: str | None
) -> None:
    # Given an approval task waiting for its decision
    catcher, flow, catalog = _approval_flow(sfn)
    arn = start(sfn, flow, catalog)
    assert catcher.arrived.wait(DEADLINE_SECONDS)
    waiting = report_now(sfn, flow, arn)
    assert (waiting.current_task, waiting.task_results["ok_it"].decision) == ("ok_it", None)
    # When it is decided (as the approval route sends the decision)
    sfn.client.send_task_success(
        taskToken=catcher.events[0]["task_token"], output=json.dumps(result)
    )
    report = report_of(sfn, flow, sfn.wait(arn))
    # Then the task's result carries the decision: who, when, why
    task = report.task_results["ok_it"]
    assert (task.status, task.error) == (status, error)
    assert task.decision is not None
    assert task.decision.model_dump() == result["data"]
