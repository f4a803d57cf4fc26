"""DESIGN §3.1 and §5, rule by rule: v2 flows compiled and executed by moto.

Each test validates a flow, compiles it, runs it with task handlers that return the
data the rule needs (tests/support/sfn.py) and checks the path and the end.
The approval function is a placeholder ARN in the catalog: the handler here only
captures the task token, and the test decides with send_task_success as the
approval route will.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from flow_manager.model import Flow, predict
from flow_manager.translator import compile_flow
from flow_manager.validation import validate
from tests.support.sfn import ExecutionRun, LambdaContext, SfnHarness, lambda_arn

APPROVAL = "approval-placeholder"


def catalog_of(flow_doc: dict[str, Any]) -> dict[str, str]:
    """Every kind a (possibly nested) flow document names, plus the approval kind."""
    kinds: set[str] = set()

    def walk(graph: dict[str, Any]) -> None:
        for task in graph["tasks"]:
            if task.get("type") in (None, "task"):
                kinds.add(task.get("function") or task["name"])
            for branch in task.get("branches", ()):
                walk(branch)

    walk(flow_doc)
    return {**{k: lambda_arn(k) for k in kinds}, "approval": lambda_arn(APPROVAL)}


def make(
    tasks: list[dict[str, Any]], conditions: Sequence[dict[str, Any]] = ()
) -> tuple[Flow, dict[str, str]]:
    document = {
        "id": "v2",
        "name": "v2",
        "start_task": tasks[0]["name"],
        "tasks": tasks,
        "conditions": list(conditions),
    }
    catalog = catalog_of(document)
    return validate({"flow": document}, catalog), catalog


def cond(
    source: str,
    success: str,
    failure: str = "end",
    *,
    outcome: str = "success",
    cases: Sequence[dict[str, Any]] = (),
    name: str | None = None,
) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "name": name or f"after_{source}",
        "source_task": source,
        "outcome": outcome,
        "target_task_success": success,
        "target_task_failure": failure,
    }
    if cases:
        condition["cases"] = list(cases)
    return condition


def returning(
    status: str = "success", data: Any = None, error: str | None = None
) -> Callable[..., Any]:
    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        return {"status": status, "data": data, "error": error}

    return handler


def run(sfn: SfnHarness, flow: Flow, catalog: dict[str, str], context: Any = None) -> ExecutionRun:
    return sfn.run(compile_flow(flow, catalog).json, context if context is not None else {})


def ok(sfn: SfnHarness, *names: str) -> None:
    for name in names:
        sfn.register(name, returning(data={"task": name}))


# ---- terminal targets ------------------------------------------------------------------------


def test_fail_ends_the_flow_failed_although_the_task_succeeded(sfn: SfnHarness) -> None:
    # Given charge → (success) fail
    ok(sfn, "charge")
    flow, catalog = make([{"name": "charge"}], [cond("charge", "fail", name="charge_result")])
    # When it runs
    result = run(sfn, flow, catalog)
    # Then it is FAILED with FlowFailed, the cause naming the condition and the task
    assert result.status == "FAILED"
    assert result.error == "FlowFailed"
    assert (
        result.cause == "Condition 'charge_result' ended the flow with 'fail' after task 'charge'."
    )


def test_succeed_ends_the_flow_completed_although_the_task_failed(sfn: SfnHarness) -> None:
    sfn.register("charge", returning("failure", error="declined"))
    flow, catalog = make([{"name": "charge"}], [cond("charge", "end", "succeed")])
    result = run(sfn, flow, catalog)
    assert result.status == "SUCCEEDED"
    assert result.output["results"]["charge"]["status"] == "failure"


def test_a_compensation_can_end_the_flow_failed(sfn: SfnHarness) -> None:
    # Given charge fails → refund (succeeds) → fail
    sfn.register("charge", returning("failure", error="declined"))
    ok(sfn, "refund")
    flow, catalog = make(
        [{"name": "charge"}, {"name": "refund"}],
        [cond("charge", "end", "refund"), cond("refund", "fail", "fail")],
    )
    result = run(sfn, flow, catalog)
    assert result.executed_tasks == ("charge", "refund")
    assert result.status == "FAILED"
    assert result.error == "FlowFailed"


# ---- cases ---------------------------------------------------------------------------------


CASES = [
    {
        "when": "data.amount > 1000 and context.country != 'DE'",
        "target": "review",
        "description": "large foreign orders",
    },
    {"when": "data.express == true", "target": "express"},
]


def _order_flow() -> tuple[Flow, dict[str, str]]:
    return make(
        [
            {"name": "charge"},
            {"name": "review"},
            {"name": "express"},
            {"name": "ship"},
            {"name": "refund"},
        ],
        [cond("charge", "ship", "refund", cases=CASES, name="charge_result")],
    )


@pytest.mark.parametrize(
    ("data", "context", "expected"),
    [
        ({"amount": 1500, "express": True}, {"country": "FR"}, "review"),  # first match wins
        ({"amount": 1500, "express": True}, {"country": "DE"}, "express"),  # second case
        ({"amount": 10}, {"country": "FR"}, "ship"),  # none holds: target_task_success
        ({}, {}, "ship"),  # missing fields: every comparison is false
        ({"amount": "1500", "express": "true"}, {}, "ship"),  # wrong types: false too
        ({"amount": 1500}, {}, "review"),  # a missing country: != is true
        (None, {}, "ship"),  # data is null
    ],
    ids=["first-match", "second", "fall-through", "missing", "wrong-type", "missing-ne", "null"],
)
def test_cases_send_the_flow_to_the_first_case_that_holds(
    sfn: SfnHarness, data: Any, context: dict[str, Any], expected: str
) -> None:
    sfn.register("charge", returning(data=data))
    ok(sfn, "review", "express", "ship", "refund")
    flow, catalog = _order_flow()
    result = run(sfn, flow, catalog, context)
    assert result.executed_tasks == ("charge", expected)
    assert result.status == "SUCCEEDED"


def test_cases_are_not_tested_when_the_status_is_not_the_outcome(sfn: SfnHarness) -> None:
    # Given charge fails with data a case would match
    sfn.register("charge", returning("failure", data={"amount": 5000, "express": True}))
    ok(sfn, "review", "express", "ship", "refund")
    flow, catalog = _order_flow()
    # Then the failure target runs
    assert run(sfn, flow, catalog).executed_tasks == ("charge", "refund")


def test_a_raising_task_takes_the_failure_target_past_its_cases(sfn: SfnHarness) -> None:
    def boom(event: dict[str, Any], context: LambdaContext) -> Any:
        raise RuntimeError("down")

    sfn.register("charge", boom)
    ok(sfn, "review", "express", "ship", "refund")
    flow, catalog = _order_flow()
    assert run(sfn, flow, catalog).executed_tasks == ("charge", "refund")


def test_cases_on_a_failure_outcome_read_the_error(sfn: SfnHarness) -> None:
    # Given outcome failure with a case on the error text
    sfn.register("charge", returning("failure", error="card expired"))
    ok(sfn, "ask_card", "refund", "ship")
    cases = [{"when": "error == 'card expired'", "target": "ask_card"}]
    flow, catalog = make(
        [{"name": "charge"}, {"name": "ask_card"}, {"name": "refund"}, {"name": "ship"}],
        [cond("charge", "refund", "ship", outcome="failure", cases=cases)],
    )
    assert run(sfn, flow, catalog).executed_tasks == ("charge", "ask_card")


def test_a_case_can_read_another_tasks_result_and_end_with_fail(sfn: SfnHarness) -> None:
    sfn.register("fetch", returning(data={"records": [1, 2]}))
    ok(sfn, "store")
    cases = [{"when": "results.fetch.data.records[1] == 2", "target": "fail"}]
    flow, catalog = make(
        [{"name": "fetch"}, {"name": "store"}],
        [cond("fetch", "store"), cond("store", "end", cases=cases)],
    )
    result = run(sfn, flow, catalog)
    assert result.executed_tasks == ("fetch", "store")
    assert result.error == "FlowFailed"


# ---- wait ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "context"),
    [
        ({"seconds": 0}, {}),
        ({"until": "2020-01-01T00:00:00Z"}, {}),
        ({"seconds_from": "context.delay"}, {"delay": 0}),
    ],
    ids=["seconds", "until-past", "seconds_from"],
)
def test_a_wait_task_waits_then_takes_its_success_target(
    sfn: SfnHarness, wait: dict[str, Any], context: dict[str, Any]
) -> None:
    ok(sfn, "notify", "cleanup")
    flow, catalog = make(
        [{"name": "cool_down", "type": "wait", **wait}, {"name": "notify"}, {"name": "cleanup"}],
        [cond("cool_down", "notify", "cleanup")],
    )
    result = run(sfn, flow, catalog, context)
    assert "cool_down" in result.entered_states
    assert result.executed_tasks == ("notify",)
    assert result.status == "SUCCEEDED"


def test_a_wait_task_with_cases_routes_on_the_context(sfn: SfnHarness) -> None:
    ok(sfn, "a", "b")
    cases = [{"when": "context.vip == true", "target": "b"}]
    flow, catalog = make(
        [{"name": "w", "type": "wait", "seconds": 0}, {"name": "a"}, {"name": "b"}],
        [cond("w", "a", cases=cases)],
    )
    assert run(sfn, flow, catalog, {"vip": True}).executed_tasks == ("b",)
    assert run(sfn, flow, catalog, {"vip": False}).executed_tasks == ("a",)


@pytest.mark.parametrize(
    "context",
    [{}, {"delay": "soon"}, {"delay": -5}, {"delay": None}],
    ids=["missing", "string", "negative", "null"],
)
def test_a_wait_whose_seconds_from_is_no_number_fails_and_takes_its_failure_target(
    sfn: SfnHarness, context: dict[str, Any]
) -> None:
    # Given a wait on context.delay, whose failure goes to cleanup
    flow, catalog = delay_wait(sfn, "cool_down", "notify", "cleanup")
    # When it runs with a delay that is missing, not a number or negative
    result = run(sfn, flow, catalog, context)
    # Then the execution does not fail in the Wait (States.Runtime): the wait is a
    # failure saying why, and its failure target runs
    assert "cool_down" not in result.entered_states
    assert result.executed_tasks == ("cleanup",)
    assert result.output["results"]["cool_down"] == {
        "status": "failure",
        "data": None,
        "error": "wait: context.delay is missing, not a number or negative "
        "(a wait takes a whole number of seconds ≥ 0)",
    }


def delay_wait(
    sfn: SfnHarness, wait: str, success: str, failure: str
) -> tuple[Flow, dict[str, str]]:
    """A wait on context.delay going to `success` when it waited, else to `failure`."""
    ok(sfn, success, failure)
    return make(
        [
            {"name": wait, "type": "wait", "seconds_from": "context.delay"},
            {"name": success},
            {"name": failure},
        ],
        [cond(wait, success, failure)],
    )


def _guarded_wait_on_failure(sfn: SfnHarness) -> tuple[Flow, dict[str, str]]:
    """A wait on context.delay whose condition is on failure (retry_later), with a case
    to `page` for VIPs; go when it waited."""
    ok(sfn, "retry_later", "page", "go")
    cases = [{"when": "context.vip == true", "target": "page"}]
    return make(
        [
            {"name": "w", "type": "wait", "seconds_from": "context.delay"},
            {"name": "retry_later"},
            {"name": "page"},
            {"name": "go"},
        ],
        [cond("w", "retry_later", "go", outcome="failure", cases=cases)],
    )


def test_a_failed_seconds_from_wait_tests_the_cases_of_a_failure_condition(
    sfn: SfnHarness,
) -> None:
    # Given a wait whose condition is on failure, with a case to `page` for VIPs
    flow, catalog = _guarded_wait_on_failure(sfn)
    for context, expected in [
        ({"vip": True}, ("page",)),
        ({"vip": False}, ("retry_later",)),
        ({"vip": True, "delay": 0}, ("go",)),
    ]:
        # When it runs with and without a delay
        result = run(sfn, flow, catalog, context)
        # Then a failed wait takes the case or the condition's target, as predict() says
        assert result.executed_tasks == expected, context
        predicted = predict(flow, dict.fromkeys(expected, "success"), context=context)
        assert predicted.executed_tasks[1:] == expected


def test_a_wait_whose_seconds_from_is_no_number_without_a_condition_fails_the_flow(
    sfn: SfnHarness,
) -> None:
    # Given a lone wait on context.delay
    flow, catalog = make([{"name": "cool_down", "type": "wait", "seconds_from": "context.delay"}])
    # When it runs without a delay
    result = run(sfn, flow, catalog, {})
    # Then the flow ends failed at the wait, with the flow's own error
    assert result.status == "FAILED"
    assert result.error == "TaskFailed"


# ---- for_each --------------------------------------------------------------------------------


def _doubling(fail_at: int | None = None) -> Callable[..., Any]:
    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        if event["index"] == fail_at:
            return {"status": "failure", "data": None, "error": f"bad item {event['item']}"}
        return {
            "status": "success",
            "data": {"double": event["item"] * 2, "i": event["index"]},
            "error": None,
        }

    return handler


def _fan_out(for_each: str = "context.items") -> tuple[Flow, dict[str, str]]:
    return make(
        [
            {"name": "resize", "for_each": for_each, "max_concurrency": 1},
            {"name": "done"},
            {"name": "cleanup"},
        ],
        [cond("resize", "done", "cleanup")],
    )


def test_for_each_runs_once_per_item_and_collects_data_in_order(sfn: SfnHarness) -> None:
    sfn.register("resize", _doubling())
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    result = run(sfn, flow, catalog, {"items": [1, 2, 3]})
    assert result.status == "SUCCEEDED"
    assert result.output["results"]["resize"] == {
        "status": "success",
        "error": None,
        "data": [{"double": 2, "i": 0}, {"double": 4, "i": 1}, {"double": 6, "i": 2}],
    }
    assert result.executed_tasks[-1] == "done"
    events = [i.event for i in result.task_events if i.function_name == "resize"]
    assert sorted((e["index"], e["item"]) for e in events) == [(0, 1), (1, 2), (2, 3)]
    assert all(e["task"] == "resize" and e["context"] == {"items": [1, 2, 3]} for e in events)


def test_for_each_over_an_empty_list_succeeds_with_an_empty_list(sfn: SfnHarness) -> None:
    sfn.register("resize", _doubling())
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    result = run(sfn, flow, catalog, {"items": []})
    assert result.output["results"]["resize"]["data"] == []
    assert result.executed_tasks == ("done",)


def test_for_each_fails_when_an_item_fails_naming_its_index(sfn: SfnHarness) -> None:
    sfn.register("resize", _doubling(fail_at=1))
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    result = run(sfn, flow, catalog, {"items": [1, 2, 3]})
    assert result.executed_tasks[-1] == "cleanup"
    assert result.output["results"]["resize"] == {
        "Error": "ItemFailed",
        "Cause": "item 1 failed: bad item 2",
    }


@pytest.mark.parametrize(
    "items", [None, "abc", 3, {"a": 1}, {}], ids=["missing", "string", "number", "object", "{}"]
)
def test_for_each_over_a_missing_or_non_array_path_is_a_failure(
    sfn: SfnHarness, items: Any
) -> None:
    sfn.register("resize", _doubling())
    ok(sfn, "done", "cleanup")
    flow, catalog = _fan_out()
    context = {} if items is None else {"items": items}
    result = run(sfn, flow, catalog, context)
    assert result.executed_tasks == ("cleanup",)
    assert result.output["results"]["resize"] == {
        "status": "failure",
        "data": None,
        "error": "for_each: context.items is missing or not an array",
    }


# ---- parallel --------------------------------------------------------------------------------


def _enrich(second: dict[str, Any] | None = None) -> tuple[Flow, dict[str, str]]:
    geo = {"name": "geo", "start_task": "geocode", "tasks": [{"name": "geocode"}]}
    credit = second or {
        "name": "credit",
        "start_task": "score",
        "tasks": [{"name": "score"}, {"name": "flag"}],
        "conditions": [cond("score", "flag")],
    }
    cases = [{"when": "results.score.data.value > 700", "target": "fast"}]
    return make(
        [
            {"name": "enrich", "type": "parallel", "branches": [geo, credit]},
            {"name": "fast"},
            {"name": "slow"},
            {"name": "cleanup"},
        ],
        [cond("enrich", "slow", "cleanup", cases=cases)],
    )


def test_parallel_runs_every_branch_and_later_tasks_read_their_results(sfn: SfnHarness) -> None:
    sfn.register("geocode", returning(data={"lat": 1}))
    sfn.register("score", returning(data={"value": 750}))
    ok(sfn, "flag", "fast", "slow", "cleanup")
    flow, catalog = _enrich()
    result = run(sfn, flow, catalog, {"order": 1})
    assert result.status == "SUCCEEDED"
    assert sorted(result.executed_tasks[:3]) == ["flag", "geocode", "score"]
    assert result.executed_tasks[-1] == "fast"  # the case read a branch task's result
    fast = next(i.event for i in result.task_events if i.function_name == "fast")
    assert fast["context"] == {"order": 1}
    assert set(fast["results"]) == {"geocode", "score", "flag", "enrich"}
    assert fast["results"]["enrich"] == {"status": "success", "data": None, "error": None}


def test_parallel_fails_when_a_branch_fails_naming_branch_and_task(sfn: SfnHarness) -> None:
    sfn.register("geocode", returning(data={"lat": 1}))
    sfn.register("score", returning("failure", error="no score"))
    ok(sfn, "flag", "fast", "slow", "cleanup")
    flow, catalog = _enrich()
    result = run(sfn, flow, catalog)
    assert result.executed_tasks[-1] == "cleanup"
    caught = result.output["results"]["enrich"]
    assert caught["Error"] == "TaskFailed"
    assert caught["Cause"].startswith("Branch 'credit' of 'enrich': Task 'score' failed")


def test_fail_in_a_branch_fails_the_branch(sfn: SfnHarness) -> None:
    sfn.register("geocode", returning(data={"lat": 1}))
    ok(sfn, "score", "fast", "slow", "cleanup")
    credit = {
        "name": "credit",
        "start_task": "score",
        "tasks": [{"name": "score"}],
        "conditions": [cond("score", "fail")],
    }
    flow, catalog = _enrich(credit)
    result = run(sfn, flow, catalog)
    assert result.executed_tasks[-1] == "cleanup"
    assert result.output["results"]["enrich"]["Error"] == "FlowFailed"


# ---- approval --------------------------------------------------------------------------------


class TokenCatcher:
    """The placeholder ApprovalFunction: records each event (its task token) and returns."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.arrived = threading.Event()

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> Any:
        self.events.append(event)
        self.arrived.set()
        return {"recorded": True}


