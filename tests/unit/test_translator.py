"""The translator's structure (DESIGN §5). What the state machines *do* is shown by
executing them in moto (tests/integration); these tests pin names, policies and
the golden files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flow_manager.catalog import placeholder_catalog, sam_catalog
from flow_manager.errors import InvalidFlow
from flow_manager.model import Flow, FlowDocument
from flow_manager.results_store import MAX_INLINE_DATA_BYTES
from flow_manager.translator import (
    LAMBDA_TRANSIENT_ERRORS,
    compile_flow,
    render,
    result_path,
    translate,
)

ROOT = Path(__file__).parents[2]
FLOWS = sorted((ROOT / "events" / "flows").glob("*.json"))
CATALOG = placeholder_catalog()


def flow_of(document: dict[str, Any]) -> Flow:
    return FlowDocument.model_validate(document).flow


def sample(name: str) -> Flow:
    return flow_of(json.loads((ROOT / "events" / "flows" / f"{name}.json").read_text()))


def states_of(flow: Flow) -> dict[str, Any]:
    states: dict[str, Any] = translate(flow, CATALOG)["States"]
    return states


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.stem)
def test_golden_state_machine_matches_the_translator(path: Path) -> None:
    # Given a sample flow and its compiled file in statemachine/
    flow = flow_of(json.loads(path.read_text()))
    golden = (ROOT / "statemachine" / f"{path.stem}.asl.json").read_text()
    # When it is compiled with SAM placeholders for the ARNs
    compiled = compile_flow(flow, sam_catalog())
    # Then the file is byte-identical (regenerate: flow-manager compile --sam FILE)
    assert compiled.json == golden


def test_same_flow_compiles_to_identical_bytes() -> None:
    first = compile_flow(sample("outcome_failure"), CATALOG).json
    second = compile_flow(sample("outcome_failure"), CATALOG).json
    assert first == second


def test_execution_input_becomes_the_context() -> None:
    states = states_of(sample("data_pipeline"))
    assert states["Start"]["Default"] == "Set up"
    assert states["Set up"]["Parameters"] == {"context.$": "$", "results": {}}
    assert states["Set up"]["Next"] == "task1"


def test_start_resumes_at_any_top_level_task_with_flow_manager_resume() -> None:
    # Given the sample flow / When compiled (DESIGN §5: the resume entry)
    states = states_of(sample("data_pipeline"))
    # Then Start is a Choice that sends resume input to Resume, which restores the state
    assert states["Start"]["Type"] == "Choice"
    assert states["Start"]["Choices"][0]["Next"] == "Resume"
    resume = states["Resume"]
    assert resume["OutputPath"] == "$.flow_manager_resume"
    assert [c["Next"] for c in resume["Choices"]] == ["task1", "task2", "task3"]
    assert resume["Default"] == "Cannot resume"


def test_choice_state_is_named_after_the_condition() -> None:
    states = states_of(sample("data_pipeline"))
    assert states["task1"]["Next"] == "condition_task1_result"
    assert states["condition_task1_result"]["Type"] == "Choice"


def test_task_without_condition_gets_a_readable_choice_name() -> None:
    states = states_of(sample("data_pipeline"))
    assert states["task3"]["Next"] == "After task3"
    assert states["After task3"]["Default"] == "task3 failed"


def test_generated_name_gives_way_to_a_condition_with_the_same_name() -> None:
    # Given a condition named like the generated Succeed state
    document = json.loads((ROOT / "events" / "flows" / "data_pipeline.json").read_text())
    document["flow"]["conditions"][0]["name"] = "Completed"
    states = states_of(flow_of(document))
    # Then both exist under distinct names
    assert states["Completed"]["Type"] == "Choice"
    assert states["Completed (2)"]["Type"] == "Succeed"


def test_every_task_retries_lambda_transient_errors_with_full_jitter() -> None:
    for name in ("task1", "task2", "task3"):
        transient = states_of(sample("data_pipeline"))[name]["Retry"][0]
        assert transient["ErrorEquals"] == list(LAMBDA_TRANSIENT_ERRORS)
        assert transient["JitterStrategy"] == "FULL"
        assert transient["BackoffRate"] > 1


def test_task_retry_counts_the_first_attempt() -> None:
    # Given retry {max_attempts: 3} (three runs at most)
    fetch = states_of(sample("retry_and_timeout"))["fetch"]
    # Then Step Functions retries twice, after the transient-error retrier
    assert fetch["Retry"][1] == {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 1,
        "MaxAttempts": 2,
        "BackoffRate": 1.5,
    }


def test_task_timeout_and_flow_timeout_are_carried_over() -> None:
    definition = translate(sample("retry_and_timeout"), CATALOG)
    assert definition["States"]["process"]["TimeoutSeconds"] == 2
    assert definition["TimeoutSeconds"] == 300


def test_every_error_is_caught_into_the_tasks_result() -> None:
    (catch,) = states_of(sample("data_pipeline"))["task2"]["Catch"]
    assert catch == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.results.task2",
        "Next": "condition_task2_result",
    }


def test_failure_outcome_condition_routes_failures_to_target_task_success() -> None:
    # Given transform_failed: outcome failure, success target quarantine, failure target load
    choice = states_of(sample("outcome_failure"))["transform_failed"]
    # Then a missing status (raised) and a non-success status go to quarantine
    assert choice["Choices"][0]["Next"] == "quarantine"
    assert choice["Choices"][1] == {
        "Variable": "$.results.transform.status",
        "StringEquals": "success",
        "Next": "load",
    }
    assert choice["Default"] == "quarantine"


def test_fail_state_names_the_failed_task() -> None:
    fail = states_of(sample("data_pipeline"))["task2 failed"]
    assert fail["Type"] == "Fail"
    assert "task2" in fail["Cause"]


def test_task_receives_the_documented_event() -> None:
    payload = states_of(sample("failure_routing"))["fetch"]["Parameters"]["Payload"]
    assert payload == {
        "flow_id": "failure_routing",
        "flow_version": 1,
        "execution_id.$": "$$.Execution.Name",
        "task": "fetch",
        "retry_count.$": "$$.State.RetryCount",
        "parameters": {"fail": True},
        "context.$": "$.context",
        "results.$": "$.results",
        "inline_bytes": MAX_INLINE_DATA_BYTES,  # a small flow's share of the state
    }


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.stem)
def test_every_transition_target_exists_and_every_state_is_used(path: Path) -> None:
    # moto accepts dangling Next targets, so the translator must not produce them.
    # Branches and Map item processors are machines of their own: checked the same way.
    definition = translate(flow_of(json.loads(path.read_text())), CATALOG)
    machines = [definition]
    while machines:
        machine = machines.pop()
        states = machine["States"]
        targets = {machine["StartAt"]}
        for state in states.values():
            targets |= {state.get("Next"), state.get("Default")} - {None}
            targets |= {rule["Next"] for rule in state.get("Choices", []) + state.get("Catch", [])}
            machines += state.get("Branches", [])
            machines += [state["ItemProcessor"]] if "ItemProcessor" in state else []
        assert targets == set(states)


def _all_names(machine: dict[str, Any]) -> list[str]:
    names = list(machine["States"])
    for state in machine["States"].values():
        for sub in [
            *state.get("Branches", []),
            *([state["ItemProcessor"]] if "ItemProcessor" in state else []),
        ]:
            names += _all_names(sub)
    return names


def test_state_names_are_unique_across_branches_and_item_processors() -> None:
    names = _all_names(translate(sample("order_flow"), CATALOG))
    assert len(names) == len(set(names))
    assert all(len(name) <= 80 for name in names)


def test_a_case_rule_carries_its_description_or_when_as_comment() -> None:
    choices = states_of(sample("order_flow"))["route order"]["Choices"]
    assert [c.get("Comment") for c in choices] == [
        None,
        "large orders need a manager's approval",
        "outside the EU: customs hold",
        None,
    ]
    assert [c["Next"] for c in choices] == [
        "Fail after load_order",
        "manager_ok",
        "customs_hold",
        "price_items items?",
    ]


def test_fail_targets_are_fail_states_with_flow_failed_naming_the_condition() -> None:
    state = states_of(sample("order_flow"))["Fail after refund"]
    assert state["Type"] == "Fail"
    assert state["Error"] == "FlowFailed"
    assert state["Cause"] == "Condition 'refunded' ended the flow with 'fail' after task 'refund'."


def test_an_approval_waits_for_a_task_token_with_its_timeout() -> None:
    state = states_of(sample("order_flow"))["manager_ok"]
    assert state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert state["TimeoutSeconds"] == 86400
    assert state["Parameters"]["FunctionName"] == CATALOG["approval"]
    assert state["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"


def test_flow_without_id_needs_one_from_the_caller() -> None:
    document = json.loads((ROOT / "events" / "flows" / "data_pipeline.json").read_text())
    del document["flow"]["id"]
    flow = flow_of(document)
    with pytest.raises(ValueError, match="flow_id"):
        translate(flow, CATALOG)
    payload = translate(flow, CATALOG, flow_id="given", version=4)["States"]["task1"]
    assert payload["Parameters"]["Payload"]["flow_version"] == 4


def test_definition_of_1_mb_or_more_is_rejected() -> None:
    # Given tasks whose parameters push the definition past Step Functions' 1 MB
    blob = "x" * 2000
    tasks = [
        {"name": f"t{i}", "function": "fetch_data", "parameters": {"blob": blob}}
        for i in range(500)
    ]
    conditions = [
        {
            "name": f"after t{i}",
            "source_task": f"t{i}",
            "outcome": "success",
            "target_task_success": f"t{i + 1}",
            "target_task_failure": "end",
        }
        for i in range(499)
    ]
    flow = flow_of(
        {
            "flow": {
                "id": "big",
                "name": "big",
                "start_task": "t0",
                "tasks": tasks,
                "conditions": conditions,
            }
        }
    )
    # Then compiling says so, as a flow problem
    with pytest.raises(InvalidFlow) as caught:
        compile_flow(flow, CATALOG)
    assert "the compiled state machine is" in str(caught.value.problems[0])


def test_render_ends_with_a_newline_and_keeps_unicode() -> None:
    assert render({"Comment": "café"}) == '{\n  "Comment": "café"\n}\n'


def test_task_name_with_a_hyphen_uses_bracket_notation() -> None:
    # Given a task named "load-final" (valid, but not a plain JSONPath field name)
    document = json.loads((ROOT / "events" / "flows" / "data_pipeline.json").read_text())
    document["flow"]["tasks"].append({"name": "load-final", "function": "store_data"})
    document["flow"]["conditions"].append(
        {
            "name": "c3",
            "source_task": "task3",
            "outcome": "success",
            "target_task_success": "load-final",
            "target_task_failure": "end",
        }
    )
    state = states_of(flow_of(document))
    # Then its result path and Choice variable use brackets
    assert state["load-final"]["ResultPath"] == "$.results['load-final']"
    assert state["After load-final"]["Choices"][1]["Variable"] == ("$.results['load-final'].status")


def test_a_name_that_could_escape_a_path_is_refused_not_spliced() -> None:
    # Given a name validation would have refused (a quote would close the bracket path)
    # When it is asked for as a result path / Then the translator refuses it
    with pytest.raises(ValueError, match="refused in a path"):
        result_path("a']$$.Execution['x")


def test_an_unreachable_task_is_left_out_of_the_state_machine() -> None:
    # Given task1 → end and an orphan no condition leads to
    flow = flow_of(
        {
            "flow": {
                "id": "orphaned",
                "name": "orphaned",
                "start_task": "task1",
                "tasks": [{"name": "task1"}, {"name": "orphan", "function": "task2"}],
            }
        }
    )
    # When compiled / Then the orphan has no state
    states = translate(flow, CATALOG)["States"]
    assert "orphan" not in states
    assert "After orphan" not in states
    assert "task1" in states


def test_a_definition_too_large_indented_is_rendered_compact_and_deterministic() -> None:
    # Given a 500-task chain whose indented definition passes 1 MB, but not its compact form
    tasks = [
        {"name": f"t{i}", "function": "fetch_data", "parameters": {"pad": "x" * 300}}
        for i in range(500)
    ]
    conditions = [
        {
            "name": f"after t{i}",
            "source_task": f"t{i}",
            "outcome": "success",
            "target_task_success": f"t{i + 1}",
            "target_task_failure": "end",
        }
        for i in range(499)
    ]
    flow = flow_of(
        {
            "flow": {
                "id": "wide",
                "name": "w",
                "start_task": "t0",
                "tasks": tasks,
                "conditions": conditions,
            }
        }
    )
    assert len(render(translate(flow, CATALOG)).encode()) >= 1024 * 1024
    # When compiled / Then it is the compact rendering, the same bytes every time
    compiled = compile_flow(flow, CATALOG)
    assert "\n  " not in compiled.json
    assert json.loads(compiled.json) == compiled.definition
    assert compile_flow(flow, CATALOG).json == compiled.json


TRANSLATOR_PATH_KEYS = {
    "context.$",
    "results.$",
    "execution_id.$",
    "retry_count.$",
    "task_token.$",
    "item.$",
    "index.$",
    "status.$",
    "data.$",
    "error.$",
    "branches.$",
}


def _path_keys(value: Any, inside_parameters: bool = False) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key.endswith(".$"):
                found.append((key, inside_parameters))
            found += _path_keys(child, inside_parameters or key == "parameters")
    elif isinstance(value, list):
        for child in value:
            found += _path_keys(child, inside_parameters)
    return found


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.stem)
def test_only_the_translators_own_keys_are_evaluated_as_paths(path: Path) -> None:
    # Given a sample flow / When compiled / Then every key Step Functions evaluates
    # (ending in '.$') is one the translator writes, and none is inside task parameters
    keys = _path_keys(translate(flow_of(json.loads(path.read_text())), CATALOG))
    assert {key for key, _ in keys} <= TRANSLATOR_PATH_KEYS
    assert not [key for key, inside in keys if inside]
