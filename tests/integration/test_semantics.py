"""DESIGN §4, rule by rule: compiled flows executed by moto's Step Functions interpreter.

Each test compiles a flow with `compile_flow`, runs it with scripted task outcomes
(tests/support/sfn.py) and checks the path Step Functions took and how it ended.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from flow_manager.model import Flow
from flow_manager.results_store import MAX_INLINE_DATA_BYTES
from flow_manager.translator import compile_flow
from tests.support.sfn import ExecutionRun, SfnHarness, catalog_for

CONTEXT: dict[str, Any] = {"customer": "acme", "records": [1, 2, 3]}


def make_flow(
    tasks: list[dict[str, Any]],
    conditions: Sequence[dict[str, Any]] = (),
    **extra: Any,
) -> Flow:
    return Flow.model_validate(
        {
            "id": "semantics",
            "name": "Semantics",
            "start_task": tasks[0]["name"],
            "tasks": tasks,
            "conditions": list(conditions),
            **extra,
        }
    )


def when(
    source: str, outcome: str, success: str, failure: str, name: str | None = None
) -> dict[str, Any]:
    return {
        "name": name or f"check_{source}",
        "source_task": source,
        "outcome": outcome,
        "target_task_success": success,
        "target_task_failure": failure,
    }


def run(sfn: SfnHarness, flow: Flow, context: Any = CONTEXT, version: int = 1) -> ExecutionRun:
    return sfn.run(compile_flow(flow, catalog_for(flow), version=version).json, context)


def success_result(task: str, attempt: int = 1) -> dict[str, Any]:
    """What a scripted "success" leaves in $.results.<task>."""
    return {"status": "success", "data": {"task": task, "attempt": attempt}, "error": None}


def chain() -> Flow:
    """task1 → task2 → task3 on success; any failure ends the flow."""
    return make_flow(
        [{"name": "task1"}, {"name": "task2"}, {"name": "task3"}],
        [when("task1", "success", "task2", "end"), when("task2", "success", "task3", "end")],
    )


def with_recovery() -> Flow:
    """task1 → task2 on success, → recover on failure; neither has a condition."""
    return make_flow(
        [{"name": "task1"}, {"name": "task2"}, {"name": "recover"}],
        [when("task1", "success", "task2", "recover")],
    )


# ---- §4.3 conditions, §4.5 terminal status ----------------------------------------------


def test_a_chain_of_successes_runs_every_task_and_completes(sfn: SfnHarness) -> None:
    # Given task1 → task2 → task3, all succeeding
    sfn.script({"task1": ["success"], "task2": ["success"], "task3": ["success"]})
    # When it runs
    result = run(sfn, chain())
    # Then every task ran in order, and the output is the context plus every result
    assert result.status == "SUCCEEDED"
    assert result.executed_tasks == ("task1", "task2", "task3")
    assert result.entered_states[-1] == "Completed"
    assert result.output == {
        "context": CONTEXT,
        "results": {t: success_result(t) for t in ("task1", "task2", "task3")},
    }


def test_a_failure_routed_to_end_fails_the_flow_naming_the_task(sfn: SfnHarness) -> None:
    # Given task1 → task2 → task3 where task2 fails and its failure target is end
    sfn.script({"task1": ["success"], "task2": ["failure"], "task3": ["success"]})
    # When it runs
    result = run(sfn, chain())
    # Then it stops after task2, FAILED with an error and a cause naming task2
    assert result.status == "FAILED"
    assert result.executed_tasks == ("task1", "task2")
    assert result.entered_states[-1] == "task2 failed"
    assert result.error == "TaskFailed"
    assert result.cause is not None
    assert "'task2'" in result.cause
    assert sfn.invoked("task3") == []


def test_a_failure_routed_to_a_recovery_task_that_succeeds_completes(sfn: SfnHarness) -> None:
    # Given task1 fails and its failure target is recover, which succeeds
    sfn.script({"task1": ["failure"], "task2": ["success"], "recover": ["success"]})
    # When it runs
    result = run(sfn, with_recovery())
    # Then the flow completes through recover, and task1's failure stays in the output
    assert result.status == "SUCCEEDED"
    assert result.executed_tasks == ("task1", "recover")
    assert result.output["results"] == {
        "task1": {"status": "failure", "data": None, "error": "task1 failed as scripted"},
        "recover": success_result("recover"),
    }


def test_a_failure_routed_to_a_recovery_task_that_fails_fails_naming_it(
    sfn: SfnHarness,
) -> None:
    # Given task1 fails and its failure target, recover, fails too
    sfn.script({"task1": ["failure"], "task2": ["success"], "recover": ["failure"]})
    # When it runs
    result = run(sfn, with_recovery())
    # Then the flow fails, and the failed task is recover (the last one), not task1
    assert result.status == "FAILED"
    assert result.executed_tasks == ("task1", "recover")
    assert result.error == "TaskFailed"
    assert result.cause is not None
    assert "'recover'" in result.cause
    assert "'task1'" not in result.cause


def _on_failure_flow() -> Flow:
    # outcome "failure": target_task_success is taken when task1 FAILS.
    return make_flow(
        [{"name": "task1"}, {"name": "alert"}, {"name": "report"}],
        [when("task1", "failure", "alert", "report", name="did task1 fail?")],
    )


def test_a_failure_outcome_condition_takes_its_success_target_when_the_task_fails(
    sfn: SfnHarness,
) -> None:
    # Given a condition {outcome: failure, success: alert, failure: report} on task1
    sfn.script({"task1": ["failure"], "alert": ["success"], "report": ["success"]})
    # When task1 fails
    result = run(sfn, _on_failure_flow())
    # Then the outcome matched: alert runs, and the flow completes through it
    assert result.executed_tasks == ("task1", "alert")
    assert "did task1 fail?" in result.entered_states
    assert result.status == "SUCCEEDED"


def test_a_failure_outcome_condition_takes_its_failure_target_when_the_task_succeeds(
    sfn: SfnHarness,
) -> None:
    # Given the same condition
    sfn.script({"task1": ["success"], "alert": ["success"], "report": ["success"]})
    # When task1 succeeds
    result = run(sfn, _on_failure_flow())
    # Then the outcome did not match: report runs
    assert result.executed_tasks == ("task1", "report")
    assert result.status == "SUCCEEDED"


# ---- §4.4 a task without a condition ends the flow --------------------------------------


def test_a_task_without_a_condition_that_succeeds_completes_the_flow(sfn: SfnHarness) -> None:
    # Given a single task, no condition, that succeeds
    sfn.script({"solo": ["success"]})
    # When it runs
    result = run(sfn, make_flow([{"name": "solo"}]))
    # Then the flow ends there, completed
    assert result.status == "SUCCEEDED"
    assert result.entered_states == ("Start", "Set up", "solo", "After solo", "Completed")


def test_a_task_without_a_condition_that_fails_fails_the_flow(sfn: SfnHarness) -> None:
    # Given a single task, no condition, that fails
    sfn.script({"solo": ["failure"]})
    # When it runs
    result = run(sfn, make_flow([{"name": "solo"}]))
    # Then the flow ends there, failed, naming it
    assert result.status == "FAILED"
    assert result.entered_states == ("Start", "Set up", "solo", "After solo", "solo failed")
    assert result.cause is not None
    assert "'solo'" in result.cause


# ---- §4.2 raised errors, retries and timeouts count as failure ---------------------------


def _risky(task1: dict[str, Any]) -> Flow:
    return make_flow(
        [{"name": "task1", **task1}, {"name": "task2"}, {"name": "cleanup"}],
        [when("task1", "success", "task2", "cleanup")],
    )


def test_a_raising_task_is_retried_max_attempts_times_then_takes_the_failure_branch(
    sfn: SfnHarness,
) -> None:
    # Given task1 with retry max_attempts=3 that raises every time
    sfn.script({"task1": ["raise"], "task2": ["success"], "cleanup": ["success"]})
    flow = _risky({"retry": {"max_attempts": 3, "interval_seconds": 1, "backoff_rate": 2.0}})
    # When it runs
    result = run(sfn, flow)
    # Then task1 ran 3 times, then the failure branch (cleanup) ran
    assert result.attempts["task1"] == 3
    assert [i.event["retry_count"] for i in result.task_events if i.function_name == "task1"] == [
        0,
        1,
        2,
    ]
    assert result.executed_tasks == ("task1", "cleanup")
    assert result.status == "SUCCEEDED"
    # And the error type and message of the last attempt are kept (DESIGN §4.2)
    caught = result.output["results"]["task1"]
    assert caught["Error"] == "ScriptedError"
    assert json.loads(caught["Cause"])["errorMessage"] == "task1 raised on attempt 3"


def test_a_raising_task_without_retry_runs_once_and_takes_the_failure_branch(
    sfn: SfnHarness,
) -> None:
    # Given task1 without retry that raises
    sfn.script({"task1": ["raise", "success"], "task2": ["success"], "cleanup": ["success"]})
    # When it runs
    result = run(sfn, _risky({}))
    # Then it ran once (the success it would give next is never asked for)
    assert result.attempts == {"task1": 1, "cleanup": 1}
    assert result.executed_tasks == ("task1", "cleanup")


def test_a_raise_that_succeeds_on_retry_continues_on_the_success_branch(
    sfn: SfnHarness,
) -> None:
    # Given task1 with retry max_attempts=3 that raises once, then succeeds
    sfn.script({"task1": ["raise", "success"], "task2": ["success"], "cleanup": ["success"]})
    flow = _risky({"retry": {"max_attempts": 3, "interval_seconds": 1}})
    # When it runs
    result = run(sfn, flow)
    # Then the second attempt's success decides: task2 runs
    assert result.attempts["task1"] == 2
    assert result.executed_tasks == ("task1", "task2")
    assert result.output["results"]["task1"] == success_result("task1", attempt=2)


@pytest.mark.slow  # waits for a real 1 s timeout and a 2 s handler
def test_a_task_that_times_out_takes_the_failure_branch(sfn: SfnHarness) -> None:
    # Given task1 with timeout_seconds=1 whose handler sleeps 2 s, then would succeed
    sfn.script({"task1": ["sleep:2"], "task2": ["success"], "cleanup": ["success"]})
    # When it runs
    result = run(sfn, _risky({"timeout_seconds": 1}))
    # Then the state fails with States.Timeout after 1 s, and the failure branch runs
    assert result.executed_tasks == ("task1", "cleanup")
    assert result.output["results"]["task1"]["Error"] == "States.Timeout"
    # And the handler's late success changes nothing: moto stops waiting for the call
    # but does not interrupt it (as Lambda keeps running after Step Functions gives up).
    sfn.wait_idle()
    assert len(sfn.invoked("task1")) == 1
    assert sfn.wait(result.execution_arn).output == result.output
    assert sfn.invoked("task2") == []


@pytest.mark.slow  # waits for a real 1 s timeout and a 2 s handler
def test_the_flow_timeout_ends_a_running_execution_as_timed_out(sfn: SfnHarness) -> None:
    # Given a flow with timeout_seconds=1 whose first task sleeps 2 s, then succeeds
    sfn.script({"task1": ["sleep:2"], "task2": ["success"], "cleanup": ["success"]})
    flow = make_flow(
        [{"name": "task1"}, {"name": "task2"}, {"name": "cleanup"}],
        [when("task1", "success", "task2", "cleanup")],
        timeout_seconds=1,
    )
    # When it runs
    result = run(sfn, flow)
    # Then the execution is TIMED_OUT while task1 runs, and nothing runs after it
    assert result.status == "TIMED_OUT"
    assert result.executed_tasks == ("task1",)
    sfn.wait_idle()
    assert sfn.invoked("task2") == []
    assert sfn.invoked("cleanup") == []


# ---- §4.1-4.2 what goes in -----------------------------------------------------------------


def test_each_task_receives_flow_execution_task_parameters_context_and_results(
    sfn: SfnHarness,
) -> None:
    # Given task1 (with parameters) → task2, version 7 of flow "pipeline"
    sfn.script({"task1": ["success"], "task2": ["success"]})
    flow = make_flow(
        [{"name": "task1", "parameters": {"mode": "fast", "limit": 10}}, {"name": "task2"}],
        [when("task1", "success", "task2", "end")],
        id="pipeline",
    )
    # When it runs
    result = run(sfn, flow, version=7)
    # Then each handler got the task contract's event, results so far included
    common = {
        "flow_id": "pipeline",
        "flow_version": 7,
        "execution_id": result.name,
        "inline_bytes": MAX_INLINE_DATA_BYTES,  # a two-task flow's share of the state
    }
    assert [(i.function_name, i.event) for i in result.task_events] == [
        (
            "task1",
            {
                **common,
                "task": "task1",
                "retry_count": 0,
                "parameters": {"mode": "fast", "limit": 10},
                "context": CONTEXT,
                "results": {},
            },
        ),
        (
            "task2",
            {
                **common,
                "task": "task2",
                "retry_count": 0,
                "parameters": {},
                "context": CONTEXT,
                "results": {"task1": success_result("task1")},
            },
        ),
    ]


def test_the_execution_input_is_the_context_itself(sfn: SfnHarness) -> None:
    # Given a one-task flow
    sfn.script({"solo": ["success"]})
    # When it is started with the bare context as input (as from the console)
    result = run(sfn, make_flow([{"name": "solo"}]), context={"order": 42})
    # Then Start wraps it as the state's context, with no results yet
    started = result.history[0]
    assert json.loads(started["executionStartedEventDetails"]["input"]) == {"order": 42}
    assert result.state_output("Set up") == {"context": {"order": 42}, "results": {}}
    assert result.output["context"] == {"order": 42}


# ---- §5 cost -------------------------------------------------------------------------------


def test_each_executed_task_costs_at_most_two_state_transitions(sfn: SfnHarness) -> None:
    # Given task1 → task2 → task3 where task3 fails after a retry
    sfn.script({"task1": ["success"], "task2": ["raise", "success"], "task3": ["failure"]})
    flow = make_flow(
        [{"name": "task1"}, {"name": "task2", "retry": {"max_attempts": 2}}, {"name": "task3"}],
        [when("task1", "success", "task2", "end"), when("task2", "success", "task3", "end")],
    )
    # When it runs
    result = run(sfn, flow)
    # Then states entered ≤ 2 per executed task + 3 fixed: Start, Set up, the terminal
    # state (retries are free)
    assert result.executed_tasks == ("task1", "task2", "task3")
    assert result.entered_states[:2] == ("Start", "Set up")
    assert len(result.entered_states) <= 2 * len(result.executed_tasks) + 3