def _approval_flow(sfn: SfnHarness) -> tuple[TokenCatcher, Flow, dict[str, str]]:
    """ok_it (an approval) → ship on success, cancel on failure; the catcher holds its token."""
    catcher = TokenCatcher()
    sfn.register(APPROVAL, catcher)
    ok(sfn, "ship", "cancel")
    flow, catalog = make(
        [{"name": "ok_it", "type": "approval"}, {"name": "ship"}, {"name": "cancel"}],
        [cond("ok_it", "ship", "cancel")],
    )
    return catcher, flow, catalog


def _approval(sfn: SfnHarness, timeout: int = 3600) -> tuple[str, TokenCatcher]:
    catcher = TokenCatcher()
    sfn.register(APPROVAL, catcher)
    ok(sfn, "ship", "cancel")
    flow, catalog = make(
        [
            {
                "name": "manager_ok",
                "type": "approval",
                "timeout_seconds": timeout,
                "parameters": {"message": "Approve order?"},
            },
            {"name": "ship"},
            {"name": "cancel"},
        ],
        [cond("manager_ok", "ship", "cancel")],
    )
    arn = sfn.start(sfn.create_state_machine(compile_flow(flow, catalog).json), {"order": 7})
    return arn, catcher


def _token(catcher: TokenCatcher) -> str:
    assert catcher.arrived.wait(30), "the approval function was never invoked"
    event = catcher.events[0]
    assert event["task"] == "manager_ok"
    assert event["parameters"] == {"message": "Approve order?"}
    assert event["context"] == {"order": 7}
    token: str = event["task_token"]
    return token


