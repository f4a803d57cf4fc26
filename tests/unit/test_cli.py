"""`flow-manager validate` and `compile`: exit codes, output, and no traceback ever."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flow_manager_local.cli import main

ROOT = Path(__file__).parents[2]
FLOWS = sorted((ROOT / "events" / "flows").glob("*.json"))
PIPELINE = ROOT / "events" / "flows" / "data_pipeline.json"


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.stem)
def test_validate_accepts_every_sample_flow(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(path)]) == 0
    assert f"valid flow '{path.stem}'" in capsys.readouterr().out


def test_validate_summarises_the_flow(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(PIPELINE)]) == 0
    assert capsys.readouterr().out == (
        f"{PIPELINE}: valid flow 'data_pipeline': 3 tasks, 2 conditions, 14 states\n"
    )


def test_validate_lists_every_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a flow with two mistakes
    document = json.loads(PIPELINE.read_text())
    document["flow"]["start_task"] = "tsak1"
    document["flow"]["conditions"][0]["target_task_success"] = "task9"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    # When it is validated / Then both are listed, one a line
    assert main(["validate", str(bad)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{bad}: invalid flow, 2 problems:",
        "  flow.start_task: unknown task 'tsak1' (did you mean 'task1'?)",
        "  flow.conditions[0].target_task_success: condition 'condition_task1_result': "
        "unknown task 'task9' (did you mean 'task3'?)",
    ]


def test_validate_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PIPELINE.read_text()))
    assert main(["validate", "-"]) == 0


def test_input_that_is_not_json_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("{flow: "))
    assert main(["validate", "-"]) == 1
    assert (
        "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"
        in (capsys.readouterr().err)
    )


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/nonexistent/flow.json"]) == 2
    assert capsys.readouterr().err == (
        "flow-manager: cannot read /nonexistent/flow.json: No such file or directory\n"
    )


def test_catalog_decides_which_kinds_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a catalog without process_data's aliases
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"task1": "arn:1", "task3": "arn:3"}))
    # Then task2 is an unknown kind
    assert main(["validate", str(PIPELINE), "--catalog", str(catalog)]) == 1
    assert "flow.tasks[1].name: unknown task kind 'task2'" in capsys.readouterr().err


def test_catalog_that_is_not_an_object_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text("[]")
    assert main(["validate", str(PIPELINE), "--catalog", str(catalog)]) == 2
    assert "expected a JSON object mapping task kinds to Lambda ARNs" in capsys.readouterr().err


def test_compile_prints_the_state_machine_with_catalog_arns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.json"
    arns = {k: f"arn:aws:lambda:eu-west-1:1:function:{k}" for k in ("task1", "task2", "task3")}
    catalog.write_text(json.dumps(arns))
    assert main(["compile", str(PIPELINE), "--catalog", str(catalog), "--version", "3"]) == 0
    definition = json.loads(capsys.readouterr().out)
    task2 = definition["States"]["task2"]["Parameters"]
    assert task2["FunctionName"] == arns["task2"]
    assert task2["Payload"]["flow_version"] == 3


def test_default_catalog_is_the_templates(capsys: pytest.CaptureFixture[str]) -> None:
    # Given no --catalog in a checkout / When compiling the seeds' flow
    assert main(["compile", str(PIPELINE)]) == 0
    definition = json.loads(capsys.readouterr().out)
    # Then task2 (an alias of process_data) runs the template's ProcessDataFunction
    function = definition["States"]["task2"]["Parameters"]["FunctionName"]
    assert function.endswith(":function:flow-manager-ProcessDataFunction")


def test_compile_sam_matches_the_golden_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "--sam", str(PIPELINE)]) == 0
    golden = (ROOT / "statemachine" / "data_pipeline.asl.json").read_text()
    assert capsys.readouterr().out == golden


def test_compile_names_a_flow_without_id_after_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(PIPELINE.read_text())
    del document["flow"]["id"]
    path = tmp_path / "my flow.json"
    path.write_text(json.dumps(document))
    assert main(["compile", str(path)]) == 0
    definition = json.loads(capsys.readouterr().out)
    assert definition["States"]["task1"]["Parameters"]["Payload"]["flow_id"] == "my_flow"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: flow-manager" in capsys.readouterr().err


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["flow", "tasks", "name", "x"]), inner, max_size=4
                )
            ),
            max_leaves=20,
        ).map(json.dumps),
    )
)
def test_no_input_makes_validate_or_compile_raise(
    text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("validate", "compile"):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        # Then the answer is an exit code, never an exception
        assert main([command, "-"]) in {0, 1}
        capsys.readouterr()


def _orphaned(tmp_path: Path) -> Path:
    document = json.loads(PIPELINE.read_text())
    document["flow"]["tasks"].append({"name": "orphan", "function": "store_data"})
    path = tmp_path / "orphaned.json"
    path.write_text(json.dumps(document))
    return path


ORPHAN = (
    "flow.tasks[3]: task 'orphan' is not reachable from start_task 'task1'; "
    "it is left out of the state machine"
)


def test_validate_prints_warnings_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a flow with an unreachable task / When validated
    path = _orphaned(tmp_path)
    assert main(["validate", str(path)]) == 0
    # Then it is valid, and the warning is listed under the summary
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: valid flow 'data_pipeline': 4 tasks, 2 conditions, 14 states, 1 warning:",
        f"  warning: {ORPHAN}",
    ]


def test_validate_strict_makes_warnings_errors_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _orphaned(tmp_path)
    assert main(["validate", "--strict", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: invalid flow, 1 problem:",
        f"  {ORPHAN}",
    ]


def test_compile_warns_on_stderr_and_prints_the_machine_without_the_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _orphaned(tmp_path)
    assert main(["compile", str(path)]) == 0
    out = capsys.readouterr()
    assert "orphan" not in json.loads(out.out)["States"]
    assert out.err == f"{path}: warning: {ORPHAN}\n"


# ---- the banner's CLI commands ----------------------------------------------------------


def test_the_banner_names_the_endpoint_when_the_stack_is_not_on_the_default_port() -> None:
    from flow_manager_local.stack import cli_command

    assert cli_command("http://127.0.0.1:3100", "run x.json").endswith(
        "run x.json --endpoint http://127.0.0.1:3100"
    )


def test_the_banner_needs_no_endpoint_on_the_default_port() -> None:
    from flow_manager_local.stack import cli_command

    assert "--endpoint" not in cli_command("http://127.0.0.1:3000", "run x.json")


def test_the_banner_gives_the_clis_path_when_it_is_not_on_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flow_manager_local.stack import cli_command

    monkeypatch.setenv("PATH", "/nonexistent")
    command = cli_command("http://127.0.0.1:3000", "run x.json")
    assert command.split()[0].endswith("/flow-manager")
