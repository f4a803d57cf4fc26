"""Executions through ApiFunction: start, idempotency, status, list, stop, version pinning.

Tasks run their real handlers (functions/tasks/<kind>/app.py) in moto's Step Functions;
`api.hold(kind)` keeps one waiting so an execution stays running while a test acts.
"""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import DEADLINE_SECONDS, Api
from tests.integration.api.samples import chain, renamed, single


def start(api: Api, flow_id: str, context: object = None, key: str | None = None) -> str:
    headers = {"Idempotency-Key": key} if key else None
    body = None if context is None else {"context": context}
    answer = api.request("POST", f"/flows/{flow_id}/executions", body, headers=headers)
    assert answer.status == 202, answer.text
    execution_id: str = answer.body["execution_id"]
    return execution_id


def test_start_answers_202_with_where_to_poll(api: Api) -> None:
    # Given a flow
    api.create(chain())
    # When an execution is started
    answer = api.request("POST", "/flows/data_pipeline/executions", {"context": {"batch_id": "b1"}})
    # Then it runs version 1, and Location names it
    assert answer.status == 202
    execution_id = answer.body["execution_id"]
    assert answer.headers["location"] == f"/executions/{execution_id}"
    assert answer.body["flow_version"] == 1
    arn = answer.body["execution_arn"]
    assert arn.endswith(f":execution:flow-manager_data_pipeline:{execution_id}")
    api.wait(execution_id)


def test_start_without_a_body_runs_with_an_empty_context(api: Api) -> None:
    api.create(single("solo", records=[{"id": 1, "value": 2}]))
    report = api.wait(start(api, "solo"))
    assert report["status"] == "completed"
    assert report["context"] == {}


def test_starting_an_unknown_flow_is_not_found(api: Api) -> None:
    answer = api.request("POST", "/flows/nope/executions", {"context": {}})
    assert answer.status == 404
    assert answer.error_code == "FlowNotFound"


def test_a_context_that_is_not_an_object_is_refused(api: Api) -> None:
    api.create(chain())
    answer = api.request("POST", "/flows/data_pipeline/executions", {"context": [1, 2]})
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["location"] == "body.context"


def test_an_unknown_field_in_the_start_body_is_refused(api: Api) -> None:
    api.create(chain())
    answer = api.request("POST", "/flows/data_pipeline/executions", {"contxt": {}})
    assert answer.status == 422


def test_the_same_idempotency_key_returns_the_same_execution(api: Api) -> None:
    # Given a flow
    api.create(chain())
    # When the same start is sent twice with one Idempotency-Key
    first = start(api, "data_pipeline", {"batch_id": "b1"}, key="order-42")
    second = start(api, "data_pipeline", {"batch_id": "b1"}, key="order-42")
    # Then both name one execution, and only one ran
    assert second == first
    api.wait(first)
    listed = api.request("GET", "/flows/data_pipeline/executions").body["executions"]
    assert [e["execution_id"] for e in listed] == [first]


def test_an_idempotency_key_reused_for_another_context_is_refused(api: Api) -> None:
    api.create(chain())
    api.wait(start(api, "data_pipeline", {"batch_id": "b1"}, key="k"))
    answer = api.request(
        "POST",
        "/flows/data_pipeline/executions",
        {"context": {"batch_id": "b2"}},
        headers={"Idempotency-Key": "k"},
    )
    assert answer.status == 422
    assert answer.error_code == "IdempotencyKeyReused"


def test_different_idempotency_keys_start_different_executions(api: Api) -> None:
    api.create(single("solo"))
    first = start(api, "solo", {}, key="a")
    second = start(api, "solo", {}, key="b")
    assert first != second
    api.wait(first)
    api.wait(second)


def test_a_finished_execution_reports_every_task_with_timing(api: Api) -> None:
    # Given a finished run of the seeds' flow with the real task functions
    api.create(chain())
    report = api.wait(start(api, "data_pipeline", {"batch_id": "b1"}))
    # Then the report reads like seed 000's, extended
    assert report["status"] == "completed"
    assert report["executed_tasks"] == ["task1", "task2", "task3"]
    assert report["failed_task"] is None
    assert report["current_task"] is None
    task1 = report["task_results"]["task1"]
    assert task1["status"] == "success"
    assert task1["attempts"] == 1
    assert task1["execution_time"] >= 0
    assert task1["started_at"].endswith("Z")
    assert report["context"] == {"batch_id": "b1"}
    assert report["output"]["results"]["task3"]["status"] == "success"
    assert report["end_time"] is not None
    assert report["console_url"].endswith(report["execution_arn"])


