"""Every rule of the flow language (DESIGN §3): one behaviour a test."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from flow_manager.catalog import placeholder_catalog
from flow_manager.errors import InvalidContext, InvalidFlow, Problem
from flow_manager.model import MAX_PAYLOAD_BYTES, MAX_TASKS
from flow_manager.validation import check_context, check_flow, validate

CATALOG = placeholder_catalog()
FLOWS = Path(__file__).parents[2] / "events" / "flows"


def pipeline() -> dict[str, Any]:
    """The seeds' task1 → task2 → task3 flow."""
    document: dict[str, Any] = json.loads((FLOWS / "data_pipeline.json").read_text())
    return document


def problems_of(document: object) -> list[str]:
    with pytest.raises(InvalidFlow) as caught:
        validate(document, CATALOG)
    return [str(p) for p in caught.value.problems]


def test_seed_flow_is_valid() -> None:
    # Given the seeds' example flow / When it is validated
    flow = validate(pipeline(), CATALOG)
    # Then its tasks and conditions are read as written
    assert [t.name for t in flow.tasks] == ["task1", "task2", "task3"]
    assert flow.condition_for("task2") is not None


@pytest.mark.parametrize("path", sorted(FLOWS.glob("*.json")), ids=lambda p: p.stem)
def test_every_sample_flow_is_valid(path: Path) -> None:
    assert validate(json.loads(path.read_text()), CATALOG).tasks


def test_seed_000_wrapper_is_accepted() -> None:
    # Given seed 000's body {"flow_data": {"flow": ...}}
    flow = validate({"flow_data": pipeline()}, CATALOG)
    # Then the wrapped flow is read
    assert flow.id == "data_pipeline"


def test_flow_without_id_or_descriptions_is_valid() -> None:
    # Given seed 002/003's flows: no id, conditions without description
    document = pipeline()
    del document["flow"]["id"]
    for condition in document["flow"]["conditions"]:
        del condition["description"]
    assert validate(document, CATALOG).id is None


def test_unknown_target_is_reported_with_a_suggestion() -> None:
    document = pipeline()
    document["flow"]["conditions"][1]["target_task_success"] = "taks3"
    assert problems_of(document) == [
        "flow.conditions[1].target_task_success: condition 'condition_task2_result': "
        "unknown task 'taks3' (did you mean 'task3'?)"
    ]


