"""Approval routes: decide an approval task that waits (DESIGN §3.1, §7)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from flow_manager.approvals import MAX_COMMENT_LENGTH, Approvals, Decision
from routes.responses import BODY_ERRORS, errors, json_response, ok
from routes.services import executions

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: StrictBool = Field(description="true approves (the task succeeds); false rejects.")
    comment: str | None = Field(
        default=None,
        max_length=MAX_COMMENT_LENGTH,
        description="Why; kept in the task's data, and in its error when rejected.",
    )


# Swagger UI's "Try it out" bodies (plain data, as routes/examples.py on the seeds' side).
EXAMPLES = {
    "approve": {"summary": "Approve", "value": {"approve": True, "comment": "within budget"}},
    "reject": {
        "summary": "Reject, saying why",
        "value": {"approve": False, "comment": "too expensive"},
    },
}


def caller() -> str:
    """Who decides: the IAM identity API Gateway verified (AuthMode=IAM). Without one,
    "local" on the local stack (a loopback client), else "anonymous"."""
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEvent)  # the REST resolver's event type
    identity = event.request_context.identity
    if identity.user_arn:
        return str(identity.user_arn)
    try:
        loopback = ipaddress.ip_address(identity.source_ip or "").is_loopback
    except ValueError:
        loopback = False
    return "local" if loopback else "anonymous"


@router.post(
    "/executions/<execution_id>/approvals/<task>",
    tags=["approvals"],
    summary="Approve or reject an approval task that waits",
    description="Sends the decision as the approval task's result: approve gives "
    '{"status": "success", "data": {"approved": true, "by", "comment", "decided_at"}}, '
    'reject gives {"status": "failure", "data": {"approved": false, ...}, '
    '"error": "rejected: <comment>"}, and the flow goes on along its condition. '
    "The answer is the decision; the execution continues on its own: poll "
    "GET /executions/{execution_id} (the Location header). 409 ApprovalNotWaiting when no "
    "such approval waits: not started yet, decided already, timed out, or the execution "
    "ended. `by` is the caller's IAM ARN.",
    responses={
        **ok(200, Decision, "Decided: the decision as sent to the execution"),
        **errors("ExecutionNotFound", "ApprovalNotWaiting", *BODY_ERRORS),
    },
)
def decide_approval(
    execution_id: str, task: str, body: Annotated[DecisionBody, Body(openapi_examples=EXAMPLES)]
) -> Response[Decision]:
    decision = Approvals(executions()).decide(
        execution_id, task, approve=body.approve, comment=body.comment, by=caller()
    )
    return json_response(200, decision, {"Location": f"/executions/{execution_id}"})
