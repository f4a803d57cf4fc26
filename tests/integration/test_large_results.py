"""DESIGN §4.7: large results stay out of the state, executed in moto's interpreter.

Real task handlers (the SDK's `@task_handler`) run through the invoke hook, with moto's
S3 as the ResultsBucket in the same mock.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest

from flow_manager.model import MAX_PAYLOAD_BYTES, Flow
from flow_manager.reports import ExecutionSummary, build_report
from flow_manager.results_store import INLINE_DATA_BYTES, MAX_INLINE_DATA_BYTES
from flow_manager.tasks import RESULTS_BUCKET_ENV, TaskInput, task_handler
from flow_manager.translator import compile_flow
from tests.support.sfn import REGION, SfnHarness, catalog_for

BUCKET = "flow-manager-tests-results"


@pytest.fixture
def results_bucket(sfn: SfnHarness) -> Iterator[str]:
    """The ResultsBucket in the same moto mock, named where the SDK looks for it."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    with mock.patch.dict(os.environ, {RESULTS_BUCKET_ENV: BUCKET}):
        yield BUCKET


def linear(count: int, kind: str = "blob") -> Flow:
    names = [f"t{i:03d}" for i in range(count)]
    return Flow.model_validate(
        {
            "id": "large",
            "name": "Large",
            "start_task": names[0],
            "tasks": [{"name": n, "function": kind} for n in names],
            "conditions": [
                {
                    "name": f"after_{a}",
                    "source_task": a,
                    "outcome": "success",
                    "target_task_success": b,
                    "target_task_failure": "end",
                }
                for a, b in itertools.pairwise(names)
            ],
        }
    )


@task_handler
def kibibyte(task: TaskInput) -> dict[str, Any]:
    """Returns 1 KiB, and checks it can read the previous task's 1 KiB back."""
    previous = list(task.results)[-1:] or []
    for name in previous:
        blob = task.results[name].data["blob"]  # type: ignore[call-overload,index]
        assert blob == "x" * 1024, f"{name}'s blob came back as {blob!r:.80}"
    return {"n": len(task.results), "blob": "x" * 1024}


def state_bytes(run_history: Any) -> int:
    """The largest state any exit recorded."""
    sizes = [
        len(event["stateExitedEventDetails"]["output"].encode())
        for event in run_history
        if "stateExitedEventDetails" in event
    ]
    return max(sizes)


@pytest.mark.slow  # ~4 minutes: moto records the whole state at each of ~1000 transitions
def test_a_500_task_flow_whose_tasks_return_1_kib_each_completes(
    sfn: SfnHarness, results_bucket: str
) -> None:
    # Given 500 tasks in a line, each returning 1 KiB (500 KiB in all: twice the state limit)
    sfn.register("blob", kibibyte)
    flow = linear(500)
    # When it runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {}, deadline_seconds=600)
    # Then it completes, every task ran, and the state stayed under Step Functions' 256 KiB
    assert (run.status, run.error) == ("SUCCEEDED", None)
    assert len(run.executed_tasks) == 500
    assert state_bytes(run.history) < 256 * 1024


@pytest.mark.slow
def test_without_a_results_bucket_the_same_flow_hits_the_state_limit(sfn: SfnHarness) -> None:
    # Given the 1 KiB tasks but no ResultsBucket configured (the failure this fixes)
    sfn.register("blob", kibibyte)
    flow = linear(300)
    # When it runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {}, deadline_seconds=600)
    # Then Step Functions stops it with States.DataLimitExceeded before the end
    assert run.status == "FAILED"
    assert run.error == "States.DataLimitExceeded"
    assert len(run.executed_tasks) < 300


@task_handler
def big(task: TaskInput) -> dict[str, Any]:
    return {"count": 3, "ok": True, "payload": "y" * (1024 * 1024)}


@task_handler
def reader(task: TaskInput) -> dict[str, Any]:
    data = task.results["producer"].data
    assert isinstance(data, dict)
    payload = data["payload"]
    assert isinstance(payload, str)
    return {"read_bytes": len(payload), "count": data["count"]}


