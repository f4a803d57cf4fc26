"""Request parameters shared by several routes (headers, paging) and the body models
that wrap a flow. The flow itself is checked by flow_manager.validation, which reports
every problem with its location: SkipValidation keeps the full flow schema in the
OpenAPI document while handing the raw JSON to the validator."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue, SkipValidation

from flow_manager.model import Flow, FlowDocument

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying with the same key returns the same execution instead of a new one.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
NextToken = Annotated[str | None, Query(description="next_token of the previous page.")]


class FlowBody(BaseModel):
    """`{"flow": {...}}`; `{"flow_data": {"flow": {...}}}` is accepted too."""

    model_config = ConfigDict(extra="allow")

    flow: SkipValidation[Flow] | None = None
    flow_data: SkipValidation[FlowDocument] | None = Field(
        default=None, description='Another wrapper of the flow: {"flow_data": {"flow": {...}}}.'
    )


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: dict[str, JsonValue] = Field(
        default_factory=dict, description="The execution's input: every task receives it."
    )
