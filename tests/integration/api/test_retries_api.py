"""POST /executions/{id}/retry over ApiFunction in moto: the new execution resumes at the
failed task with the earlier results kept (the tasks before it are not invoked again),
from a chosen task, on the same or the current version; links, conflicts, idempotency."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.integration.api.conftest import Api, function_name
from tests.support.sfn import LambdaContext

FLOW: dict[str, Any] = {
    "id": "retried",
    "name": "Retried",
    "start_task": "fetch",
    "tasks": [
        {"name": "fetch", "function": "fetch_data"},
        {"name": "work", "function": "process_data"},
        {"name": "save", "function": "store_data"},
    ],
    "conditions": [
        {
            "name": "fetched",
            "source_task": "fetch",
            "outcome": "success",
            "target_task_success": "work",
            "target_task_failure": "end",
        },
        {
            "name": "worked",
            "source_task": "work",
            "outcome": "success",
            "target_task_success": "save",
            "target_task_failure": "end",
        },
    ],
}


class Tasks:
    """Counting handlers: `work` fails until `fixed` (or its parameters say fixed)."""

    def __init__(self, api: Api) -> None:
        self.calls: Counter[str] = Counter()
        self.events: list[dict[str, Any]] = []
        self.fixed = False
        for kind in ("fetch_data", "process_data", "store_data"):
            api.harness.register(function_name(kind), self._handler(kind))

    def _handler(self, kind: str) -> Any:
        def handler(event: dict[str, Any], context: LambdaContext) -> Any:
            self.calls[event["task"]] += 1
            self.events.append(event)
            if kind == "process_data" and not (self.fixed or event["parameters"].get("fixed")):
                return {"status": "failure", "data": None, "error": "work is broken"}
            return {"status": "success", "data": {"by": event["task"]}, "error": None}

        return handler


@pytest.fixture
def tasks(api: Api) -> Tasks:
    return Tasks(api)


def failed_run(api: Api, context: dict[str, Any] | None = None) -> str:
    api.create(FLOW)
    started = api.request("POST", "/flows/retried/executions", {"context": context or {"n": 1}})
    assert started.status == 202, started.text
    execution_id: str = started.body["execution_id"]
    assert api.wait(execution_id)["status"] == "failed"
    return execution_id


def retry(api: Api, execution_id: str, body: Any = None, **options: Any) -> Any:
    return api.request("POST", f"/executions/{execution_id}/retry", body, **options)


def test_a_retry_resumes_at_the_failed_task_and_keeps_earlier_results(
    api: Api, tasks: Tasks
) -> None:
    # Given an execution whose work task failed after fetch succeeded
    old = failed_run(api)
    tasks.fixed = True
    # When it is retried
    answer = retry(api, old)
    assert answer.status == 202, answer.text
    assert answer.headers["location"] == f"/executions/{answer.body['execution_id']}"
    report = api.wait(answer.body["execution_id"])
    # Then it completes without running fetch again, work seeing fetch's result
    assert report["status"] == "completed", report
    assert tasks.calls == Counter({"fetch": 1, "work": 2, "save": 1})
    assert tasks.events[-2]["results"]["fetch"]["data"] == {"by": "fetch"}
    assert tasks.events[-2]["context"] == {"n": 1}
    assert report["context"] == {"n": 1}
    assert [s["task"] for s in report["path"]] == ["work", "save"]
    assert report["retry_of"] == old


def test_the_failed_execution_lists_its_retries(api: Api, tasks: Tasks) -> None:
    old = failed_run(api)
    first = retry(api, old).body["execution_id"]
    second = retry(api, old).body["execution_id"]
    api.wait(first), api.wait(second)
    assert api.request("GET", f"/executions/{old}").body["retries"] == [first, second]


def test_a_retry_of_a_retry_keeps_the_results_the_first_run_made(api: Api, tasks: Tasks) -> None:
    # Given a failed execution whose retry failed at the same task
    old = failed_run(api)
    again = api.wait(retry(api, old).body["execution_id"])
    assert again["status"] == "failed"
    tasks.fixed = True
    # When the retry is retried
    report = api.wait(retry(api, again["execution_id"]).body["execution_id"])
    # Then it completes, fetch having run once in all, its result still kept
    assert report["status"] == "completed", report
    assert tasks.calls == Counter({"fetch": 1, "work": 3, "save": 1})
    assert report["output"]["results"]["fetch"]["data"] == {"by": "fetch"}
    assert report["retry_of"] == again["execution_id"]


def test_a_retry_from_a_task_that_ran_reruns_it(api: Api, tasks: Tasks) -> None:
    old = failed_run(api)
    tasks.fixed = True
    answer = retry(api, old, {"from_task": "fetch", "context": {"n": 2}})
    assert answer.status == 202, answer.text
    report = api.wait(answer.body["execution_id"])
    assert report["status"] == "completed"
    assert tasks.calls["fetch"] == 2
    assert tasks.events[-3]["context"] == {"n": 2}


@pytest.mark.parametrize(
    ("from_task", "says"),
    [("save", "did not run"), ("nope", "no task 'nope'")],
    ids=["did-not-run", "unknown"],
)
def test_a_retry_from_a_task_that_did_not_run_is_422_located(
    api: Api, tasks: Tasks, from_task: str, says: str
) -> None:
    old = failed_run(api)
    answer = retry(api, old, {"from_task": from_task})
    assert answer.status == 422, answer.text
    assert answer.body["error"]["details"][0]["location"] == "from_task"
    assert says in answer.body["error"]["message"]


def test_a_retry_of_a_completed_execution_is_409(api: Api, tasks: Tasks) -> None:
    tasks.fixed = True
    api.create(FLOW)
    started = api.request("POST", "/flows/retried/executions", {})
    api.wait(started.body["execution_id"])
    answer = retry(api, started.body["execution_id"])
    assert answer.status == 409
    assert answer.error_code == "ExecutionNotRetryable"


def test_a_retry_of_an_unknown_execution_is_404(api: Api) -> None:
    assert retry(api, "no-such-execution").status == 404


def test_a_retry_on_the_current_version_runs_the_fixed_flow(api: Api, tasks: Tasks) -> None:
    # Given a failed execution of version 1, and version 2 that fixes work
    old = failed_run(api)
    fixed = {
        **FLOW,
        "tasks": [
            *FLOW["tasks"][:1],
            {**FLOW["tasks"][1], "parameters": {"fixed": True}},
            FLOW["tasks"][2],
        ],
    }
    updated = api.request("PUT", "/flows/retried", {"flow": fixed}, headers={"If-Match": '"1"'})
    assert updated.status == 200, updated.text
    # Then a retry on the same version fails again, and on the current one completes
    same = api.wait(retry(api, old).body["execution_id"])
    assert (same["status"], same["flow_version"]) == ("failed", 1)
    current = api.wait(retry(api, old, {"version": "current"}).body["execution_id"])
    assert (current["status"], current["flow_version"]) == ("completed", 2)
    assert tasks.calls["fetch"] == 1


def test_a_repeated_retry_with_an_idempotency_key_answers_the_same_execution(
    api: Api, tasks: Tasks
) -> None:
    old = failed_run(api)
    key = {"Idempotency-Key": "retry-1"}
    first = retry(api, old, {}, headers=key)
    again = retry(api, old, {}, headers=key)
    assert first.status == again.status == 202
    assert again.body["execution_id"] == first.body["execution_id"]
    api.wait(first.body["execution_id"])
    assert api.request("GET", f"/executions/{old}").body["retries"] == [first.body["execution_id"]]
    assert tasks.calls["work"] == 2


def test_the_same_idempotency_key_with_another_retry_request_is_422(api: Api, tasks: Tasks) -> None:
    old = failed_run(api)
    key = {"Idempotency-Key": "retry-2"}
    assert retry(api, old, {}, headers=key).status == 202
    answer = retry(api, old, {"from_task": "fetch"}, headers=key)
    assert answer.status == 422
    assert answer.error_code == "IdempotencyKeyReused"


def test_a_retry_body_with_an_unknown_field_is_422(api: Api, tasks: Tasks) -> None:
    old = failed_run(api)
    answer = retry(api, old, {"from": "fetch"})
    assert answer.status == 422
    assert answer.error_code == "InvalidRequest"


def test_a_retry_context_carrying_the_resume_key_is_refused(api: Api, tasks: Tasks) -> None:
    old = failed_run(api)
    answer = retry(api, old, {"context": {"flow_manager_resume": {"from": "save"}}})
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["location"] == "context.flow_manager_resume"


PARALLEL: dict[str, Any] = {
    "id": "retried_parallel",
    "name": "Retried parallel",
    "start_task": "fetch",
    "tasks": [
        {"name": "fetch", "function": "fetch_data"},
        {
            "name": "enrich",
            "type": "parallel",
            "branches": [
                {
                    "name": "a",
                    "start_task": "work",
                    "tasks": [{"name": "work", "function": "process_data"}],
                },
                {
                    "name": "b",
                    "start_task": "side",
                    "tasks": [{"name": "side", "function": "store_data"}],
                },
            ],
        },
        {"name": "save", "function": "store_data"},
    ],
    "conditions": [
        {
            "name": "fetched",
            "source_task": "fetch",
            "outcome": "success",
            "target_task_success": "enrich",
            "target_task_failure": "end",
        },
        {
            "name": "enriched",
            "source_task": "enrich",
            "outcome": "success",
            "target_task_success": "save",
            "target_task_failure": "end",
        },
    ],
}


def test_a_failure_inside_a_branch_restarts_its_parallel_task(api: Api, tasks: Tasks) -> None:
    # Given work failed inside branch a of enrich
    api.create(PARALLEL)
    started = api.request("POST", "/flows/retried_parallel/executions", {})
    old = api.wait(started.body["execution_id"])
    assert old["status"] == "failed"
    tasks.fixed = True
    # (branch b's side may or may not have run before work's failure stopped it)
    before = Counter(tasks.calls)
    # When it is retried
    report = api.wait(retry(api, old["execution_id"]).body["execution_id"])
    # Then enrich runs again (both branches), fetch does not
    assert report["status"] == "completed", report
    assert report["path"][0]["task"] == "enrich"
    assert tasks.calls - before == Counter({"work": 1, "side": 1, "save": 1})
    assert before["fetch"] == tasks.calls["fetch"] == 1


def test_a_stopped_execution_is_retried_at_the_task_it_was_running(api: Api, tasks: Tasks) -> None:
    # Given an execution stopped while work was running
    gate = api.hold("process_data")
    api.create(FLOW)
    started = api.request("POST", "/flows/retried/executions", {"context": {"n": 3}})
    execution_id = started.body["execution_id"]
    api.wait_for_task(execution_id, "work")
    assert api.request("DELETE", f"/executions/{execution_id}").status == 200
    gate.set()
    # moto's interpreter ends a stopped execution once its running task returns; only
    # then does it read aborted (AWS: at once), and a retry before that is 409 running.
    assert api.wait(execution_id)["status"] == "aborted"
    counting = Tasks(api)  # the counting handlers again (hold replaced work's), fixed
    counting.fixed = True
    # When it is retried
    report = api.wait(retry(api, execution_id).body["execution_id"])
    # Then it resumes at work
    assert report["status"] == "completed", report
    assert [s["task"] for s in report["path"]] == ["work", "save"]
    assert counting.calls == Counter({"work": 1, "save": 1})