def test_unknown_field_is_reported_with_a_suggestion() -> None:
    document = pipeline()
    document["flow"]["tasks"][0]["descriptoin"] = "typo"
    assert problems_of(document) == [
        "flow.tasks[0].descriptoin: task 'task1': "
        "unknown field 'descriptoin' (did you mean 'description'?)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    # Given a shape error and a reference error in one flow
    document = pipeline()
    document["flow"]["tasks"][0]["timeout_seconds"] = "30"
    document["flow"]["start_task"] = "tsak1"
    # Then both are reported together
    assert problems_of(document) == [
        "flow.tasks[0].timeout_seconds: task 'task1': expected a whole number, got a string",
        "flow.start_task: unknown task 'tsak1' (did you mean 'task1'?)",
    ]


def test_duplicate_task_names_are_rejected() -> None:
    document = pipeline()
    document["flow"]["tasks"].append({"name": "task2"})
    assert "flow.tasks[3].name: duplicate task name 'task2' (also flow.tasks[1])" in problems_of(
        document
    )


def test_end_is_a_reserved_task_name() -> None:
    document = pipeline()
    document["flow"]["tasks"].append({"name": "end", "function": "store_data"})
    assert any(p.startswith("flow.tasks[3].name: 'end' is reserved") for p in problems_of(document))


def test_task_name_pattern_is_enforced() -> None:
    document = pipeline()
    document["flow"]["tasks"][2]["name"] = "3rd task"
    assert problems_of(document)[0].startswith(
        "flow.tasks[2].name: '3rd task' is not valid: a task name is 1-64 letters"
    )


def test_flow_id_pattern_is_enforced() -> None:
    document = pipeline()
    document["flow"]["id"] = "has space"
    assert problems_of(document)[0].startswith("flow.id: 'has space' is not valid")


def test_duplicate_condition_names_are_rejected() -> None:
    document = pipeline()
    document["flow"]["conditions"][1]["name"] = "condition_task1_result"
    assert (
        "flow.conditions[1].name: duplicate condition name 'condition_task1_result' "
        "(also flow.conditions[0])" in problems_of(document)
    )


def test_condition_name_must_differ_from_task_names() -> None:
    document = pipeline()
    document["flow"]["conditions"][0]["name"] = "task3"
    assert problems_of(document) == [
        "flow.conditions[0].name: 'task3' is also a task's name: a condition names its "
        "Choice state, so the two must differ"
    ]


def test_condition_name_is_at_most_80_characters() -> None:
    document = pipeline()
    document["flow"]["conditions"][0]["name"] = "c" * 81
    assert problems_of(document) == [
        'flow.conditions[0].name: string should have at most 80 characters, got "'
        + "c" * 56
        + "..."
    ]


def test_start_task_must_exist() -> None:
    document = pipeline()
    document["flow"]["start_task"] = "end"
    assert problems_of(document) == [
        "flow.start_task: 'end' is not a task here: it can only be a condition's target"
    ]


def test_source_task_must_exist() -> None:
    document = pipeline()
    document["flow"]["conditions"][1]["source_task"] = "task9"
    assert problems_of(document) == [
        "flow.conditions[1].source_task: condition 'condition_task2_result': "
        "unknown task 'task9' (did you mean 'task3'?)"
    ]


def test_one_condition_per_source_task() -> None:
    document = pipeline()
    extra = copy.deepcopy(document["flow"]["conditions"][0])
    extra["name"] = "second_opinion"
    document["flow"]["conditions"].append(extra)
    assert problems_of(document) == [
        "flow.conditions[2].source_task: condition 'second_opinion': task 'task1' already "
        "has a condition (flow.conditions[0] (condition 'condition_task1_result')); "
        "a task has at most one"
    ]


def test_outcome_is_success_or_failure() -> None:
    document = pipeline()
    document["flow"]["conditions"][0]["outcome"] = "sucess"
    assert problems_of(document) == [
        "flow.conditions[0].outcome: condition 'condition_task1_result': "
        "input should be 'success' or 'failure', got \"sucess\""
    ]


def _with_orphan() -> dict[str, Any]:
    document = pipeline()
    document["flow"]["tasks"].append({"name": "orphan", "function": "store_data"})
    return document


ORPHAN_WARNING = (
    "flow.tasks[3]: task 'orphan' is not reachable from start_task 'task1'; "
    "it is left out of the state machine"
)


def test_unreachable_task_is_a_located_warning_not_a_problem() -> None:
    # Given a flow with a task no condition leads to
    # When it is checked
    checked = check_flow(_with_orphan(), CATALOG)
    # Then it is accepted, with one warning that says where and what happens to the task
    assert [t.name for t in checked.flow.tasks] == ["task1", "task2", "task3", "orphan"]
    assert [str(w) for w in checked.warnings] == [ORPHAN_WARNING]


def test_strict_makes_an_unreachable_task_a_problem() -> None:
    # Given the same flow / When validated strictly / Then the warning is a problem
    with pytest.raises(InvalidFlow) as caught:
        validate(_with_orphan(), CATALOG, strict=True)
    assert [str(p) for p in caught.value.problems] == [ORPHAN_WARNING]


def test_a_valid_flow_without_orphans_has_no_warnings() -> None:
    assert check_flow(pipeline(), CATALOG).warnings == ()


def test_cycle_is_reported_as_a_path() -> None:
    # Given task3 loops back to task1
    document = pipeline()
    document["flow"]["conditions"].append(
        {
            "name": "again",
            "source_task": "task3",
            "outcome": "success",
            "target_task_success": "task1",
            "target_task_failure": "end",
        }
    )
    # Then the edge that closes the loop is reported with the loop's path
    assert problems_of(document) == [
        "flow.conditions[2].target_task_success: condition 'again': this makes a cycle: "
        "task1 → task2 → task3 → task1; a flow must not loop"
    ]


def test_task_kind_must_be_in_the_catalog() -> None:
    document = pipeline()
    document["flow"]["tasks"][1]["function"] = "proces_data"
    (message,) = problems_of(document)
    assert message.startswith(
        "flow.tasks[1].function: task 'task2': unknown task kind 'proces_data' "
        "(did you mean 'process_data'?)"
    )


def test_task_name_is_its_kind_by_default() -> None:
    document = pipeline()
    document["flow"]["tasks"].append({"name": "send_email"})
    document["flow"]["conditions"][1]["target_task_failure"] = "send_email"
    (message,) = problems_of(document)
    assert message.startswith("flow.tasks[3].name: unknown task kind 'send_email'")


def test_task_timeout_is_between_1_and_900_seconds() -> None:
    document = pipeline()
    document["flow"]["tasks"][0]["timeout_seconds"] = 901
    assert problems_of(document) == [
        "flow.tasks[0].timeout_seconds: task 'task1': "
        "input should be less than or equal to 900, got 901"
    ]


def test_retry_policy_fields_are_checked() -> None:
    document = pipeline()
    document["flow"]["tasks"][0]["retry"] = {"max_attempts": 0, "backoff": 2}
    assert problems_of(document) == [
        "flow.tasks[0].retry.max_attempts: task 'task1': "
        "input should be greater than or equal to 1, got 0",
        "flow.tasks[0].retry.backoff: task 'task1': unknown field 'backoff' "
        "(did you mean 'backoff_rate'?)",
    ]


def test_express_flow_timeout_is_at_most_5_minutes() -> None:
    document = pipeline()
    document["flow"].update(type="EXPRESS", timeout_seconds=600)
    assert problems_of(document) == [
        "flow.timeout_seconds: an EXPRESS flow runs at most 300 seconds, got 600"
    ]


def test_at_most_500_tasks() -> None:
    tasks = [{"name": f"t{i}", "function": "fetch_data"} for i in range(MAX_TASKS + 1)]
    document = {"flow": {"name": "big", "start_task": "t0", "tasks": tasks}}
    assert f"flow.tasks: a flow has at most {MAX_TASKS} tasks, this one has 501" in problems_of(
        document
    )


def test_a_flow_needs_a_task() -> None:
    document = {"flow": {"name": "empty", "start_task": "t", "tasks": []}}
    assert "flow.tasks: a flow needs at least one task" in problems_of(document)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([1, 2], 'flow: expected a JSON object {"flow": {...}}, got an array'),
        ({"flow": "x"}, "flow: expected a JSON object, got a string"),
        ({}, 'flow: required field is missing: the body is {"flow": {...}}'),
    ],
)
def test_document_that_is_not_a_flow_is_rejected(document: object, expected: str) -> None:
    assert expected in problems_of(document)


