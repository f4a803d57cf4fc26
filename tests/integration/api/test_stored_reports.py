"""A finished execution's report is built once and stored (flow_manager/stored_reports.py):
later GETs read it with the execution's record in one DynamoDB query and call neither
Step Functions nor S3; a running execution is never stored."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from flow_manager import aws, stored_reports
from flow_manager.results_store import INLINE_DATA_BYTES
from flow_manager.store import EXEC_SK, REPORT_SK, exec_pk
from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain
from tests.support.aws_calls import aws_calls
from tests.support.sfn import REGION


def start(api: Api, flow_id: str = "data_pipeline") -> str:
    answer = api.request("POST", f"/flows/{flow_id}/executions", {"context": {"batch_id": "b"}})
    assert answer.status == 202, answer.text
    execution_id: str = answer.body["execution_id"]
    return execution_id


def items(api: Api, execution_id: str) -> dict[str, dict[str, Any]]:
    """The FlowsTable items of the execution's partition, by sort key."""
    answer = aws.client("dynamodb", REGION).query(
        TableName=flows_table(api),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": exec_pk(execution_id)}},
    )
    return {item["sk"]["S"]: item for item in answer.get("Items", [])}


def flows_table(api: Api) -> str:
    table: str = api.module.flows().store.table
    return table


def test_a_finished_execution_is_read_back_in_one_query_without_step_functions(
    api: Api,
) -> None:
    # Given an execution that ended and whose report was read once since
    api.create(chain())
    execution_id = start(api)
    built = api.wait(execution_id)
    assert built["status"] == "completed"
    # When it is read again
    with aws_calls() as calls:
        answer = api.request("GET", f"/executions/{execution_id}")
    # Then the answer is the report built at the end, from one DynamoDB query alone
    assert answer.status == 200
    assert answer.body == built
    assert calls == Counter({"Query": 1})


def test_a_running_execution_is_never_stored_and_reads_the_history_each_time(
    api: Api,
) -> None:
    # Given an execution whose second task is held, so it runs
    api.create(chain())
    gate = api.hold("process_data")
    execution_id = start(api)
    api.wait_for_task(execution_id, "task2")
    # When it is read while it runs
    with aws_calls() as calls:
        answer = api.request("GET", f"/executions/{execution_id}")
    # Then the report is built from Step Functions, and nothing is stored
    assert answer.body["status"] == "running"
    assert calls["DescribeExecution"] == 1
    assert calls["GetExecutionHistory"] >= 1
    assert REPORT_SK not in items(api, execution_id)
    # And once it has ended, its report is stored
    gate.set()
    api.wait(execution_id)
    assert REPORT_SK in items(api, execution_id)


def test_the_stored_report_equals_the_one_built_from_the_history(api: Api) -> None:
    # Given a finished execution with a failed task, its report stored
    api.create(chain(task2={"fail": True}))
    execution_id = start(api)
    api.wait(execution_id)
    stored = api.request("GET", f"/executions/{execution_id}").body
    # When its stored report is dropped and the report built again from Step Functions
    aws.client("dynamodb", REGION).delete_item(
        TableName=flows_table(api), Key={"pk": {"S": exec_pk(execution_id)}, "sk": {"S": REPORT_SK}}
    )
    with aws_calls() as calls:
        rebuilt = api.request("GET", f"/executions/{execution_id}").body
    # Then both are the same report, and the rebuilt one is stored again
    assert calls["GetExecutionHistory"] >= 1
    assert stored["status"] == "failed"
    assert rebuilt == stored
    assert REPORT_SK in items(api, execution_id)


def test_a_report_stored_under_another_schema_version_is_built_again(api: Api) -> None:
    # Given a finished execution whose stored report has another schema version
    api.create(chain())
    execution_id = start(api)
    built = api.wait(execution_id)
    aws.client("dynamodb", REGION).update_item(
        TableName=flows_table(api),
        Key={"pk": {"S": exec_pk(execution_id)}, "sk": {"S": REPORT_SK}},
        UpdateExpression="SET #schema = :old",
        ExpressionAttributeNames={"#schema": "schema"},
        ExpressionAttributeValues={":old": {"S": "0.old"}},
    )
    # When it is read
    with aws_calls() as calls:
        answer = api.request("GET", f"/executions/{execution_id}")
    # Then it is built from Step Functions, and stored again under this version
    assert calls["GetExecutionHistory"] >= 1
    assert answer.body == built
    stored = items(api, execution_id)[REPORT_SK]
    assert stored["schema"]["S"] == stored_reports.schema_version()


