"""The order sample (events/flows/order_flow.json) over HTTP on the stack: created by
the API, compiled by the translator, run by the engine with the stack's own functions,
and driven to each of its ends only by the context and the approval route."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from flow_manager_local.client import ApiClient
from tests.e2e.support import (
    EXECUTION_DEADLINE_SECONDS,
    ROOT,
    TERMINAL,
    json_body,
    start,
    unique,
    wait_for_end,
)

ORDER = json.loads((ROOT / "events" / "flows" / "order_flow.json").read_text())
RECORDS = [{"id": f"line-{i}", "value": 10 * i} for i in range(1, 4)]


@pytest.fixture
def order_flow(api: ApiClient, cleanup: list[str]) -> str:
    """The sample under a unique id (a shared stack may hold the sample's own)."""
    flow_id = unique("order")
    document = {"flow": {**ORDER["flow"], "id": flow_id}}
    response = api.post("/flows", document)
    assert response.status == 201, response.error_line()
    cleanup.append(flow_id)
    return flow_id


def wait_for_approval(api: ApiClient, execution_id: str) -> dict[str, Any]:
    end = time.monotonic() + EXECUTION_DEADLINE_SECONDS
    while time.monotonic() < end:
        report = json_body(api.get(f"/executions/{execution_id}"))
        if report.get("waiting_for"):
            return report
        if report["status"] in TERMINAL:
            pytest.fail(f"ended {report['status']} before waiting: {report.get('cause')}")
        time.sleep(0.2)
    pytest.fail("the approval was not waiting in time")


def steps(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The top-level steps of the decision trace: (task, next)."""
    return [(s["task"], s["next"]) for s in report["path"] if s.get("branch") is None]


def test_a_small_eu_order_runs_straight_through_to_completed(
    api: ApiClient, order_flow: str
) -> None:
    # Given a small order from the EU
    context = {"amount": 20, "country": "DE", "records": RECORDS}
    # When it runs
    report = wait_for_end(api, start(api, order_flow, context))
    # Then it is priced per line item, enriched, charged, and completed
    assert report["status"] == "completed", report.get("cause")
    assert steps(report) == [
        ("load_order", "price_items"),
        ("price_items", "enrich"),
        ("enrich", "charge"),
        ("charge", "end"),
    ]


def test_a_large_order_approved_through_the_route_completes(
    api: ApiClient, order_flow: str
) -> None:
    # Given a large order, waiting for the manager's approval
    context = {"amount": 5000, "country": "FR", "records": RECORDS}
    execution_id = start(api, order_flow, context)
    waiting = wait_for_approval(api, execution_id)
    assert waiting["waiting_for"]["task"] == "manager_ok"
    # When a manager approves it through the approval route
    decided = api.post(
        f"/executions/{execution_id}/approvals/manager_ok", {"approve": True, "comment": "ok"}
    )
    assert decided.status == 200, decided.error_line()
    # Then it completes, and the trace shows the case that sent it to the approval
    report = wait_for_end(api, execution_id)
    assert report["status"] == "completed", report.get("cause")
    first = report["path"][0]
    assert (first["task"], first["when"], first["next"]) == (
        "load_order",
        "context.amount > 1000",
        "manager_ok",
    )
    assert report["task_results"]["manager_ok"]["data"]["approved"] is True


def test_a_large_order_rejected_through_the_route_ends_failed_at_the_approval(
    api: ApiClient, order_flow: str
) -> None:
    # Given a large order waiting for approval
    execution_id = start(api, order_flow, {"amount": 5000, "country": "FR", "records": RECORDS})
    wait_for_approval(api, execution_id)
    # When the manager rejects it
    decided = api.post(
        f"/executions/{execution_id}/approvals/manager_ok",
        {"approve": False, "comment": "too big"},
    )
    assert decided.status == 200, decided.error_line()
    # Then the flow fails at the approval, with the comment in its error; nothing is charged
    report = wait_for_end(api, execution_id)
    assert report["status"] == "failed"
    assert report["failed_task"] == "manager_ok"
    assert "too big" in report["task_results"]["manager_ok"]["error"]
    assert "charge" not in report["task_results"]


def test_an_order_whose_charge_fails_is_refunded_and_ends_failed(
    api: ApiClient, order_flow: str
) -> None:
    # Given an order from outside the EU whose charge fails (the context's demo switch)
    context = {
        "amount": 20,
        "country": "US",
        "records": RECORDS,
        "demo": {"charge": {"fail": "card declined"}},
    }
    # When it runs
    report = wait_for_end(api, start(api, order_flow, context))
    # Then it waited at customs, the refund compensated, and the flow ended failed
    assert report["status"] == "failed"
    assert steps(report) == [
        ("load_order", "customs_hold"),
        ("customs_hold", "price_items"),
        ("price_items", "enrich"),
        ("enrich", "charge"),
        ("charge", "refund"),
        ("refund", "fail"),
    ]
    assert report["task_results"]["charge"]["error"] == "card declined"
    assert report["task_results"]["refund"]["status"] == "success"
