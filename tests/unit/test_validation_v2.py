"""Language v2 rules (DESIGN §3.1): one behaviour a test, each problem located and named."""

from __future__ import annotations

from typing import Any

import pytest

from flow_manager.catalog import placeholder_catalog
from flow_manager.errors import InvalidFlow
from flow_manager.validation import check_flow

CATALOG = {**placeholder_catalog(), "approval": "arn:aws:lambda:us-east-1:1:function:approval"}


def flow(tasks: list[dict[str, Any]], conditions: list[dict[str, Any]] = (), **extra: Any) -> Any:  # type: ignore[assignment]
    return {
        "flow": {
            "id": "v2",
            "name": "v2",
            "start_task": tasks[0]["name"],
            "tasks": tasks,
            "conditions": list(conditions),
            **extra,
        }
    }


def task(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "function": "fetch_data", **fields}


def branch(name: str, *tasks: dict[str, Any], conditions: list[dict[str, Any]] = ()) -> Any:  # type: ignore[assignment]
    return {
        "name": name,
        "start_task": tasks[0]["name"],
        "tasks": list(tasks),
        "conditions": list(conditions),
    }


def cond(source: str, success: str, failure: str = "end", name: str = "", **extra: Any) -> Any:
    return {
        "name": name or f"after_{source}",
        "source_task": source,
        "outcome": "success",
        "target_task_success": success,
        "target_task_failure": failure,
        **extra,
    }


def problems(document: Any, catalog: Any = CATALOG) -> list[str]:
    with pytest.raises(InvalidFlow) as caught:
        check_flow(document, catalog)
    return [str(p) for p in caught.value.problems]


def test_fail_and_succeed_are_targets() -> None:
    document = flow([task("a"), task("b")], [cond("a", "b", "fail"), cond("b", "succeed", "fail")])
    assert check_flow(document, CATALOG).flow.tasks[1].name == "b"


@pytest.mark.parametrize("reserved", ["end", "fail", "succeed"])
def test_terminal_names_are_reserved(reserved: str) -> None:
    assert problems(flow([task("a"), {"name": reserved, "function": "fetch_data"}])) == [
        f"flow.tasks[1].name: '{reserved}' is reserved: a target '{reserved}' ends the flow"
    ]


def test_a_misspelt_terminal_target_gets_a_did_you_mean() -> None:
    assert problems(flow([task("a")], [cond("a", "fial")])) == [
        "flow.conditions[0].target_task_success: condition 'after_a': "
        "unknown task 'fial' (did you mean 'fail'?)"
    ]


def test_a_case_when_is_parsed_and_located_naming_its_condition() -> None:
    cases = [{"when": "data.x > 1", "target": "end"}, {"when": "dta.x > 1", "target": "end"}]
    assert problems(flow([task("a")], [cond("a", "end", name="c2", cases=cases)])) == [
        "flow.conditions[0].cases[1].when: unknown name 'dta' at column 1 "
        "(did you mean 'data'?) in condition 'c2'"
    ]


def test_a_case_target_must_exist() -> None:
    cases = [{"when": "data.x > 1", "target": "tsk2"}]
    assert problems(flow([task("a"), task("task2")], [cond("a", "task2", cases=cases)])) == [
        "flow.conditions[0].cases[0].target: condition 'after_a': "
        "unknown task 'tsk2' (did you mean 'task2'?)"
    ]


def test_a_case_target_can_make_a_cycle() -> None:
    cases = [{"when": "data.x > 1", "target": "a"}]
    found = problems(flow([task("a"), task("b")], [cond("a", "b"), cond("b", "end", cases=cases)]))
    assert found == [
        "flow.conditions[1].cases[0].target: condition 'after_b': "
        "this makes a cycle: a → b → a; a flow must not loop"
    ]


def test_at_most_20_cases() -> None:
    cases = [{"when": "data.x > 1", "target": "end"}] * 21
    assert problems(flow([task("a")], [cond("a", "end", cases=cases)])) == [
        "flow.conditions[0].cases: condition 'after_a': "
        "a condition has at most 20 cases, this one has 21"
    ]


def test_a_wait_task_needs_exactly_one_of_its_fields() -> None:
    assert problems(flow([{"name": "w", "type": "wait"}])) == [
        "flow.tasks[0]: wait task 'w' needs one of seconds, until or seconds_from"
    ]
    assert problems(
        flow([{"name": "w", "type": "wait", "seconds": 1, "seconds_from": "context.s"}])
    ) == [
        "flow.tasks[0].seconds_from: wait task 'w' takes one of seconds, until or "
        "seconds_from, not both seconds and seconds_from"
    ]


def test_until_is_an_rfc3339_timestamp() -> None:
    assert problems(flow([{"name": "w", "type": "wait", "until": "24.12.2026"}])) == [
        "flow.tasks[0].until: task 'w': '24.12.2026' is not an RFC 3339 timestamp such as "
        "'2026-12-24T09:00:00Z'"
    ]


def test_seconds_from_is_a_context_or_results_path() -> None:
    assert problems(flow([{"name": "w", "type": "wait", "seconds_from": "data.delay"}])) == [
        "flow.tasks[0].seconds_from: a path here starts with context. or results.<task>.data "
        "(there is no source task whose data, status or error it could mean) at column 1 "
        "in task 'w'"
    ]


