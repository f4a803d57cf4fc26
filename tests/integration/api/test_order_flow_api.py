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
from tests.support.mermaid import classes, taken

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


def test_the_diagram_of_an_approved_large_order_marks_the_path_it_took(
    approving: Approving,  # noqa: F811
) -> None:
    # Given a large order approved to completion
    execution_id = start_large_order(approving.api)
    approving.wait_until_waiting(execution_id)
    # While it waits, the approval is the active task
    waiting = approving.api.request(
        "GET", f"/executions/{execution_id}/diagram", headers={"Accept": "*/*"}
    )
    assert classes(waiting.text).get("t1") == "active", waiting.text
    assert approving.decide(execution_id, {"approve": True}).status == 200
    final = approving.api.wait(execution_id)
    assert final["status"] == "completed"
    # When its diagram is read
    answer = approving.api.request(
        "GET", f"/executions/{execution_id}/diagram", headers={"Accept": "*/*"}
    )
    # Then the route it took is marked: the amount case to the approval, the for_each,
    # both branches of the parallel enrichment, the charge and the end; not the customs hold
    marked = classes(answer.text)
    path = ("t0", "t1", "t3", "t4", "t5", "t6", "t7", "t8", "f_end_node")
    assert {node: marked.get(node) for node in path} == dict.fromkeys(path, "done")
    assert "t2" not in marked
    assert {("t0", "t1"), ("t1", "t3"), ("t3", "t4"), ("t4", "t8")} <= set(taken(answer.text))