def two_tasks() -> Flow:
    return Flow.model_validate(
        {
            "id": "bigdata",
            "name": "Big data",
            "start_task": "producer",
            "tasks": [
                {"name": "producer", "function": "big"},
                {"name": "consumer", "function": "reader"},
            ],
            "conditions": [
                {
                    "name": "produced",
                    "source_task": "producer",
                    "outcome": "success",
                    "target_task_success": "consumer",
                    "target_task_failure": "end",
                }
            ],
        }
    )


def test_a_task_returning_1_mib_succeeds_and_the_next_task_reads_all_of_it(
    sfn: SfnHarness, results_bucket: str
) -> None:
    # Given a task returning 1 MiB of data, then a task reading it
    sfn.register("big", big)
    sfn.register("reader", reader)
    flow = two_tasks()
    # When the flow runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {})
    # Then both succeed and the consumer read the whole megabyte
    assert run.status == "SUCCEEDED"
    consumer = run.state_output("consumer")["results"]["consumer"]
    assert consumer == {
        "status": "success",
        "data": {"read_bytes": 1024 * 1024, "count": 3},
        "error": None,
    }


def test_an_offloaded_result_keeps_its_small_values_in_the_state_for_conditions(
    sfn: SfnHarness, results_bucket: str
) -> None:
    # Given the 1 MiB producer
    sfn.register("big", big)
    sfn.register("reader", reader)
    flow = two_tasks()
    # When the flow runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {})
    # Then the state holds the small values and a reference in place of the large one
    data = run.state_output("producer")["results"]["producer"]["data"]
    assert data["count"] == 3
    assert data["ok"] is True
    reference = data["payload"]
    key = f"bigdata/{run.name}/producer/0.json"
    assert reference == {"$ref": f"s3://{BUCKET}/{key}#/payload", "bytes": 1024 * 1024 + 2}
    # And the bucket holds the task's whole data under the execution's own key
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)
    assert json.loads(stored["Body"].read())["payload"] == "y" * (1024 * 1024)


@task_handler
def small(task: TaskInput) -> dict[str, Any]:
    return {"rows": 3}


def test_a_small_result_stays_whole_in_the_state(sfn: SfnHarness, results_bucket: str) -> None:
    # Given a task whose data is well under the inline threshold
    sfn.register("small", small)
    flow = linear(1, kind="small")
    assert len(json.dumps({"rows": 3})) < INLINE_DATA_BYTES
    # When it runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {})
    # Then its data is in the state as returned and nothing was stored
    assert run.state_output("t000")["results"]["t000"]["data"] == {"rows": 3}
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    assert listed.get("KeyCount", 0) == 0


@task_handler
def three_kib(task: TaskInput) -> dict[str, Any]:
    """3 KiB: over the least inline size, under a small flow's."""
    if task.results:
        first = task.results["t000"].data
        assert isinstance(first, dict)
        assert first["blob"] == "k" * 3072  # read from the state
    return {"blob": "k" * 3072}


def test_a_small_flows_kib_sized_results_stay_in_the_state(
    sfn: SfnHarness, results_bucket: str
) -> None:
    # Given a two-task flow whose tasks return 3 KiB each
    sfn.register("three_kib", three_kib)
    flow = linear(2, kind="three_kib")
    # When it runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {})
    # Then both results are in the state as returned, and nothing was stored
    assert (run.status, run.error) == ("SUCCEEDED", None)
    assert [run.output["results"][t]["data"] for t in ("t000", "t001")] == [
        {"blob": "k" * 3072}
    ] * 2
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    assert listed.get("KeyCount", 0) == 0


def test_a_nearly_full_state_keeps_a_small_flows_kib_result_as_a_skeleton(
    sfn: SfnHarness, results_bucket: str
) -> None:
    # Given a one-task flow (4 KiB inline) whose context leaves less than that in the
    # state, and a task returning 3 KiB
    sfn.register("three_kib", three_kib)
    flow = linear(1, kind="three_kib")
    context = {"pad": "c" * (MAX_PAYLOAD_BYTES - 3200)}
    # When it runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, context)
    # Then the task succeeds: its data went to the bucket, as any flow's would, rather
    # than failing for a state too large
    assert (run.status, run.error) == ("SUCCEEDED", None)
    result = run.output["results"]["t000"]
    assert result["status"] == "success"
    assert result["data"]["blob"]["$ref"].endswith("/t000/0.json#/blob")