def test_a_report_too_large_for_an_item_is_kept_in_the_results_bucket(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limit for an item's report smaller than this report
    monkeypatch.setattr(stored_reports, "MAX_INLINE_BYTES", 16)
    api.create(chain())
    execution_id = start(api)
    built = api.wait(execution_id)
    # When the finished execution is read again
    with aws_calls() as calls:
        answer = api.request("GET", f"/executions/{execution_id}")
    # Then its item names an object in the ResultsBucket, read instead of the history
    item = items(api, execution_id)[REPORT_SK]
    assert "report" not in item
    assert item["report_key"]["S"] == f"data_pipeline/{execution_id}/report.v1.json.zz"
    bucket = api.module.flows().settings.results_bucket
    aws.client("s3", REGION).head_object(Bucket=bucket, Key=item["report_key"]["S"])
    assert answer.body == built
    assert calls == Counter({"Query": 1})


def test_a_retry_listed_after_the_end_shows_in_the_stored_report(api: Api) -> None:
    # Given a finished execution whose report is stored
    api.create(chain())
    execution_id = start(api)
    assert api.wait(execution_id)["retries"] == []
    # When a retry of it is listed on its record afterwards
    api.module.executions().store.add_retry(execution_id, "retry-1")
    # Then the stored report shows it
    assert api.request("GET", f"/executions/{execution_id}").body["retries"] == ["retry-1"]


def test_deleting_the_flow_deletes_its_executions_stored_reports(api: Api) -> None:
    # Given a finished execution whose report is stored
    api.create(chain())
    execution_id = start(api)
    api.wait(execution_id)
    assert set(items(api, execution_id)) == {EXEC_SK, REPORT_SK}
    # When the flow is deleted
    assert api.request("DELETE", "/flows/data_pipeline").status == 204
    # Then nothing of the execution is left in FlowsTable
    assert items(api, execution_id) == {}


def test_offloaded_values_of_a_stored_report_are_not_read_again_and_links_are_fresh(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a finished execution whose task data went to the ResultsBucket (every flow
    # keeping the least inline), one value read back into the report and one too large
    # for it (a link)
    monkeypatch.setattr("flow_manager.results_store.MAX_INLINE_DATA_BYTES", INLINE_DATA_BYTES)
    monkeypatch.setattr("flow_manager.reports.REPORT_INLINE_BYTES", 300)
    records = [{"id": i, "value": "x" * 40} for i in range(20)]
    big = [{"id": i, "value": "y" * 40} for i in range(2)]
    api.create(
        {
            "id": "offloaded",
            "name": "offloaded",
            "start_task": "load",
            "tasks": [
                {
                    "name": "load",
                    "function": "fetch_data",
                    "parameters": {"records": big},
                },
                {
                    "name": "more",
                    "function": "fetch_data",
                    "parameters": {"records": records},
                },
            ],
            "conditions": [
                {
                    "name": "then",
                    "source_task": "load",
                    "outcome": "success",
                    "target_task_success": "more",
                    "target_task_failure": "end",
                }
            ],
        }
    )
    execution_id = start(api, "offloaded")
    built = api.wait(execution_id)
    # When it is read again
    with aws_calls() as calls:
        answer = api.request("GET", f"/executions/{execution_id}").body
    # Then nothing but the one query is made: the value read back comes from the stored
    # report, and the link is signed again (locally)
    assert calls == Counter({"Query": 1})
    assert answer["task_results"]["load"] == built["task_results"]["load"]
    assert answer["task_results"]["load"]["data"]["records"] == big
    link = answer["task_results"]["more"]["data"]["records"]
    assert link["offloaded"] is True
    assert link["ref"] == built["task_results"]["more"]["data"]["records"]["ref"]
    assert link["url"].startswith("https://")
    assert "X-Amz-Signature=" in link["url"]
