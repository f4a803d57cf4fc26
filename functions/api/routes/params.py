"""Request parameters shared by several routes (headers, paging) and the body models
that wrap a flow. The flow itself is checked by flow_manager.validation, which reports
every problem with its location: SkipValidation keeps the full flow schema in the
OpenAPI document while handing the raw JSON to the validator."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue, SkipValidation

from flow_manager.flows import IF_MATCH_PATTERN
from flow_manager.model import Flow, FlowDocument
from flow_manager.paging import MAX_TOKEN_LENGTH

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying with the same key returns the same execution instead of a new "
        "one. 1-255 printable ASCII characters.",
        pattern=r"^[ -~]{1,255}$",  # as executions._check_key: printable, at most 255
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='Required: the ETag of the version being replaced ("3", as GET returns '
        "it), a list of ETags, or * for whatever is current. Without it the answer is 428 "
        "PreconditionRequired (the header is optional here only so that a missing one "
        'reaches that answer). A weak tag (W/"3") never matches: 412.',
        pattern=IF_MATCH_PATTERN,
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
# No pattern here: whatever is not a token this list issued (malformed, forged, another
# list's) is the one answer 400 InvalidPageToken, from flow_manager.paging.
NextToken = Annotated[
    str | None,
    Query(
        description="next_token of the previous page, as it was: only a token this list "
        f"issued (at most {MAX_TOKEN_LENGTH} characters) is taken, else 400 InvalidPageToken.",
    ),
]


def _exactly_one_wrapper(schema: dict[str, Any]) -> None:
    """The document states what the validator accepts: one of the two wrappers, holding
    a flow, nothing else. Validation itself stays lenient (extra="allow", SkipValidation):
    flow_manager.validation reports every problem at once, with its location."""
    properties = schema.get("properties", {})
    for field in properties.values():
        alternatives = field.pop("anyOf", None)
        if alternatives:  # drop the `null` alternative: {"flow": null} is refused
            field.update(next(a for a in alternatives if a.get("type") != "null"))
    schema["additionalProperties"] = False
    schema["oneOf"] = [{"required": [name]} for name in properties]


class FlowBody(BaseModel):
    """`{"flow": {...}}`; `{"flow_data": {"flow": {...}}}` is accepted too.
    The body is at most 256 KiB of JSON text, nested at most 64 levels."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_exactly_one_wrapper)

    flow: SkipValidation[Flow] | None = None
    flow_data: SkipValidation[FlowDocument] | None = Field(
        default=None, description='Another wrapper of the flow: {"flow_data": {"flow": {...}}}.'
    )


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="The execution's input: every task receives it. A JSON object of at "
        "most 256 KiB (Step Functions' payload limit), nested at most 64 levels.",
    )
