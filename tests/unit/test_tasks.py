"""The task SDK (flow_manager.tasks): what a task Lambda answers (DESIGN §4.2, §6)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flow_manager.demo_switches import (
    DemoError,
    SimulatedTransientError,
    apply_demo_parameters,
    apply_failure_rate,
    failure_draw,
)
from flow_manager.model import MAX_PAYLOAD_BYTES, TaskResult
from flow_manager.tasks import TaskFailure, TaskInput, normalise_result, task_handler


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "flow_id": "data_pipeline",
        "flow_version": 3,
        "execution_id": "exec-1",
        "task": "task2",
        "retry_count": 0,
        "parameters": {},
        "context": {"batch_id": "b1"},
        "results": {},
    }
    return {**base, **overrides}


def run(function: Any, payload: Any) -> dict[str, Any]:
    """Invoke `function` as Lambda would: decorated, with a JSON round trip each way."""
    handler = task_handler(function)
    answer = handler(json.loads(json.dumps(payload)), None)
    parsed: dict[str, Any] = json.loads(json.dumps(answer))
    return parsed


def task_input(**overrides: Any) -> TaskInput:
    captured: list[TaskInput] = []
    run(captured.append, event(**overrides))
    return captured[0]


# ---- results of the handler -----------------------------------------------------------


def test_returned_value_is_a_success_with_that_data() -> None:
    answer = run(lambda task: {"rows": 3}, event())
    assert answer == {"status": "success", "data": {"rows": 3}, "error": None}


def test_returned_none_is_a_success_without_data() -> None:
    assert run(lambda task: None, event()) == {"status": "success", "data": None, "error": None}


def test_returned_task_result_is_answered_as_is() -> None:
    result = TaskResult(status="failure", data={"why": "x"}, error="checked and refused")
    assert run(lambda task: result, event()) == {
        "status": "failure",
        "data": {"why": "x"},
        "error": "checked and refused",
    }


def test_task_failure_is_a_failure_result_with_its_message_and_data() -> None:
    def handler(task: TaskInput) -> None:
        raise TaskFailure("3 records rejected", data={"rejected": [1, 2, 3]})

    assert run(handler, event()) == {
        "status": "failure",
        "data": {"rejected": [1, 2, 3]},
        "error": "3 records rejected",
    }


def test_other_exceptions_propagate_for_step_functions_to_retry() -> None:
    class DatabaseDown(Exception):
        pass

    def handler(task: TaskInput) -> None:
        raise DatabaseDown("connection refused")

    with pytest.raises(DatabaseDown, match="connection refused"):
        run(handler, event())


def test_values_json_cannot_encode_are_made_plain_json() -> None:
    # Given a handler returning what DynamoDB and datetime give
    value = {"n": Decimal("1.5"), "at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}
    # When it is invoked, Then the answer is plain JSON
    answer = run(lambda task: value, event())
    assert answer["data"] == {"n": "1.5", "at": "2026-01-02T03:04:05Z"}


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_return_value_gives_the_three_fields(value: Any) -> None:
    answer = run(lambda task: value, event())
    assert answer == {"status": "success", "data": value, "error": None}


def test_result_too_large_for_the_execution_state_is_a_failure_saying_so() -> None:
    # Given a handler returning more than Step Functions can carry
    big = "x" * MAX_PAYLOAD_BYTES
    # When it is invoked
    answer = run(lambda task: big, event())
    # Then it fails instead of failing the whole execution with DataLimitExceeded
    assert answer["status"] == "failure"
    assert answer["data"] is None
    assert "too large" in answer["error"]


# ---- the event --------------------------------------------------------------------------


def test_event_missing_fields_is_a_failure_naming_them() -> None:
    answer = run(lambda task: "never", {"task": "task1"})
    assert answer["status"] == "failure"
    assert answer["data"] is None
    assert answer["error"].startswith("invalid task event: ")
    assert "flow_id: Field required" in answer["error"]
    assert "execution_id: Field required" in answer["error"]


def test_event_that_is_not_an_object_is_a_failure() -> None:
    answer = run(lambda task: "never", ["not", "an", "event"])
    assert answer["status"] == "failure"
    assert answer["error"].startswith("invalid task event: ")


def test_handler_gets_ids_parameters_context_and_retry_count() -> None:
    task = task_input(retry_count=2, parameters={"multiplier": 2})
    assert (task.flow_id, task.flow_version, task.execution_id, task.task) == (
        "data_pipeline",
        3,
        "exec-1",
        "task2",
    )
    assert task.retry_count == 2
    assert task.parameters == {"multiplier": 2}
    assert task.context == {"batch_id": "b1"}
    assert task.context_value("batch_id") == "b1"


def test_context_value_of_a_non_object_context_is_the_default() -> None:
    task = task_input(context=[1, 2])
    assert task.context_value("batch_id", "none") == "none"


def test_unknown_event_fields_are_ignored() -> None:
    task = task_input(added_in_a_later_version=True)
    assert task.task == "task2"


# ---- results of earlier tasks -----------------------------------------------------------


def test_earlier_success_is_given_as_a_task_result() -> None:
    task = task_input(results={"task1": {"status": "success", "data": [1], "error": None}})
    assert task.results["task1"] == TaskResult(status="success", data=[1])


def test_earlier_task_that_raised_is_a_failure_with_type_and_message() -> None:
    # Given the {Error, Cause} that Catch stores for a Lambda that raised
    cause = json.dumps({"errorMessage": "timed out", "errorType": "SourceUnavailable"})
    task = task_input(results={"task1": {"Error": "SourceUnavailable", "Cause": cause}})
    # Then the handler sees a normal failure result
    assert task.results["task1"] == TaskResult(
        status="failure", data=None, error="SourceUnavailable: timed out"
    )


def test_caught_error_with_plain_text_cause_keeps_the_text() -> None:
    result = normalise_result({"Error": "States.Timeout", "Cause": "Task timed out"})
    assert result.error == "States.Timeout: Task timed out"


def test_caught_error_without_cause_is_named_by_its_error() -> None:
    assert normalise_result({"Error": "States.Timeout"}).error == "States.Timeout"


def test_unrecognised_earlier_result_is_a_failure_saying_so() -> None:
    result = normalise_result("garbage", "task1")
    assert result.status == "failure"
    assert result.error is not None
    assert result.error.startswith("unrecognised result of task1")


def test_upstream_finds_the_most_recent_success_with_the_key() -> None:
    task = task_input(
        results={
            "task1": {"status": "success", "data": {"records": [1]}, "error": None},
            "task2": {"status": "success", "data": {"records": [2]}, "error": None},
            "task3": {"status": "failure", "data": {"records": [3]}, "error": "x"},
        }
    )
    assert task.upstream("records") == ("task2", [2])


def test_upstream_of_a_named_task_reads_that_task() -> None:
    task = task_input(
        results={
            "task1": {"status": "success", "data": {"records": [1]}, "error": None},
            "task2": {"status": "success", "data": {"records": [2]}, "error": None},
        }
    )
    assert task.upstream("records", "task1") == ("task1", [1])


def test_upstream_of_a_failed_task_is_a_task_failure_with_its_error() -> None:
    task = task_input(results={"task1": {"Error": "Boom", "Cause": "it broke"}})
    with pytest.raises(TaskFailure, match="task 'task1' failed: Boom: it broke"):
        task.upstream("records", "task1")


def test_upstream_with_nothing_found_is_a_task_failure_listing_what_ran() -> None:
    task = task_input(results={"task1": {"status": "success", "data": 5, "error": None}})
    with pytest.raises(TaskFailure, match=r"no earlier task .*data\.records.*task1"):
        task.upstream("records")


# ---- demo switches -----------------------------------------------------------------------


def demo(parameters: dict[str, Any], **overrides: Any) -> TaskInput:
    return task_input(parameters=parameters, **overrides)


def test_demo_fail_is_a_task_failure() -> None:
    with pytest.raises(TaskFailure, match="task2 failed on purpose"):
        apply_demo_parameters(demo({"fail": True}))


def test_demo_fail_with_text_uses_the_text() -> None:
    with pytest.raises(TaskFailure, match=r"^source is offline$"):
        apply_demo_parameters(demo({"fail": "source is offline"}))


def test_demo_raise_raises_an_error_of_that_name() -> None:
    with pytest.raises(DemoError) as raised:
        apply_demo_parameters(demo({"raise": "DatabaseUnavailable"}))
    # Lambda reports type(exc).__name__: that is what Retry/Catch match
    assert type(raised.value).__name__ == "DatabaseUnavailable"


def test_demo_raise_true_raises_demo_error() -> None:
    with pytest.raises(DemoError) as raised:
        apply_demo_parameters(demo({"raise": True}))
    assert type(raised.value).__name__ == "DemoError"


def test_demo_raise_with_an_invalid_name_is_a_task_failure() -> None:
    with pytest.raises(TaskFailure, match="raise: must be true, false or an error name"):
        apply_demo_parameters(demo({"raise": "not a name!"}))


def test_demo_fail_attempts_raises_while_retry_count_is_below() -> None:
    with pytest.raises(SimulatedTransientError, match="attempt 2 of task2"):
        apply_demo_parameters(demo({"fail_attempts": 2}, retry_count=1))


def test_demo_fail_attempts_lets_the_attempt_after_them_work() -> None:
    apply_demo_parameters(demo({"fail_attempts": 2}, retry_count=2))


def test_demo_sleep_seconds_sleeps_that_long(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    apply_demo_parameters(demo({"sleep_seconds": 1.5}))
    assert slept == [1.5]


@pytest.mark.parametrize(
    "parameters",
    [
        {"sleep_seconds": -1},
        {"sleep_seconds": "5"},
        {"fail_attempts": 1.5},
        {"fail_attempts": -1},
        {"fail": 1},
    ],
    ids=str,
)
def test_demo_switch_with_a_bad_value_is_a_task_failure(parameters: dict[str, Any]) -> None:
    with pytest.raises(TaskFailure, match="must be"):
        apply_demo_parameters(demo(parameters))


def test_demo_switch_in_the_context_overrides_the_parameters() -> None:
    task = demo({"fail": True}, context={"demo": {"task2": {"fail": False}}})
    apply_demo_parameters(task)  # does not fail


def test_demo_switch_in_the_context_applies_to_its_task_only() -> None:
    task = demo({}, context={"demo": {"task1": {"fail": True}}})
    apply_demo_parameters(task)  # task2 is not task1


def test_no_demo_switch_does_nothing() -> None:
    apply_demo_parameters(demo({"multiplier": 2}))


@pytest.mark.parametrize(
    "name", ["Lambda.ServiceException", "States.Timeout", "States.ALL", "Sandbox.Timedout"]
)
def test_demo_raise_cannot_impersonate_lambda_or_states_errors(name: str) -> None:
    # Given raise naming an error Step Functions or the task's Retry treat specially
    # When the task acts on it
    # Then it raises nothing: a failure result says why
    with pytest.raises(TaskFailure, match=r"no '\.': Lambda\.\* and States\.\*"):
        apply_demo_parameters(demo({"raise": name}))


def test_demo_raise_name_longer_than_64_characters_is_a_task_failure() -> None:
    with pytest.raises(TaskFailure, match="raise: must be"):
        apply_demo_parameters(demo({"raise": "E" * 65}))


def test_an_unknown_switch_in_the_context_is_a_task_failure_naming_it() -> None:
    # Given context.demo.task2 with a misspelt switch (a start from the console skips
    # the API's check)
    task = demo({}, context={"demo": {"task2": {"fial": True}}})
    # Then the task fails, naming the switch and what was meant
    with pytest.raises(TaskFailure, match=r"fial: unknown switch \(did you mean 'fail'\?\)"):
        apply_demo_parameters(task)


def test_demo_switches_are_refused_when_the_stack_disables_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stack deployed with DemoSwitches=disabled (the template's default)
    monkeypatch.setenv("DEMO_SWITCHES", "disabled")
    # When a task's parameters or the context ask for a switch
    # Then nothing raises or sleeps: the task fails saying the switches are disabled
    with pytest.raises(TaskFailure, match="demo switches are disabled on this stack"):
        apply_demo_parameters(demo({"raise": "DatabaseUnavailable"}))
    with pytest.raises(TaskFailure, match=r"disabled.*: fail not acted on"):
        apply_demo_parameters(demo({}, context={"demo": {"task2": {"fail": True}}}))


def test_demo_switches_are_off_when_the_environment_does_not_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEMO_SWITCHES")
    with pytest.raises(TaskFailure, match="disabled"):
        apply_demo_parameters(demo({"fail_attempts": 3}))


def test_a_task_without_switches_works_when_the_stack_disables_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_SWITCHES", "disabled")
    apply_demo_parameters(demo({"multiplier": 2}, context={"demo": {"task1": {"fail": True}}}))


# ---- cold start ---------------------------------------------------------------------------


def test_sdk_import_loads_neither_boto3_nor_powertools() -> None:
    code = (
        "import sys, flow_manager.tasks; "
        "print(sorted(m for m in ('boto3', 'botocore', 'aws_lambda_powertools') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# ---- failure_rate (seed 001) ------------------------------------------------------------


def test_failure_rate_one_always_fails() -> None:
    answer = run(_failing_at_rate, event(parameters={"failure_rate": 1}))
    assert answer["status"] == "failure"
    assert "failure_rate=1" in answer["error"]


def test_failure_rate_zero_never_fails() -> None:
    answers = [
        run(_failing_at_rate, event(execution_id=f"e{i}", parameters={"failure_rate": 0}))
        for i in range(20)
    ]
    assert {a["status"] for a in answers} == {"success"}


def test_failure_rate_between_is_the_same_draw_for_the_same_execution_and_task() -> None:
    first = run(_failing_at_rate, event(execution_id="e-7", parameters={"failure_rate": 0.5}))
    again = run(_failing_at_rate, event(execution_id="e-7", parameters={"failure_rate": 0.5}))
    assert first == again


def test_failure_rate_between_fails_some_executions_and_not_others() -> None:
    statuses = {
        run(_failing_at_rate, event(execution_id=f"e{i}", parameters={"failure_rate": 0.5}))[
            "status"
        ]
        for i in range(40)
    }
    assert statuses == {"success", "failure"}


def test_failure_draw_is_within_zero_and_one() -> None:
    assert all(0 <= failure_draw(f"e{i}", "t") < 1 for i in range(100))


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5", True])
def test_failure_rate_out_of_range_or_not_a_number_is_a_failure_saying_so(rate: Any) -> None:
    answer = run(_failing_at_rate, event(parameters={"failure_rate": rate}))
    assert answer["status"] == "failure"
    assert "failure_rate must be a number from 0 to 1" in answer["error"]


def _failing_at_rate(task: TaskInput) -> str:
    apply_failure_rate(task)
    return "worked"
