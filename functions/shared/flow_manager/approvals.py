"""Human approval (DESIGN §3.1, §8): a task that waits until a person decides.

An approval task's state invokes the ApprovalFunction with
`arn:aws:states:::lambda:invoke.waitForTaskToken`; its payload is the standard task
payload of DESIGN §4.2 plus `task_token` ($$.Task.Token) and `timeout_seconds`. The
function records the token beside the execution and returns; the execution waits:

    EXEC#<execution id> / APPROVAL#<task>   task_token, since, expires_at, message,
                                            flow_id, claimed_until (while deciding)

`POST /executions/{id}/approvals/{task}` decides. The decision is the task's result,
sent with SendTaskSuccess whichever way it goes, so the flow's condition routes on it
like any task's:

    approve: {"status": "success", "data": {approved: true, by, comment, decided_at}, "error": null}
    reject:  {"status": "failure", "data": {approved: false, ...}, "error": "rejected: <comment>"}

SendTaskFailure is not used: it would make the result `{Error, Cause}`, and the flow
could not tell a rejection's data (who, why) from a crash.

Deciding is claim → send → delete. The claim (a conditional update with a lease) lets
one request only send; a second decision finds no item (or a claimed one) and gets
ApprovalNotWaiting (409) without touching Step Functions. If the send fails because AWS
is busy the claim is released, so the same request can be retried; if the process dies
after claiming, the lease runs out and a retry takes over (Step Functions answers
TaskTimedOut for a token already used, which also clears the item).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from flow_manager.aws import client, is_client_error, raise_if_unavailable
from flow_manager.errors import ExecutionNotFound, FlowManagerError
from flow_manager.reports import STATUS_OF, iso
from flow_manager.store import exec_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_stepfunctions import SFNClient

    from flow_manager.executions import Executions

APPROVAL_SK_PREFIX = "APPROVAL#"
CLAIM_SECONDS = 60  # longer than API Gateway's 29 s: a live request never loses its claim
MAX_COMMENT_LENGTH = 2000
# Step Functions' answers to a token that can no longer be used.
_TOKEN_GONE = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")

Clock = Callable[[], datetime]


def approval_sk(task: str) -> str:
    return f"{APPROVAL_SK_PREFIX}{task}"


def _now() -> datetime:
    return datetime.now(UTC)


class ApprovalNotWaiting(FlowManagerError):
    """No decision can be taken: nothing waits, it was decided, or it timed out."""

    def __init__(self, execution_id: str, task: str, reason: str) -> None:
        super().__init__(
            f"no approval '{task}' is waiting in execution '{execution_id}': {reason}",
            [{"execution_id": execution_id, "task": task}],
            "ApprovalNotWaiting",
        )


class ApprovalBeingDecided(Exception):
    """The ApprovalFunction found a decision under way for the task: it must not replace
    the token that decision is sending (raised, so the task fails visibly)."""


# ---- what the ApprovalFunction receives and records -------------------------------------


class ApprovalEvent(BaseModel):
    """The approval state's payload: DESIGN §4.2's task payload plus the token."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    flow_id: str
    flow_version: int = 0
    execution_id: str = Field(min_length=1, max_length=80)
    task: str = Field(min_length=1, max_length=80)
    parameters: dict[str, Any] = Field(default_factory=dict)
    task_token: str = Field(min_length=1)
    timeout_seconds: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class Waiting:
    """A token item: an approval task that waits for a decision."""

    execution_id: str
    task: str
    task_token: str
    flow_id: str
    since: str
    expires_at: str | None = None
    message: str | None = None
    claimed_until: int = 0  # epoch seconds; 0: nobody is deciding


def waiting_from_event(event: ApprovalEvent, now: datetime) -> Waiting:
    message = event.parameters.get("message")
    expires = now + timedelta(seconds=event.timeout_seconds) if event.timeout_seconds else None
    return Waiting(
        execution_id=event.execution_id,
        task=event.task,
        task_token=event.task_token,
        flow_id=event.flow_id,
        since=iso(now) or "",
        expires_at=iso(expires),
        message=message if isinstance(message, str) else None,
    )


