"""The order sample over ApiFunction, compiled by the translator (not hand-made): the
real ApprovalFunction records the token of `manager_ok`, the approval route decides,
and the execution ends completed (approved) or failed (rejected)."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.api.conftest import ROOT, Api
from tests.integration.api.test_approvals import (  # noqa: F401 (fixtures)
    Approving,
    approval_module,
    approving,
)

ORDER = json.loads((ROOT / "events" / "flows" / "order_flow.json").read_text())
LARGE = {"amount": 5000, "country": "DE", "records": [{"id": "a", "value": 1}]}


def start_large_order(api: Api) -> str:
    assert api.request("POST", "/flows", ORDER).status == 201
    started = api.request("POST", "/flows/order_flow/executions", {"context": LARGE})
    assert started.status == 202, started.text
    execution_id: str = started.body["execution_id"]
    return execution_id


def test_a_large_order_waits_for_approval_and_completes_when_approved(
    approving: Approving,  # noqa: F811
) -> None:
    # Given the order sample and a large order
    execution_id = start_large_order(approving.api)
    # When it waits at manager_ok and a manager approves through the route
    report: dict[str, Any] = approving.wait_until_waiting(execution_id)
    assert report["waiting_for"]["task"] == "manager_ok"
    assert approving.decide(execution_id, {"approve": True, "comment": "ok"}).status == 200
    # Then the order is priced, enriched, charged: completed (the report reads Task
    # states only so far; for_each and parallel tasks in reports are issue 9 item 5)
    final = approving.api.wait(execution_id)
    assert final["status"] == "completed", final
    assert {"manager_ok", "charge"} <= set(final["task_results"])


def test_a_large_order_rejected_ends_failed(approving: Approving) -> None:  # noqa: F811
    execution_id = start_large_order(approving.api)
    approving.wait_until_waiting(execution_id)
    assert approving.decide(execution_id, {"approve": False, "comment": "too big"}).status == 200
    final = approving.api.wait(execution_id)
    assert final["status"] == "failed", final
    assert final["error"] == "FlowFailed"
