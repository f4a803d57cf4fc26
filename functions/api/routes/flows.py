"""Flow routes: create, validate, list, read, update, delete, definition."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit

from flow_manager.flows import FlowDefinition, FlowPage, FlowResource, ValidationReport, etag
from routes import examples
from routes.params import FlowBody, IfMatch, Limit, NextToken
from routes.responses import BODY_ERRORS, errors, json_response, ok
from routes.services import flows

Strict = Annotated[
    bool,
    Query(
        description="Turn warnings (tasks no path reaches) into errors: 422 instead of "
        "accepting the flow without them."
    ),
]

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
metrics = Metrics()

CREATE_RESPONSES = {
    **ok(201, FlowResource, "Created"),
    **ok(200, FlowResource, "An identical flow exists under this id"),
    **errors("InvalidFlow", "FlowAlreadyExists", "FlowBusy", *BODY_ERRORS),
}


@router.post(
    "/flows",
    tags=["flows"],
    summary="Create a flow",
    description="201 with the flow. The same flow posted again under the same id answers "
    "200 (a retried create); another flow under that id answers 409. A flow without an "
    "id is named after its content.",
    responses=CREATE_RESPONSES,
)
def create_flow(
    body: Annotated[FlowBody, Body(openapi_examples=examples.FLOW)], strict: Strict = False
) -> Response[FlowResource]:
    saved = flows().create(router.current_event.json_body, strict=strict)
    if saved.created:
        metrics.add_metric(name="FlowCreated", unit=MetricUnit.Count, value=1)
    resource = saved.flow.model_copy(
        update={"message": f"Flow {saved.flow.flow_id} created successfully"}
    )
    headers = {"Location": f"/flows/{saved.flow.flow_id}", "ETag": etag(saved.flow.version)}
    return json_response(201 if saved.created else 200, resource, headers)


@router.post(
    "/flows/validate",
    tags=["flows"],
    summary="Dry run: every problem of the flow, or its compiled state machine",
    description="Stores nothing. 200 either way; `valid` says which.",
    responses={**ok(200, ValidationReport, "The verdict"), **errors(*BODY_ERRORS)},
)
def validate_flow(
    body: Annotated[FlowBody, Body(openapi_examples=examples.FLOW)], strict: Strict = False
) -> Response[ValidationReport]:
    return json_response(200, flows().check(router.current_event.json_body, strict=strict))


@router.get(
    "/flows",
    tags=["flows"],
    summary="List flows, by id",
    responses={
        **ok(200, FlowPage, "A page of flows"),
        **errors("InvalidPageToken", "InvalidParameter"),
    },
)
def list_flows(limit: Limit = 25, next_token: NextToken = None) -> Response[FlowPage]:
    return json_response(200, flows().list(limit, next_token))


@router.get(
    "/flows/<flow_id>",
    tags=["flows"],
    summary="Read a flow (its current version); ETag is the version",
    responses={**ok(200, FlowResource, "The flow"), **errors("FlowNotFound")},
)
def get_flow(flow_id: str) -> Response[FlowResource]:
    resource = flows().get(flow_id)
    return json_response(200, resource, {"ETag": etag(resource.version)})


@router.put(
    "/flows/<flow_id>",
    tags=["flows"],
    summary="Publish a new version of a flow",
    description="If-Match must carry the version being replaced (the ETag of GET), or * "
    "for whatever is current; without it the answer is 428. Running executions keep the "
    "version they started on. An identical definition answers 200 without a new version. "
    "Of concurrent updates of one version, one wins; the others get 412 VersionConflict "
    "once it is current (read the flow again). 409 FlowBusy only if the If-Match version "
    "is still current but another update of it has not finished within a few seconds "
    "(retry the same request).",
    responses={
        **ok(200, FlowResource, "The new (or unchanged) current version"),
        **errors(
            "FlowNotFound",
            "InvalidFlow",
            "VersionConflict",
            "PreconditionRequired",
            "FlowBusy",
            "BadRequest",
            *BODY_ERRORS,
        ),
    },
)
def update_flow(
    flow_id: str,
    body: Annotated[FlowBody, Body(openapi_examples=examples.FLOW_UPDATE)],
    if_match: IfMatch = None,
    strict: Strict = False,
) -> Response[FlowResource]:
    saved = flows().update(flow_id, router.current_event.json_body, if_match, strict=strict)
    return json_response(200, saved.flow, {"ETag": etag(saved.flow.version)})


@router.delete(
    "/flows/<flow_id>",
    tags=["flows"],
    summary="Delete a flow, its versions and its state machine",
    description="409 while executions run, unless ?force=true (which stops them).",
    responses={
        204: {"description": "Deleted (no body)", "content": {}},
        **errors("FlowNotFound", "FlowBusy", "InvalidParameter"),
    },
)
def delete_flow(
    flow_id: str,
    force: Annotated[bool, Query(description="Stop running executions, then delete.")] = False,
) -> Response[None]:
    flows().delete(flow_id, force)
    return Response(status_code=204)


@router.get(
    "/flows/<flow_id>/definition",
    tags=["flows"],
    summary="The compiled state machine (ASL) of the current version, with console link",
    responses={**ok(200, FlowDefinition, "The definition"), **errors("FlowNotFound")},
)
def flow_definition(flow_id: str) -> Response[FlowDefinition]:
    return json_response(200, flows().definition(flow_id))