def test_an_approved_approval_succeeds_with_the_decision_as_data(sfn: SfnHarness) -> None:
    arn, catcher = _approval(sfn)
    decision = {
        "approved": True,
        "by": "ann",
        "comment": "fine",
        "decided_at": "2026-12-02T07:00:00Z",
    }
    sfn.client.send_task_success(
        taskToken=_token(catcher),
        output=json.dumps({"status": "success", "data": decision, "error": None}),
    )
    result = sfn.wait(arn)
    assert result.status == "SUCCEEDED"
    assert result.executed_tasks == ("manager_ok", "ship")
    assert result.output["results"]["manager_ok"]["data"] == decision


def test_a_rejected_approval_is_a_failure_with_the_comment(sfn: SfnHarness) -> None:
    arn, catcher = _approval(sfn)
    sfn.client.send_task_success(
        taskToken=_token(catcher),
        output=json.dumps(
            {
                "status": "failure",
                "data": {"approved": False, "by": "bob"},
                "error": "rejected: too big",
            }
        ),
    )
    result = sfn.wait(arn)
    assert result.executed_tasks == ("manager_ok", "cancel")
    assert result.output["results"]["manager_ok"]["error"] == "rejected: too big"


@pytest.mark.slow  # waits for a real 1 s approval timeout
def test_an_approval_without_a_decision_in_time_is_a_timeout_failure(sfn: SfnHarness) -> None:
    arn, catcher = _approval(sfn, timeout=1)
    _token(catcher)
    result = sfn.wait(arn)
    assert result.executed_tasks == ("manager_ok", "cancel")
    assert result.output["results"]["manager_ok"]["Error"] == "States.Timeout"