def test_a_failed_task_ends_the_flow_failed_and_is_named(api: Api) -> None:
    # Given a flow whose task2 fails (demo parameter of the sample task)
    api.create(chain(task2={"fail": "bad records"}))
    # When it runs
    report = api.wait(start(api, "data_pipeline", {"batch_id": "b1"}))
    # Then it stops after task2, failed, with task2's error
    assert report["status"] == "failed"
    assert report["executed_tasks"] == ["task1", "task2"]
    assert report["failed_task"] == "task2"
    assert report["task_results"]["task2"]["status"] == "failure"
    assert "bad records" in report["task_results"]["task2"]["error"]
    assert report["error"] == "TaskFailed"


def test_a_raising_task_is_retried_and_its_attempts_counted(api: Api) -> None:
    # Given a task that raises once, with a retry policy of two attempts
    flow = single("flaky", fail_attempts=1)
    flow["tasks"][0]["retry"] = {"max_attempts": 2, "interval_seconds": 1}
    api.create(flow)
    # When it runs
    report = api.wait(start(api, "flaky"))
    # Then the second attempt succeeded
    assert report["status"] == "completed"
    assert report["task_results"]["fetch"]["attempts"] == 2


def test_a_running_execution_names_its_current_task(api: Api) -> None:
    # Given task2 held running
    api.create(chain())
    gate = api.hold("process_data")
    execution_id = start(api, "data_pipeline", {"batch_id": "b1"})
    # When the execution is read
    report = api.wait_for_task(execution_id, "task2")
    # Then it is running task2, after task1
    assert report["status"] == "running"
    assert report["executed_tasks"] == ["task1", "task2"]
    assert report["task_results"]["task2"]["status"] == "running"
    gate.set()
    assert api.wait(execution_id)["status"] == "completed"


def test_reading_an_unknown_execution_is_not_found(api: Api) -> None:
    answer = api.request("GET", "/executions/00000000-0000-4000-8000-000000000000")
    assert answer.status == 404
    assert answer.error_code == "ExecutionNotFound"


def test_stopping_a_running_execution_aborts_it(api: Api) -> None:
    # Given a running execution, its first task's Lambda running (stopped before the
    # invoke began, moto's interpreter can fail the task: 'dict' object has no attribute
    # 'region', and the execution ends failed; a CI run hit it once)
    api.create(chain())
    gate = api.hold("fetch_data")
    execution_id = start(api, "data_pipeline", {})
    api.wait_for_task(execution_id, "task1")
    assert gate.entered.wait(DEADLINE_SECONDS)
    # When it is stopped
    answer = api.request("DELETE", f"/executions/{execution_id}")
    # Then it ends aborted, without running another task (moto's interpreter notices
    # the stop once the held task returns; Step Functions at once)
    assert answer.status == 200
    assert answer.body["execution_id"] == execution_id
    gate.set()
    report = api.wait(execution_id)
    assert report["status"] == "aborted"
    assert report["executed_tasks"] == ["task1"]


def test_stopping_a_finished_execution_is_a_conflict(api: Api) -> None:
    api.create(single("solo"))
    execution_id = start(api, "solo")
    api.wait(execution_id)
    answer = api.request("DELETE", f"/executions/{execution_id}")
    assert answer.status == 409
    assert answer.error_code == "ExecutionNotRunning"


def test_an_execution_stays_on_the_version_it_started_on(api: Api) -> None:
    # Given an execution of version 1 held in its first task
    api.create(chain())
    gate = api.hold("fetch_data")
    old = start(api, "data_pipeline", {"batch_id": "b1"})
    api.wait_for_task(old, "task1")
    # When version 2 is published and the first execution resumes
    updated = api.request(
        "PUT",
        "/flows/data_pipeline",
        {"flow": renamed(chain(task2={"fail": True}), "v2")},
        headers={"If-Match": "1"},
    )
    assert updated.status == 200
    gate.set()
    # Then it finishes as version 1 defined it, and a new execution runs version 2
    report = api.wait(old)
    assert report["flow_version"] == 1
    assert report["status"] == "completed"
    new = api.wait(start(api, "data_pipeline", {"batch_id": "b1"}))
    assert new["flow_version"] == 2
    assert new["status"] == "failed"