def test_bare_flow_is_told_to_wrap_itself() -> None:
    assert problems_of(pipeline()["flow"]) == [
        'flow: required field is missing: wrap the flow as {"flow": {...}}'
    ]


def test_unknown_top_level_field_is_rejected() -> None:
    document = pipeline() | {"flwo": {}}
    assert problems_of(document) == ["flwo: unknown field 'flwo' (did you mean 'flow'?)"]


def test_context_must_be_an_object() -> None:
    with pytest.raises(InvalidContext, match="the context must be a JSON object, got an array"):
        check_context([1])


def test_context_over_256_kib_is_rejected() -> None:
    with pytest.raises(InvalidContext, match="at most 262144 are accepted"):
        check_context({"blob": "x" * MAX_PAYLOAD_BYTES})


def test_context_within_the_limit_is_accepted() -> None:
    check_context({"blob": "x" * (MAX_PAYLOAD_BYTES - 100)})


# ---- parameters are data (DESIGN §3) ------------------------------------------------------


def test_parameter_key_ending_in_dollar_is_refused_as_a_path() -> None:
    # Given a task whose parameters would make Step Functions read the role ARN
    document = pipeline()
    document["flow"]["tasks"][0]["parameters"] = {"role.$": "$$.Execution.RoleArn"}
    # When validated / Then it is refused at that key, saying why
    assert problems_of(document) == [
        "flow.tasks[0].parameters.role.$: task 'task1': a parameter key must not end in "
        "'.$': Step "
        "Functions would evaluate 'role.$' as a path or intrinsic function; parameters "
        "are data (rename the key, e.g. 'role')"
    ]


def test_parameter_key_ending_in_dollar_is_refused_when_nested_in_objects_and_lists() -> None:
    # Given `.$` keys deep inside an object and inside a list
    document = pipeline()
    document["flow"]["tasks"][1]["parameters"] = {
        "a": {"b": {"c.$": "States.UUID()"}},
        "items": [1, {"x.$": "$.context"}],
    }
    # When validated / Then each is located by its path
    locations = [p.split(": ", 1)[0] for p in problems_of(document)]
    assert locations == [
        "flow.tasks[1].parameters.a.b.c.$",
        "flow.tasks[1].parameters.items[1].x.$",
    ]


def test_parameter_values_that_look_like_paths_stay_data() -> None:
    # Given a value (not a key) that looks like a path, and a key with a '$' elsewhere
    document = pipeline()
    document["flow"]["tasks"][0]["parameters"] = {"path": "$.context", "$price": 1, "a.$b": 2}
    # When validated / Then it is accepted: only a key ending in '.$' is evaluated
    assert validate(document, CATALOG).tasks[0].parameters == {
        "path": "$.context",
        "$price": 1,
        "a.$b": 2,
    }


def test_a_context_claiming_to_resume_is_refused() -> None:
    # Given a start whose context carries the reserved resume key (DESIGN §5)
    # When it is checked / Then it is refused at that key: no client can skip a task
    with pytest.raises(InvalidContext) as caught:
        check_context({"flow_manager_resume": {"from": "ship", "context": {}, "results": {}}})
    problem = caught.value.details[0]
    assert isinstance(problem, Problem)
    assert problem.location == "context.flow_manager_resume"
    assert "reserved" in caught.value.message


def test_the_translator_and_validation_agree_on_the_resume_key() -> None:
    from flow_manager import translator, validation

    assert validation.RESUME_KEY == translator.RESUME_KEY


def test_an_unknown_kind_lists_kinds_apart_from_aliases() -> None:
    document = pipeline()
    document["flow"]["tasks"][1]["function"] = "proces_data"
    (message,) = problems_of(document)
    assert "(kinds: fetch_data, print, process_data, store_data; aliases: extract (fetch_data)" in (
        message
    )