# ---- resume (DESIGN §5) ------------------------------------------------------------------------


def test_resume_restores_the_state_and_runs_from_the_named_task(sfn: SfnHarness) -> None:
    ok(sfn, "task1", "task2", "task3")
    flow, catalog = make(
        [{"name": "task1"}, {"name": "task2"}, {"name": "task3"}],
        [cond("task1", "task2"), cond("task2", "task3")],
    )
    earlier = {"task1": {"status": "success", "data": {"n": 1}, "error": None}}
    resume = {"flow_manager_resume": {"from": "task2", "context": {"c": 1}, "results": earlier}}
    result = run(sfn, flow, catalog, resume)
    assert result.executed_tasks == ("task2", "task3")
    assert result.entered_states[:3] == ("Start", "Resume", "task2")
    task2 = next(i.event for i in result.task_events if i.function_name == "task2")
    assert task2["context"] == {"c": 1}
    assert task2["results"] == earlier
    assert result.status == "SUCCEEDED"


def test_resume_from_an_unknown_task_fails_without_running_anything(sfn: SfnHarness) -> None:
    ok(sfn, "task1")
    flow, catalog = make([{"name": "task1"}])
    result = run(
        sfn, flow, catalog, {"flow_manager_resume": {"from": "nope", "context": {}, "results": {}}}
    )
    assert result.status == "FAILED"
    assert result.error == "InvalidResume"
    assert result.executed_tasks == ()