def test_fields_of_another_type_are_refused_by_name() -> None:
    assert problems(
        flow([{"name": "w", "type": "wait", "seconds": 1, "retry": {"max_attempts": 2}}])
    ) == [
        "flow.tasks[0].retry: 'retry' does not apply to wait tasks (task 'w'); it is for task tasks"
    ]


@pytest.mark.parametrize("kind", [[None], {"a": 1}], ids=["list", "object"])
def test_a_type_that_is_not_a_string_is_a_located_problem(kind: Any) -> None:
    # Given a task whose type is JSON but not text (a list is not even hashable)
    found = problems(flow([{"name": "a", "type": kind}]))
    # Then it is a problem at the task's type, not a crash
    assert [p for p in found if p.startswith("flow.tasks[0].type:")], found


def test_for_each_is_a_path_and_max_concurrency_needs_it() -> None:
    assert problems(flow([task("a", for_each="results.fech.data.items")])) == [
        "flow.tasks[0].for_each: unknown task 'fech' at column 1 in task 'a'"
    ]
    assert problems(flow([task("a", max_concurrency=5)])) == [
        "flow.tasks[0].max_concurrency: max_concurrency needs for_each (task 'a')"
    ]
    assert problems(flow([task("a", for_each="context.items", max_concurrency=41)])) == [
        "flow.tasks[0].max_concurrency: task 'a': input should be less than or equal to 40, got 41"
    ]


def test_a_task_timeout_is_still_at_most_900_seconds() -> None:
    assert problems(flow([task("a", timeout_seconds=901)])) == [
        "flow.tasks[0].timeout_seconds: task 'a': "
        "input should be less than or equal to 900, got 901"
    ]


def test_a_parallel_task_has_2_to_10_branches() -> None:
    assert problems(
        flow([{"name": "p", "type": "parallel", "branches": [branch("g", task("x"))]}])
    ) == ["flow.tasks[0].branches: task 'p': a parallel task has 2 to 10 branches, this one has 1"]


def test_task_names_are_unique_across_branches() -> None:
    branches = [branch("g", task("a")), branch("h", task("y"))]
    assert problems(flow([{"name": "a", "type": "parallel", "branches": branches}])) == [
        "flow.tasks[0].branches[0].tasks[0].name: duplicate task name 'a' (also flow.tasks[0])",
        "flow.tasks[0].branches[0].start_task: branch 'g': unknown task 'a'",
    ]


def test_conditions_stay_in_their_branch() -> None:
    inner = branch("h", task("y"), conditions=[cond("y", "after")])
    branches = [branch("g", task("x")), inner]
    document = flow(
        [{"name": "p", "type": "parallel", "branches": branches}, task("after")],
        [cond("p", "after")],
    )
    assert problems(document) == [
        "flow.tasks[0].branches[1].conditions[0].target_task_success: condition 'after_y': "
        "task 'after' is in "
        "another branch or outside this one: conditions and their targets stay inside "
        "their own flow or branch"
    ]


def test_a_case_inside_a_branch_is_located_through_it() -> None:
    cases = [{"when": "data.x >", "target": "end"}]
    inner = branch("h", task("y"), conditions=[cond("y", "end", name="c_y", cases=cases)])
    document = flow(
        [{"name": "p", "type": "parallel", "branches": [branch("g", task("x")), inner]}]
    )
    [problem] = problems(document)
    assert problem.startswith(
        "flow.tasks[0].branches[1].conditions[0].cases[0].when: invalid syntax"
    )
    assert problem.endswith("in condition 'c_y'")


def test_an_unreachable_task_in_a_branch_is_a_warning() -> None:
    branches = [branch("g", task("x"), task("orphan")), branch("h", task("y"))]
    checked = check_flow(flow([{"name": "p", "type": "parallel", "branches": branches}]), CATALOG)
    assert [str(w) for w in checked.warnings] == [
        "flow.tasks[0].branches[0].tasks[1]: task 'orphan' is not reachable from start_task "
        "'x'; it is left out of the state machine"
    ]


def test_parallel_tasks_nest_at_most_3_deep() -> None:
    inner: dict[str, Any] = {
        "name": "p3",
        "type": "parallel",
        "branches": [branch("a", task("q1")), branch("b", task("q2"))],
    }
    for depth in range(3):
        inner = {
            "name": f"p{depth}",
            "type": "parallel",
            "branches": [branch("a", inner), branch("b", task(f"z{depth}"))],
        }
    [problem] = problems(flow([inner]))
    assert problem.endswith("branches: parallel tasks nest at most 3 deep; 'p3' is at depth 4")


def test_an_approval_needs_the_catalogs_internal_kind() -> None:
    without = {k: v for k, v in CATALOG.items() if k != "approval"}
    assert problems(flow([{"name": "ok", "type": "approval"}]), without) == [
        "flow.tasks[0].type: approval task 'ok' needs the catalog's internal kind 'approval' "
        "(the ApprovalFunction), which this catalog does not have"
    ]


def test_the_approval_kind_is_not_a_user_kind() -> None:
    assert problems(flow([{"name": "a", "function": "approval"}])) == [
        "flow.tasks[0].function: task 'a': "
        '\'approval\' is an internal kind: write "type": "approval" instead'
    ]


def test_an_approval_timeout_may_be_up_to_a_year() -> None:
    document = flow([{"name": "ok", "type": "approval", "timeout_seconds": 31_536_000}])
    assert check_flow(document, CATALOG).flow.tasks[0].timeout_seconds == 31_536_000
