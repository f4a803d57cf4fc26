"""DESIGN §4.8: every report's `path` says why the execution went where it went.

Compiled v2 flows run in moto; the report is built from the real history (with and
without its data, as the API may read it) and the flow that ran."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flow_manager.model import Flow
from flow_manager.reports import ExecutionReport, ExecutionSummary, build_report
from flow_manager.translator import compile_flow
from tests.integration.test_semantics_v2 import (
    CASES,
    _approval_flow,
    _enrich,
    _fan_out,
    _guarded_wait_on_failure,
    _order_flow,
    cond,
    make,
    ok,
    returning,
)
from tests.support.sfn import ExecutionRun, SfnHarness


def report_of(
    sfn: SfnHarness, flow: Flow, result: ExecutionRun, *, data: bool = True
) -> ExecutionReport:
    described = dict(sfn.client.describe_execution(executionArn=result.execution_arn))
    events: list[Any] = [dict(e) for e in result.history]
    if not data:  # as GetExecutionHistory(includeExecutionData=False) answers
        for event in events:
            for key, details in list(event.items()):
                if key.endswith("EventDetails") and isinstance(details, dict):
                    event[key] = {k: v for k, v in details.items() if k not in ("input", "output")}
    summary = ExecutionSummary(
        execution_id=result.name, flow_id="v2", status="running", execution_arn=result.execution_arn
    )
    return build_report(summary, described, events, flow)


def steps(report: ExecutionReport) -> list[dict[str, Any]]:
    return [s.model_dump(exclude_none=True) for s in report.path]


def execute(
    sfn: SfnHarness, flow: Flow, catalog: dict[str, str], context: Any = None
) -> ExecutionRun:
    return sfn.run(compile_flow(flow, catalog).json, context if context is not None else {})


@pytest.mark.parametrize("data", [True, False], ids=["with-data", "without-data"])
def test_the_path_names_the_case_that_held_and_its_when(sfn: SfnHarness, data: bool) -> None:
    # Given charge returns data the second case matches
    sfn.register("charge", returning(data={"amount": 1500, "express": True}))
    ok(sfn, "review", "express", "ship", "refund")
    flow, catalog = _order_flow()
    # When it runs
    result = execute(sfn, flow, catalog, {"country": "DE"})
    # Then the path says case 1 decided, with its when, and where it went
    assert steps(report_of(sfn, flow, result, data=data)) == [
        {
            "task": "charge",
            "status": "success",
            "attempts": 1,
            "condition": "charge_result",
            "case": 1,
            "when": CASES[1]["when"],
            "next": "express",
        },
        {"task": "express", "status": "success", "attempts": 1, "next": "end"},
    ]


def test_the_path_of_a_fall_through_has_no_case(sfn: SfnHarness) -> None:
    sfn.register("charge", returning(data={"amount": 10}))
    ok(sfn, "review", "express", "ship", "refund")
    flow, catalog = _order_flow()
    path = report_of(sfn, flow, execute(sfn, flow, catalog, {"country": "FR"})).path
    assert (path[0].case, path[0].when, path[0].next) == (None, None, "ship")


def test_a_case_and_the_default_to_the_same_task_are_told_apart_by_the_data(
    sfn: SfnHarness,
) -> None:
    # Given a case and the success target both lead to ship
    cases = [{"when": "data.n > 5", "target": "ship"}]
    flow, catalog = make([{"name": "a"}, {"name": "ship"}], [cond("a", "ship", cases=cases)])
    ok(sfn, "ship")
    sfn.register("a", returning(data={"n": 1}))
    # Then a run where the case does not hold reports no case
    report = report_of(sfn, flow, execute(sfn, flow, catalog))
    assert (report.path[0].case, report.path[0].next) == (None, "ship")


def test_the_path_of_a_failure_shows_the_failure_route_and_attempts(sfn: SfnHarness) -> None:
    sfn.script({"charge": ["raise", "raise", "raise"]})
    ok(sfn, "review", "express", "ship", "refund")
    document_flow, catalog = _order_flow()
    flow = Flow.model_validate(
        {
            **document_flow.model_dump(exclude_none=True),
            "tasks": [
                {"name": "charge", "retry": {"max_attempts": 2, "interval_seconds": 1}},
                *[t.model_dump(exclude_none=True) for t in document_flow.tasks[1:]],
            ],
        }
    )
    path = report_of(sfn, flow, execute(sfn, flow, catalog)).path
    assert [(s.task, s.status, s.attempts, s.case, s.next) for s in path] == [
        ("charge", "failure", 2, None, "refund"),
        ("refund", "success", 1, None, "end"),
    ]


@pytest.mark.parametrize(
    ("target", "status", "expected"),
    [("fail", "success", "fail"), ("succeed", "failure", "succeed"), ("end", "failure", "end")],
)
def test_terminal_targets_are_named_as_the_flow_names_them(
    sfn: SfnHarness, target: str, status: str, expected: str
) -> None:
    sfn.register("a", returning(status))
    flow, catalog = make([{"name": "a"}], [cond("a", target, target)])
    report = report_of(sfn, flow, execute(sfn, flow, catalog))
    assert steps(report) == [
        {"task": "a", "status": status, "attempts": 1, "condition": "after_a", "next": expected}
    ]


def test_steps_inside_parallel_branches_carry_their_branch(sfn: SfnHarness) -> None:
    sfn.register("geocode", returning(data={"lat": 1}))
    sfn.register("score", returning(data={"value": 750}))
    ok(sfn, "flag", "fast", "slow", "cleanup")
    flow, catalog = _enrich()
    path = report_of(sfn, flow, execute(sfn, flow, catalog)).path
    by_task = {s.task: s for s in path}
    assert (path[0].task, path[-1].task) == ("enrich", "fast")
    assert (by_task["enrich"].status, by_task["enrich"].case, by_task["enrich"].next) == (
        "success",
        0,
        "fast",
    )
    assert (by_task["geocode"].branch, by_task["geocode"].next) == ("geo", "end")
    assert (by_task["score"].branch, by_task["score"].next) == ("credit", "flag")
    assert (by_task["flag"].branch, by_task["flag"].attempts) == ("credit", 1)


def test_a_failed_branch_fails_its_parallel_step(sfn: SfnHarness) -> None:
    sfn.register("geocode", returning(data={"lat": 1}))
    sfn.register("score", returning("failure", error="no score"))
    ok(sfn, "flag", "fast", "slow", "cleanup")
    flow, catalog = _enrich()
    by_task = {s.task: s for s in report_of(sfn, flow, execute(sfn, flow, catalog)).path}
    assert (by_task["score"].status, by_task["score"].next) == ("failure", "end")
    assert (by_task["enrich"].status, by_task["enrich"].next) == ("failure", "cleanup")


@pytest.mark.parametrize("data", [True, False], ids=["with-data", "without-data"])
def test_a_for_each_task_is_one_step_with_item_counts(sfn: SfnHarness, data: bool) -> None:
    from tests.integration.test_semantics_v2 import _doubling

    sfn.register("resize", _doubling(fail_at=1))
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    report = report_of(sfn, flow, execute(sfn, flow, catalog, {"items": [1, 2, 3]}), data=data)
    assert steps(report) == [
        {
            "task": "resize",
            "status": "failure",
            "attempts": 2,
            "condition": "after_resize",
            "next": "cleanup",
            "items": {"total": 3, "succeeded": 1, "failed": 1, "first_failed_index": 1},
        },
        {"task": "cleanup", "status": "success", "attempts": 1, "next": "end"},
    ]


@pytest.mark.parametrize("items", ["abc", {"a": 1}], ids=["string", "object"])
def test_a_for_each_over_no_array_is_a_failed_step(sfn: SfnHarness, items: Any) -> None:
    ok(sfn, "resize", "done", "cleanup")
    flow, catalog = _fan_out()
    path = report_of(sfn, flow, execute(sfn, flow, catalog, {"items": items})).path
    assert [(s.task, s.status, s.next) for s in path] == [
        ("resize", "failure", "cleanup"),
        ("cleanup", "success", "end"),
    ]


def test_a_wait_step_and_its_case(sfn: SfnHarness) -> None:
    ok(sfn, "a", "b")
    cases = [{"when": "context.vip == true", "target": "b"}]
    flow, catalog = make(
        [{"name": "w", "type": "wait", "seconds": 0}, {"name": "a"}, {"name": "b"}],
        [cond("w", "a", cases=cases)],
    )
    path = report_of(sfn, flow, execute(sfn, flow, catalog, {"vip": True})).path
    assert [(s.task, s.status, s.attempts, s.case, s.when, s.next) for s in path] == [
        ("w", "success", 0, 0, "context.vip == true", "b"),
        ("b", "success", 1, None, None, "end"),
    ]


def test_an_approval_step_waits_then_shows_the_decision_route(sfn: SfnHarness) -> None:
    catcher, flow, catalog = _approval_flow(sfn)
    arn = sfn.start(sfn.create_state_machine(compile_flow(flow, catalog).json), {})
    assert catcher.arrived.wait(30)
    described = dict(sfn.client.describe_execution(executionArn=arn))
    history = sfn.client.get_execution_history(executionArn=arn)["events"]
    summary = ExecutionSummary(execution_id="x", flow_id="v2", status="running", execution_arn=arn)
    waiting = build_report(summary, described, list(history), flow).path
    assert [(s.task, s.status, s.next) for s in waiting] == [("ok_it", "running", None)]
    sfn.client.send_task_success(
        taskToken=catcher.events[0]["task_token"],
        output=json.dumps({"status": "failure", "data": {"approved": False}, "error": "rejected"}),
    )
    path = report_of(sfn, flow, sfn.wait(arn)).path
    assert [(s.task, s.status, s.next) for s in path] == [
        ("ok_it", "failure", "cancel"),
        ("cancel", "success", "end"),
    ]


def test_an_execution_diagram_follows_the_path_into_the_terminal_a_case_chose(
    sfn: SfnHarness,
) -> None:
    # Given a case into `succeed` beside a default into `end` (the results alone cannot
    # tell which terminal the run took)
    from flow_manager.diagram import execution_diagram
    from tests.support.mermaid import classes, taken

    ok(sfn, "charge")
    cases = [{"when": "context.vip == true", "target": "succeed"}]
    flow, catalog = make([{"name": "charge"}], [cond("charge", "end", "fail", cases=cases)])
    # When it runs with a context the case matches, and its diagram is drawn
    result = execute(sfn, flow, catalog, {"vip": True})
    text = execution_diagram(flow, report_of(sfn, flow, result))
    # Then the edge into succeed is the one taken, and succeed is marked done
    assert ("t0", "f_succeed_node") in taken(text)
    assert ("t0", "f_end_node") not in taken(text)
    assert classes(text) == {"t0": "done", "f_succeed_node": "done"}


def test_the_path_of_a_failed_seconds_from_wait_names_the_failure_case_that_held(
    sfn: SfnHarness,
) -> None:
    # Given a guarded wait whose condition is on failure, with a case for VIPs
    flow, catalog = _guarded_wait_on_failure(sfn)
    # When it runs without a delay, for a VIP
    report = report_of(sfn, flow, execute(sfn, flow, catalog, {"vip": True}))
    # Then the path says the wait failed and the case sent it to page
    assert [(s.task, s.status, s.case, s.next) for s in report.path] == [
        ("w", "failure", 0, "page"),
        ("page", "success", None, "end"),
    ]
