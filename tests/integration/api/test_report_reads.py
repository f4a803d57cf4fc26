"""What a start and a report read from Step Functions: a new start no DescribeExecution;
a short history in one call; a long one, its newest events with data and the outline."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain
from tests.support.aws_calls import aws_calls

LONG = 12  # tasks: ~80 history events, more than the first page of the newest ones


def long_chain(flow_id: str) -> dict[str, Any]:
    """t1 → ... → t12 while each succeeds: fetch_data tasks, then process_data."""
    names = [f"t{n}" for n in range(1, LONG + 1)]
    return {
        "id": flow_id,
        "name": "Long chain",
        "start_task": names[0],
        "tasks": [
            {"name": name, "function": "process_data" if name == names[-1] else "fetch_data"}
            for name in names
        ],
        "conditions": [
            {
                "name": f"after_{name}",
                "source_task": name,
                "outcome": "success",
                "target_task_success": following,
                "target_task_failure": "end",
            }
            for name, following in pairwise(names)
        ],
    }


def start(api: Api, flow_id: str) -> str:
    answer = api.request("POST", f"/flows/{flow_id}/executions", {"context": {"batch_id": "b"}})
    assert answer.status == 202, answer.text
    execution_id: str = answer.body["execution_id"]
    return execution_id


def test_a_new_start_answers_from_the_start_without_describing_it(api: Api) -> None:
    # Given a flow
    api.create(chain())
    # When an execution of it is started
    with aws_calls() as calls:
        answer = api.request("POST", "/flows/data_pipeline/executions", {"context": {}})
    # Then it runs, since the start date Step Functions gave, with no DescribeExecution
    assert answer.status == 202, answer.text
    assert answer.body["status"] == "running"
    assert answer.body["start_time"]
    assert calls["StartExecution"] == 1
    assert "DescribeExecution" not in calls
    api.wait(answer.body["execution_id"])


def test_a_short_running_execution_reads_its_history_in_one_call(api: Api) -> None:
    # Given a 3-task execution held in its second task
    api.create(chain())
    gate = api.hold("process_data")
    execution_id = start(api, "data_pipeline")
    api.wait_for_task(execution_id, "task2")
    # When its report is read
    with aws_calls() as calls:
        report = api.request("GET", f"/executions/{execution_id}").body
    # Then one page of the newest events was the whole history, data included
    assert calls["GetExecutionHistory"] == 1
    assert report["task_results"]["task1"]["status"] == "success"
    assert report["task_results"]["task1"]["data"]
    assert report["current_task"] == "task2"
    gate.set()
    api.wait(execution_id)


def test_a_long_running_execution_reads_its_newest_events_and_the_outline(api: Api) -> None:
    # Given a 12-task execution held in its last task
    api.create(long_chain("long_chain"))
    gate = api.hold("process_data")
    execution_id = start(api, "long_chain")
    api.wait_for_task(execution_id, f"t{LONG}")
    # When its report is read
    with aws_calls() as calls:
        report = api.request("GET", f"/executions/{execution_id}").body
    # Then it read the newest events with data and the outline without: two calls,
    # and every task before the last one has its result
    assert calls["GetExecutionHistory"] == 2
    finished = [f"t{n}" for n in range(1, LONG)]
    assert report["executed_tasks"][: LONG - 1] == finished
    for name in finished:
        assert report["task_results"][name]["status"] == "success", name
        assert report["task_results"][name]["data"], name
    assert report["current_task"] == f"t{LONG}"
    gate.set()
    assert api.wait(execution_id)["status"] == "completed"
