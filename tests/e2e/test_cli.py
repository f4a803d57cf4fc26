"""`flow-manager run / status / flows / executions` against the stack under test."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flow_manager_local.client import ApiClient
from flow_manager_local.launch import flow_manager_command, free_port
from tests.e2e.support import (
    FLOW_FILES,
    flow_document,
    on_success,
    pipeline,
    start,
    task,
    unique,
    wait_for_task,
)

CLI_DEADLINE_SECONDS = 180.0

# What each sample flow does, as its description says: (exit code, status, failed task).
EXPECTED: dict[str, tuple[int, str, str | None]] = {
    "data_pipeline": (0, "completed", None),
    "etl_pipeline": (0, "completed", None),
    "failure_routing": (0, "completed", None),
    "outcome_failure": (0, "completed", None),
    "retry_and_timeout": (1, "failed", "process"),
    "order_flow": (0, "completed", None),  # no amount, no country: customs, then charged
}


def cli(*args: str, endpoint: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [*flow_manager_command(), *args]
    if endpoint is not None:
        command += ["--endpoint", endpoint]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=CLI_DEADLINE_SECONDS,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_every_sample_flow_has_an_expected_outcome() -> None:
    # Given the sample flows in events/flows / Then each one's outcome is known here
    assert sorted(p.stem for p in FLOW_FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", FLOW_FILES, ids=[p.stem for p in FLOW_FILES])
def test_run_executes_a_sample_flow_to_its_documented_outcome(path: Path, endpoint: str) -> None:
    # Given a sample flow file
    code, status, failed_task = EXPECTED[path.stem]
    # When `flow-manager run FILE --json` runs it (creating or updating the flow)
    result = cli("run", str(path), "--json", endpoint=endpoint)
    # Then the exit code and the final execution are the documented ones
    assert result.returncode == code, result.stdout + result.stderr
    report = json.loads(result.stdout)  # the JSON alone: progress went to stderr
    assert (report["status"], report["failed_task"]) == (status, failed_task)


def test_run_shows_each_task_starting_and_ending_then_the_result(
    endpoint: str, flow_file: Callable[[dict[str, object]], Path], api: ApiClient
) -> None:
    # Given a new three-task flow in a file
    flow_id = unique("cli")
    path = flow_file(pipeline(flow_id))
    # When it is run, output not a terminal
    result = cli("run", str(path), "--context", '{"batch_id": "b7"}', endpoint=endpoint)
    api.delete(f"/flows/{flow_id}", query={"force": "true"})
    # Then every task is shown starting and ending, then the final status
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("task1", "task2", "task3"):
        assert f"{name} started" in lines
        assert any(line.startswith(f"{name}  success") for line in lines)
    assert any(line.startswith(f"completed  {flow_id} v1") for line in lines)


def test_run_updates_an_existing_flow_to_a_new_version(
    endpoint: str, flow_file: Callable[[dict[str, object]], Path], api: ApiClient
) -> None:
    # Given a flow that exists with another definition
    flow_id = unique("cli")
    assert api.post("/flows", pipeline(flow_id)).status == 201
    path = flow_file(flow_document(flow_id, [task("task1")]))
    # When the file is run
    result = cli("run", str(path), endpoint=endpoint)
    api.delete(f"/flows/{flow_id}", query={"force": "true"})
    # Then the flow was updated (version 2) and that version ran
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"flow {flow_id} v2" in result.stdout.splitlines()


def test_run_reports_every_problem_of_an_invalid_flow_and_exits_2(
    endpoint: str, flow_file: Callable[[dict[str, object]], Path]
) -> None:
    # Given a flow with two mistakes
    document = flow_document(
        unique("cli"), [task("task1"), task("task2")], [on_success("task1", "taks2")]
    )
    document["flow"]["colour"] = "blue"
    path = flow_file(document)
    # When it is run
    result = cli("run", str(path), endpoint=endpoint)
    # Then both problems are printed and the exit code says "invalid input"
    assert result.returncode == 2
    assert "flow.conditions[0].target_task_success" in result.stderr
    assert "colour" in result.stderr


def test_run_of_a_file_that_is_not_json_exits_2_without_a_traceback(tmp_path: Path) -> None:
    # Given a file that is not JSON
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    # When it is run
    result = cli("run", str(path))
    # Then one line says where the JSON breaks
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_a_context_that_is_not_json_exits_2(
    flow_file: Callable[[dict[str, object]], Path],
) -> None:
    # Given a valid flow file and a broken --context
    path = flow_file(pipeline(unique("cli")))
    # When it is run
    result = cli("run", str(path), "--context", "{oops")
    # Then the context is refused before anything is sent
    assert result.returncode == 2
    assert result.stderr.startswith("flow-manager: --context: not valid JSON")


def test_a_refused_connection_is_one_line_and_exit_2() -> None:
    # Given nothing listens on a port / When a command targets it
    result = cli("flows", endpoint=f"http://127.0.0.1:{free_port()}")
    # Then the error is one readable line
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "connection refused" in result.stderr


def test_status_prints_an_executions_result(endpoint: str, api: ApiClient) -> None:
    # Given a completed execution
    flow_id = unique("cli")
    assert api.post("/flows", pipeline(flow_id)).status == 201
    started = api.post(f"/flows/{flow_id}/executions", {"context": {}})
    execution_id = str(started.body["execution_id"])
    cli("run", str(FLOW_FILES[0]), endpoint=endpoint)  # something else runs meanwhile
    # When its status is asked
    result = cli("status", execution_id, endpoint=endpoint)
    api.delete(f"/flows/{flow_id}", query={"force": "true"})
    # Then it is shown with every task
    assert result.returncode == 0, result.stderr
    assert f"execution {execution_id}" in result.stdout
    assert "task3" in result.stdout


def test_status_of_an_unknown_execution_exits_2(endpoint: str) -> None:
    # Given no such execution / When its status is asked
    result = cli("status", unique("missing"), endpoint=endpoint)
    # Then the API's 404 is reported in one line
    assert result.returncode == 2
    assert "ExecutionNotFound" in result.stderr


def test_flows_lists_a_created_flow(endpoint: str, api: ApiClient) -> None:
    # Given a created flow / When the flows are listed
    flow_id = unique("cli")
    assert api.post("/flows", pipeline(flow_id)).status == 201
    result = cli("flows", endpoint=endpoint)
    api.delete(f"/flows/{flow_id}", query={"force": "true"})
    # Then it is in the table
    assert result.returncode == 0, result.stderr
    assert any(line.startswith(flow_id) for line in result.stdout.splitlines())


def test_executions_lists_a_flows_executions(endpoint: str, api: ApiClient) -> None:
    # Given a flow run once
    flow_id = unique("cli")
    assert api.post("/flows", pipeline(flow_id)).status == 201
    execution_id = str(api.post(f"/flows/{flow_id}/executions", {}).body["execution_id"])
    # When its executions are listed
    result = cli("executions", flow_id, endpoint=endpoint)
    api.delete(f"/flows/{flow_id}", query={"force": "true"})
    # Then that execution is listed
    assert result.returncode == 0, result.stderr
    assert any(line.startswith(execution_id) for line in result.stdout.splitlines())


def slow_flow(flow_id: str, seconds: int = 20) -> dict[str, object]:
    return flow_document(flow_id, [task("task1", sleep_seconds=seconds)])


def test_run_json_prints_the_json_alone_on_stdout_and_progress_on_stderr(
    endpoint: str, flow_file: Callable[[dict[str, object]], Path], api: ApiClient
) -> None:
    flow_id = unique("cli")
    result = cli("run", str(flow_file(pipeline(flow_id))), "--json", endpoint=endpoint)
    api.delete(f"/flows/{flow_id}", query={"force": "true"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"
    assert f"flow {flow_id} v1" in result.stderr.splitlines()


def test_stop_stops_a_running_execution(
    endpoint: str, create_flow: Callable[..., str], api: ApiClient
) -> None:
    # Given a running execution
    flow_id = create_flow([task("task1", sleep_seconds=5)])
    execution_id = start(api, flow_id)
    wait_for_task(api, execution_id, "task1")
    # When `flow-manager stop` is run on it
    result = cli("stop", execution_id, endpoint=endpoint)
    # Then it ends aborted
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"aborted  {flow_id}")


def test_delete_deletes_a_flow(endpoint: str, api: ApiClient) -> None:
    flow_id = unique("cli")
    assert api.post("/flows", pipeline(flow_id)).status == 201
    result = cli("delete", flow_id, endpoint=endpoint)
    assert result.returncode == 0, result.stderr
    assert api.get(f"/flows/{flow_id}").status == 404


def test_ctrl_c_during_run_says_the_execution_goes_on_and_exits_130(
    endpoint: str, flow_file: Callable[[dict[str, object]], Path], api: ApiClient
) -> None:
    # Given `flow-manager run` watching a long execution
    flow_id = unique("cli")
    command = [*flow_manager_command(), "run", str(flow_file(slow_flow(flow_id)))]
    process = subprocess.Popen(
        [*command, "--endpoint", endpoint],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        execution_id, watching = "", False
        deadline = time.monotonic() + CLI_DEADLINE_SECONDS
        while not watching and time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("execution "):
                execution_id = line.split()[1]
            watching = line.startswith("task1 started")  # the watch has begun
        # When Ctrl-C interrupts it
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=CLI_DEADLINE_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
    # Then it exits 130, naming the execution, which still runs, and how to stop it
    assert process.returncode == 130, stderr
    assert f"execution {execution_id} goes on" in stderr
    assert f"flow-manager stop {execution_id}" in stderr
    assert json.loads(api.get(f"/executions/{execution_id}").text)["status"] == "running"
    api.delete(f"/flows/{flow_id}", query={"force": "true"})
