"""The order sample (events/flows/order_flow.json) runs to each of its ends in moto,
driven only by the context and the approval's decision (a placeholder ApprovalFunction
captures the task token; the test decides as the approval route will)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from flow_manager.catalog import APPROVAL_KIND, SAMPLE_KINDS
from flow_manager.translator import compile_flow
from flow_manager.validation import validate
from tests.support.sfn import ExecutionRun, LambdaContext, SfnHarness, lambda_arn

ORDER = Path(__file__).parents[2] / "events" / "flows" / "order_flow.json"
CATALOG = {**{k: lambda_arn(k) for k in SAMPLE_KINDS}, APPROVAL_KIND: lambda_arn("approval")}
ITEMS = [{"id": "a", "value": 1}, {"id": "b", "value": 2}]


class Tasks:
    """The sample kinds, scripted by task name: `failing` tasks return a failure."""

    def __init__(self, sfn: SfnHarness, failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.token: str | None = None
        self.waiting = threading.Event()
        for kind in SAMPLE_KINDS:
            sfn.register(kind, self.answer)
        sfn.register("approval", self.approval)
        self.failing = failing

    def answer(self, event: dict[str, Any], context: LambdaContext) -> Any:
        task = event["task"]
        if task in self.failing:
            return {"status": "failure", "data": None, "error": f"{task} failed"}
        if task == "load_order":
            return {
                "status": "success",
                "data": {"records": event["context"]["records"]},
                "error": None,
            }
        return {
            "status": "success",
            "data": {"task": task, "item": event.get("item")},
            "error": None,
        }

    def approval(self, event: dict[str, Any], context: LambdaContext) -> Any:
        self.token = event["task_token"]
        self.waiting.set()
        return {"recorded": True}


def start(sfn: SfnHarness, context: dict[str, Any]) -> str:
    flow = validate(json.loads(ORDER.read_text()), CATALOG)
    return sfn.start(sfn.create_state_machine(compile_flow(flow, CATALOG).json), context)


def decide(sfn: SfnHarness, tasks: Tasks, approve: bool) -> None:
    assert tasks.waiting.wait(30)
    result = (
        {"status": "success", "data": {"approved": True, "by": "ann"}, "error": None}
        if approve
        else {"status": "failure", "data": {"approved": False}, "error": "rejected: too big"}
    )
    sfn.client.send_task_success(taskToken=tasks.token or "", output=json.dumps(result))


def top_level(run: ExecutionRun) -> list[str]:
    names = {
        "load_order",
        "manager_ok",
        "customs_hold",
        "price_items",
        "enrich",
        "charge",
        "refund",
    }
    return [s for s in run.entered_states if s in names]


def test_a_small_eu_order_completes_without_approval_or_customs(sfn: SfnHarness) -> None:
    Tasks(sfn)
    run = sfn.wait(start(sfn, {"amount": 100, "country": "DE", "records": ITEMS}))
    assert run.status == "SUCCEEDED"
    assert top_level(run) == ["load_order", "price_items", "enrich", "charge"]
    assert len(run.output["results"]["price_items"]["data"]) == 2
    assert {"quote_shipping", "score_risk", "flag_risk"} <= set(run.output["results"])


def test_a_large_order_approved_completes(sfn: SfnHarness) -> None:
    tasks = Tasks(sfn)
    arn = start(sfn, {"amount": 5000, "country": "DE", "records": ITEMS})
    decide(sfn, tasks, approve=True)
    run = sfn.wait(arn)
    assert run.status == "SUCCEEDED"
    assert top_level(run) == ["load_order", "manager_ok", "price_items", "enrich", "charge"]


def test_a_large_order_rejected_fails_at_the_approval(sfn: SfnHarness) -> None:
    tasks = Tasks(sfn)
    arn = start(sfn, {"amount": 5000, "country": "DE", "records": ITEMS})
    decide(sfn, tasks, approve=False)
    run = sfn.wait(arn)
    assert run.status == "FAILED"
    assert run.error == "FlowFailed"
    assert top_level(run) == ["load_order", "manager_ok"]


def test_a_foreign_order_waits_for_customs(sfn: SfnHarness) -> None:
    Tasks(sfn)
    run = sfn.wait(
        start(sfn, {"amount": 10, "country": "US", "customs_seconds": 0, "records": ITEMS})
    )
    assert run.status == "SUCCEEDED"
    assert top_level(run) == ["load_order", "customs_hold", "price_items", "enrich", "charge"]


@pytest.mark.parametrize("failing", ["charge"])
def test_a_failed_charge_is_compensated_by_a_refund_and_ends_failed(
    sfn: SfnHarness, failing: str
) -> None:
    Tasks(sfn, failing={failing})
    run = sfn.wait(start(sfn, {"amount": 10, "country": "DE", "records": ITEMS}))
    assert top_level(run) == ["load_order", "price_items", "enrich", "charge", "refund"]
    assert run.status == "FAILED"
    assert run.error == "FlowFailed"
    assert run.cause == "Condition 'refunded' ended the flow with 'fail' after task 'refund'."