class ApprovalStore:
    """The token items in FlowsTable; every write is conditional."""

    def __init__(self, table: str, region: str) -> None:
        self.table = table
        self.region = region

    @cached_property
    def _db(self) -> DynamoDBClient:
        db: DynamoDBClient = client("dynamodb", self.region)
        return db

    def put(self, waiting: Waiting) -> None:
        """Record a waiting approval. A retried invocation brings a new token and
        replaces a waiting one; a claimed one (a decision being sent) is kept."""
        try:
            self._db.put_item(
                TableName=self.table,
                Item=_item(waiting),
                ConditionExpression="attribute_not_exists(claimed_until)",
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ConditionalCheckFailedException"):
                raise ApprovalBeingDecided(f"{waiting.execution_id}/{waiting.task}") from exc
            raise

    def get(self, execution_id: str, task: str) -> Waiting | None:
        try:
            answer = self._db.get_item(
                TableName=self.table, Key=_key(execution_id, task), ConsistentRead=True
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            raise
        item = answer.get("Item")
        return None if item is None else _waiting(item)

    def claim(self, waiting: Waiting, now: int) -> bool:
        """Take the right to send this token's decision, unless another request holds it."""
        return self._conditional_update(
            waiting,
            "SET claimed_until = :until",
            "task_token = :token AND (attribute_not_exists(claimed_until) OR claimed_until < :now)",
            {":until": {"N": str(now + CLAIM_SECONDS)}, ":now": {"N": str(now)}},
        )

    def release(self, waiting: Waiting) -> None:
        self._conditional_update(waiting, "REMOVE claimed_until", "task_token = :token", {})

    def delete(self, waiting: Waiting) -> None:
        """Forget the token (decided, or dead). Only this token's item: a newer one stays."""
        try:
            self._db.delete_item(
                TableName=self.table,
                Key=_key(waiting.execution_id, waiting.task),
                ConditionExpression="task_token = :token",
                ExpressionAttributeValues={":token": {"S": waiting.task_token}},
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            if not is_client_error(exc, "ConditionalCheckFailedException"):
                raise

    def _conditional_update(
        self, waiting: Waiting, update: str, condition: str, values: Mapping[str, Any]
    ) -> bool:
        try:
            self._db.update_item(
                TableName=self.table,
                Key=_key(waiting.execution_id, waiting.task),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues={":token": {"S": waiting.task_token}, **values},
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ConditionalCheckFailedException"):
                return False
            raise
        return True


def record_waiting(event: object, store: ApprovalStore, clock: Clock = _now) -> Waiting:
    """What the ApprovalFunction does: parse the payload, store the token."""
    waiting = waiting_from_event(ApprovalEvent.model_validate(event), clock())
    store.put(waiting)
    return waiting


# ---- deciding ---------------------------------------------------------------------------


class DecisionResult(BaseModel):
    """The approval task's result, as the flow's condition and later tasks read it."""

    status: Literal["success", "failure"]
    data: dict[str, JsonValue]
    error: str | None = None


class Decision(BaseModel):
    """What POST /executions/{id}/approvals/{task} answers: the decision as sent."""

    execution_id: str
    task: str
    approved: bool
    by: str = Field(description="Who decided: the caller's IAM ARN ('local' on the local stack).")
    comment: str | None = None
    decided_at: str
    result: DecisionResult = Field(description="The approval task's result, as the flow sees it.")


def decision_result(approve: bool, by: str, comment: str | None, decided_at: str) -> DecisionResult:
    data: dict[str, JsonValue] = {
        "approved": approve,
        "by": by,
        "comment": comment,
        "decided_at": decided_at,
    }
    if approve:
        return DecisionResult(status="success", data=data, error=None)
    return DecisionResult(
        status="failure", data=data, error=f"rejected: {comment}" if comment else "rejected"
    )


class Approvals:
    """Decide waiting approvals of the executions this service started."""

    def __init__(
        self,
        executions: Executions,
        store: ApprovalStore | None = None,
        clock: Clock = _now,
        epoch: Callable[[], float] = time.time,
    ) -> None:
        self.executions = executions
        self.store = store or ApprovalStore(executions.store.table, executions.store.region)
        self.clock = clock
        self.epoch = epoch

    @cached_property
    def _sfn(self) -> SFNClient:
        sfn: SFNClient = client("stepfunctions", self.executions.engine.region)
        return sfn

    def decide(
        self, execution_id: str, task: str, *, approve: bool, comment: str | None, by: str
    ) -> Decision:
        if not execution_id or len(execution_id) > 80:
            raise ExecutionNotFound(execution_id[:80])
        record = self.executions.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFound(execution_id)
        waiting = self.store.get(execution_id, task) if len(task) <= 80 else None
        status = self._status(record.execution_arn)
        if waiting is not None and status != "running":
            self.store.delete(waiting)  # a token of an ended execution is dead
        if status != "running":
            raise ApprovalNotWaiting(execution_id, task, f"the execution is {status}")
        if waiting is None:
            raise ApprovalNotWaiting(
                execution_id, task, "the task has not started waiting, or was decided already"
            )
        if not self.store.claim(waiting, int(self.epoch())):
            raise ApprovalNotWaiting(execution_id, task, "another request is deciding it")
        decided_at = iso(self.clock()) or ""
        result = decision_result(approve, by, comment, decided_at)
        try:
            self._sfn.send_task_success(
                taskToken=waiting.task_token,
                output=json.dumps(result.model_dump(mode="json"), separators=(",", ":")),
            )
        except Exception as exc:
            if is_client_error(exc, *_TOKEN_GONE):
                self.store.delete(waiting)
                raise ApprovalNotWaiting(
                    execution_id, task, "it timed out, or its execution ended"
                ) from exc
            self.store.release(waiting)  # nothing was sent: the request may be retried
            raise_if_unavailable(exc)
            raise
        self.store.delete(waiting)
        return Decision(
            execution_id=execution_id,
            task=task,
            approved=approve,
            by=by,
            comment=comment,
            decided_at=decided_at,
            result=result,
        )

    def _status(self, execution_arn: str) -> str:
        # Checked before sending: Step Functions' answer to the token of a stopped
        # execution is not documented, and moto accepts it.
        described = self.executions.engine.describe(execution_arn) or {}
        return STATUS_OF.get(str(described.get("status")), "running")


# ---- items ------------------------------------------------------------------------------


def _key(execution_id: str, task: str) -> dict[str, Any]:
    return {"pk": {"S": exec_pk(execution_id)}, "sk": {"S": approval_sk(task)}}


def _item(waiting: Waiting) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(waiting.execution_id, waiting.task),
        "execution_id": {"S": waiting.execution_id},
        "task": {"S": waiting.task},
        "task_token": {"S": waiting.task_token},
        "flow_id": {"S": waiting.flow_id},
        "since": {"S": waiting.since},
    }
    if waiting.expires_at is not None:
        item["expires_at"] = {"S": waiting.expires_at}
    if waiting.message is not None:
        item["message"] = {"S": waiting.message}
    return item


def _waiting(item: Mapping[str, Any]) -> Waiting:
    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None or "S" not in value else str(value["S"])

    claimed = item.get("claimed_until")
    return Waiting(
        execution_id=text("execution_id") or "",
        task=text("task") or "",
        task_token=text("task_token") or "",
        flow_id=text("flow_id") or "",
        since=text("since") or "",
        expires_at=text("expires_at"),
        message=text("message"),
        claimed_until=int(claimed["N"]) if claimed and "N" in claimed else 0,
    )