def test_a_task_the_state_limit_stopped_is_reported_failed_not_running(sfn: SfnHarness) -> None:
    # Given a task (no SDK, no bucket) whose answer fits a task's output but, added to
    # the context, not the state
    sfn.register(
        "huge", lambda event, context: {"status": "success", "data": "z" * 150_000, "error": None}
    )
    flow = linear(1, kind="huge")
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {"pad": "c" * 150_000})
    assert run.error == "States.DataLimitExceeded"
    # When the report is built from moto's description and history
    described = sfn.client.describe_execution(executionArn=run.execution_arn)
    summary = ExecutionSummary(
        execution_id=run.name, flow_id="large", status="failed", execution_arn=run.execution_arn
    )
    report = build_report(summary, described, run.history)
    # Then the task failed with the execution's error, and it is the failed task
    result = report.task_results["t000"]
    assert result.status == "failure"
    assert result.error is not None
    assert result.error.startswith("States.DataLimitExceeded")
    assert result.finished_at is not None
    assert (report.status, report.failed_task, report.current_task) == ("failed", "t000", None)


# ---- a for_each over a large result --------------------------------------------------------

RECORDS = [{"id": f"r{i:02d}", "pad": "p" * 40} for i in range(40)]  # ~2.5 KiB


def records(count: int) -> Any:
    @task_handler
    def producer(task: TaskInput) -> dict[str, Any]:
        # The blob alone is over any flow's inline size: the data is never kept whole.
        return {"records": RECORDS * count, "blob": "x" * MAX_INLINE_DATA_BYTES, "n": 40 * count}

    return producer


def item_id(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"status": "success", "data": event["item"]["id"], "error": None}


def load_then_fan_out() -> Flow:
    return Flow.model_validate(
        {
            "id": "fanout",
            "name": "Fan out",
            "start_task": "load",
            "tasks": [
                {"name": "load", "function": "producer"},
                {"name": "each", "function": "item_id", "for_each": "results.load.data.records"},
            ],
            "conditions": [
                {
                    "name": "loaded",
                    "source_task": "load",
                    "outcome": "success",
                    "target_task_success": "each",
                    "target_task_failure": "end",
                }
            ],
        }
    )


def test_an_array_a_later_for_each_iterates_stays_in_the_state_and_every_item_runs(
    sfn: SfnHarness, results_bucket: str
) -> None:
    # Given a task returning 40 records (well over the inline threshold) and a large blob,
    # and a for_each over its records
    sfn.register("producer", records(1))
    sfn.register("item_id", item_id)
    flow = load_then_fan_out()
    # When the flow runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {})
    # Then every record was iterated, in order
    assert (run.status, run.error) == ("SUCCEEDED", None)
    assert run.output["results"]["each"]["data"] == [r["id"] for r in RECORDS]
    # And the records stayed in the state while the blob went to the bucket
    data = run.state_output("load")["results"]["load"]["data"]
    assert data["records"] == RECORDS
    assert data["blob"]["$ref"].endswith("/load/0.json#/blob")


def test_an_array_over_the_for_each_inline_limit_fails_the_for_each_saying_why(
    sfn: SfnHarness, results_bucket: str
) -> None:
    # Given records larger than the 32 KiB a for_each reads from the state
    sfn.register("producer", records(16))
    sfn.register("item_id", item_id)
    flow = load_then_fan_out()
    # When the flow runs
    run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {})
    # Then the for_each fails without running an item, and its error names the limit
    assert run.status == "FAILED"
    each = run.state_output("each has no items")["results"]["each"]
    assert each["status"] == "failure"
    assert "results.load.data.records is missing or not an array" in each["error"]
    assert "32 KiB" in each["error"]
    assert [i.function_name for i in run.task_events] == ["producer"]
