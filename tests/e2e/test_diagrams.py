"""Diagrams over HTTP on the local stack (through its gateway), and `flow-manager diagram`."""

from __future__ import annotations

from collections.abc import Callable

from flow_manager_local.client import ApiClient
from tests.e2e.support import json_body, on_success, run_to_end, task
from tests.e2e.test_cli import cli
from tests.support.mermaid import classes


def test_a_flow_diagram_is_served_as_mermaid_text(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a flow on the stack
    flow_id = create_flow()
    # When its diagram is asked for as Mermaid
    response = api.get(f"/flows/{flow_id}/diagram", headers={"Accept": "text/vnd.mermaid"})
    # Then the gateway passes the text through with its media type
    assert response.status == 200, response.error_line()
    assert (response.header("Content-Type") or "").startswith("text/vnd.mermaid")
    assert response.text.startswith("flowchart TD\n")
    assert '  t0["task1"]' in response.text.splitlines()


def test_the_diagram_of_a_finished_execution_marks_its_path(
    api: ApiClient, create_flow: Callable[..., str], endpoint: str
) -> None:
    # Given an execution whose first task fails (the seeds' fail switch)
    flow_id = create_flow([task("task1", fail=True), task("task2")], [on_success("task1", "task2")])
    report = run_to_end(api, flow_id)
    assert report["status"] == "failed", report
    # When `flow-manager diagram --execution ID` prints its diagram
    result = cli("diagram", "--execution", report["execution_id"], endpoint=endpoint)
    # Then task1 is marked failed and so is the end it reached
    assert result.returncode == 0, result.stderr
    assert classes(result.stdout) == {"t0": "failed", "f_end_node": "failed"}
    # and the JSON form carries the same text
    answer = api.get(f"/executions/{report['execution_id']}/diagram")
    assert json_body(answer)["mermaid"] == result.stdout
