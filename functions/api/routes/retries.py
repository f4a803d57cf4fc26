"""The retry route: a new execution resuming a failed one at its failed task (DESIGN §7)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from flow_manager.reports import ExecutionSummary
from flow_manager.retries import Retries
from routes.params import IdempotencyKey
from routes.responses import BODY_ERRORS, errors, json_response, ok
from routes.services import executions

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_task: str | None = Field(
        default=None,
        max_length=64,
        description="Restart at this top-level task (it must have run); default: the "
        "failed task. Results of the tasks that ran before it are kept.",
    )
    context: dict[str, JsonValue] | None = Field(
        default=None, description="A new context; default: the failed execution's."
    )
    version: Literal["same", "current"] = Field(
        default="same",
        description='"same": the flow version that failed; "current": the flow\'s current '
        "version (a fixed flow finishes the run).",
    )


EXAMPLES = {
    "failed": {"summary": "From the failed task, same version", "value": {}},
    "fixed": {
        "summary": "On the fixed current version, from a given task",
        "value": {"from_task": "charge", "version": "current"},
    },
}


@router.post(
    "/executions/<execution_id>/retry",
    tags=["executions"],
    summary="Retry a failed execution from its failed task, keeping earlier results",
    description="202: a new execution (its report's retry_of names this one, whose "
    "retries list it) resumes at the failed task (or from_task) with the context and the "
    "results of the tasks that ran before it: those tasks are not run again. 409 "
    "ExecutionNotRetryable unless the execution is failed, aborted or timed_out; 422 for a "
    "from_task that did not run (or is not in the chosen version). With Idempotency-Key a "
    "repeated request answers the retry it started the first time.",
    responses={
        **ok(202, ExecutionSummary, "The retry started (or found, for a repeated key)"),
        **errors(
            "ExecutionNotFound",
            "FlowNotFound",
            "ExecutionNotRetryable",
            "InvalidContext",
            "IdempotencyKeyReused",
            "BadRequest",
            *BODY_ERRORS,
        ),
    },
)
def retry_execution(
    execution_id: str,
    idempotency_key: IdempotencyKey = None,
    body: Annotated[RetryBody | None, Body(openapi_examples=EXAMPLES)] = None,
) -> Response[ExecutionSummary]:
    request = body or RetryBody()
    started = Retries(executions()).retry(
        execution_id,
        from_task=request.from_task,
        context=request.context,
        version=request.version,
        idempotency_key=idempotency_key,
    )
    location = f"/executions/{started.execution.execution_id}"
    return json_response(202, started.execution, {"Location": location})
