"""ApprovalFunction (task kind `approval`, internal): an approval task's state invokes it
with `lambda:invoke.waitForTaskToken`. It records the task token beside the execution
(flow_manager.approvals) and returns; the execution waits until
POST /executions/{id}/approvals/{task} sends the decision, or the task's timeout.

Environment: FLOWS_TABLE (template.yaml), AWS_REGION (Lambda's own).
"""

from __future__ import annotations

import logging
import os
from functools import cache
from typing import Any

from flow_manager.approvals import ApprovalStore, record_waiting
from flow_manager.snapstart import before_snapshot

logger = logging.getLogger("flow_manager.approval")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


@cache
def _store() -> ApprovalStore:
    table = os.environ.get("FLOWS_TABLE", "")
    if not table:
        raise RuntimeError("FLOWS_TABLE is not set: the function is misconfigured")
    return ApprovalStore(table, _region())


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _make_client() -> None:
    """The store's DynamoDB client, made before a SnapStart snapshot (flow_manager/snapstart.py)."""
    from flow_manager.aws import client

    client("dynamodb", _region())


before_snapshot(_make_client)


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    # An invalid event or a failed write raises: Step Functions' Retry/Catch see it and
    # the approval task fails instead of waiting for a token nobody can find.
    waiting = record_waiting(event, _store())
    logger.info(
        "approval waiting",
        extra={"execution_id": waiting.execution_id, "task": waiting.task},
    )
    return {"execution_id": waiting.execution_id, "task": waiting.task, "since": waiting.since}