# ---- the transition budget (DESIGN §5) ---------------------------------------------------------


def test_v2_constructs_keep_the_transition_budget(sfn: SfnHarness) -> None:
    # Given a seconds_from wait → for_each → parallel (two one-task branches) → approval-free task
    ok(sfn, "a", "b", "last")
    sfn.register("each", _doubling())
    flow, catalog = make(
        [
            {"name": "w", "type": "wait", "seconds_from": "context.delay"},
            {"name": "each", "for_each": "context.items"},
            {
                "name": "par",
                "type": "parallel",
                "branches": [
                    {"name": "x", "start_task": "a", "tasks": [{"name": "a"}]},
                    {"name": "y", "start_task": "b", "tasks": [{"name": "b"}]},
                ],
            },
            {"name": "last"},
        ],
        [cond("w", "each"), cond("each", "par"), cond("par", "last")],
    )
    result = run(sfn, flow, catalog, {"items": [1, 2], "delay": 0})
    assert result.status == "SUCCEEDED"
    entered = [e for e in result.history if e["type"].endswith("StateEntered")]
    # seconds_from wait 2 (its guard), for_each 2 + 3 per item, parallel 2 + branches'
    # own (2 per task + their terminal), last 2, fixed 3
    budget = 2 + (2 + 3 * 2) + (2 + 2 * (2 + 1)) + 2 + 3
    assert len(entered) <= budget