def test_executions_are_listed_newest_first_and_filtered_by_status(api: Api) -> None:
    # Given one completed and one failed execution
    api.create(single("solo"))
    completed = start(api, "solo")
    api.wait(completed)
    api.request(
        "PUT", "/flows/solo", {"flow": single("solo", fail=True)}, headers={"If-Match": "1"}
    )
    failed = start(api, "solo")
    api.wait(failed)
    # When they are listed, all and by status
    everything = api.request("GET", "/flows/solo/executions").body["executions"]
    only_failed = api.request("GET", "/flows/solo/executions?status=failed").body["executions"]
    # Then each list holds what it should, with the version each ran
    assert [e["execution_id"] for e in everything] == [failed, completed]
    assert [(e["execution_id"], e["flow_version"]) for e in only_failed] == [(failed, 2)]


def test_the_execution_list_pages(api: Api) -> None:
    api.create(single("solo"))
    ids = {start(api, "solo", {"n": n}) for n in range(3)}
    for execution_id in ids:
        api.wait(execution_id)
    first = api.request("GET", "/flows/solo/executions?limit=2")
    token = first.body["next_token"]
    second = api.request("GET", f"/flows/solo/executions?limit=2&next_token={token}")
    listed = [e["execution_id"] for e in first.body["executions"] + second.body["executions"]]
    assert len(first.body["executions"]) == 2
    assert sorted(listed) == sorted(ids)
    assert second.body["next_token"] is None


def test_an_execution_list_token_is_refused_by_another_list(api: Api) -> None:
    api.create(single("solo"))
    for n in range(2):
        api.wait(start(api, "solo", {"n": n}))
    token = api.request("GET", "/flows/solo/executions?limit=1").body["next_token"]
    answer = api.request("GET", f"/flows/solo/executions?status=failed&next_token={token}")
    assert answer.status == 400
    assert answer.error_code == "InvalidPageToken"


def test_an_unknown_status_filter_is_a_bad_request(api: Api) -> None:
    api.create(single("solo"))
    answer = api.request("GET", "/flows/solo/executions?status=exploded")
    assert answer.status == 400


def test_listing_executions_of_an_unknown_flow_is_not_found(api: Api) -> None:
    assert api.request("GET", "/flows/nope/executions").status == 404


def test_deleting_a_flow_with_running_executions_is_refused(api: Api) -> None:
    api.create(chain())
    api.hold("fetch_data")
    execution_id = start(api, "data_pipeline")
    api.wait_for_task(execution_id, "task1")
    answer = api.request("DELETE", "/flows/data_pipeline")
    assert answer.status == 409
    assert answer.error_code == "FlowBusy"
    assert answer.body["error"]["details"] == [{"running_executions": [execution_id]}]
    assert api.request("GET", "/flows/data_pipeline").status == 200


def test_force_delete_stops_running_executions_and_deletes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a flow with a running execution
    api.create(chain())
    api.hold("fetch_data")
    execution_id = start(api, "data_pipeline")
    api.wait_for_task(execution_id, "task1")
    arn = api.request("GET", f"/executions/{execution_id}").body["execution_arn"]
    engine = api.module.flows().engine
    stopped: list[str] = []
    real_stop = engine.stop

    def stop(arn: str, cause: str) -> None:
        stopped.append(arn)
        real_stop(arn, cause)

    monkeypatch.setattr(engine, "stop", stop)
    # When it is deleted with force (moto forgets executions with their state machine,
    # so the stop is observed on its way to Step Functions)
    answer = api.request("DELETE", "/flows/data_pipeline?force=true")
    # Then the execution was stopped and everything is gone
    assert answer.status == 204
    assert stopped == [arn]
    assert api.request("GET", f"/executions/{execution_id}").status == 404
    assert api.request("GET", "/flows/data_pipeline").status == 404


def test_a_forged_execution_page_token_is_a_bad_request(api: Api) -> None:
    # Given a token this stack signed for this list, with a position Step Functions never
    # issued
    api.create(single("solo"))
    token = api.module.flows().tokens.encode("executions:solo:*", {"sfn": "forged"})
    # When it is used
    answer = api.request("GET", f"/flows/solo/executions?next_token={token}")
    # Then Step Functions' refusal is the client's error, not the service's
    assert answer.status == 400
    assert answer.error_code == "InvalidPageToken"
