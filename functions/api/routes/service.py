"""Service routes: liveness and the task catalog."""

from __future__ import annotations

from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from flow_manager import __version__
from flow_manager.catalog import ALIASES, user_kinds
from flow_manager.settings import load_settings
from routes.responses import errors, json_response, ok

SERVICE = "Flow Manager"
API_VERSION = __version__  # the package's version (pyproject.toml)

DESCRIPTION = (
    "JSON flows compiled to AWS Step Functions. Errors always have the body "
    '{"error": {"code", "message", "details"}}.'
)
TAGS: dict[str, str] = {
    "service": "Liveness, the task catalog and this document.",
    "flows": "Create, validate, read, version and delete flows; each is a state machine.",
    "executions": "Start executions of a flow's current version, list, read and stop them.",
    "approvals": "Decide a task that waits for a person's approval (approve or reject).",
    "diagrams": "Mermaid flowcharts of flows and of the path an execution took "
    "(text/vnd.mermaid, or JSON with Accept: application/json).",
    "schedules": "EventBridge Scheduler schedules that start a flow's current version "
    "with a context: rate(), cron() or at() expressions in a time zone.",
    "compat": "Routes other Flow Manager clients already call, answered in the shape each "
    "client reads: run a flow by id or inline and wait for it; create a flow and prepare "
    "an execution to start later; read and delete an execution; run the sample flow.",
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class Health(BaseModel):
    status: str
    service: str
    version: str


class TaskKind(BaseModel):
    kind: str
    description: str | None = None
    function_arn: str
    aliases: list[str] = Field(
        default_factory=list, description="Other names a task may use for this kind."
    )
    parameters: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the kind's `parameters` (sample kinds)."
    )


class TaskCatalog(BaseModel):
    tasks: list[TaskKind] = Field(description="Each kind once, with its aliases.")
    aliases: dict[str, str] = Field(
        default_factory=dict, description="Alias → the kind it names (task1 → fetch_data)."
    )


@router.get(
    "/health",
    tags=["service"],
    summary="Liveness",
    responses={**ok(200, Health, "Up"), **errors()},
)
def health() -> Response[Health]:
    return json_response(200, Health(status="healthy", service=SERVICE, version=API_VERSION))


def openapi_settings() -> dict[str, Any]:
    """What the OpenAPI document says about the API as a whole (also /docs). Tags are
    names here: the resolver adds their descriptions from TAGS when it builds the
    document, so a cold start does not import the OpenAPI models for them."""
    return {
        "title": SERVICE,
        "version": API_VERSION,
        "description": DESCRIPTION,
        "tags": list(TAGS),
    }


@router.get(
    "/openapi.json",
    tags=["service"],
    summary="This API's OpenAPI document (as /docs?format=json)",
    responses={
        200: {
            "description": "The OpenAPI 3 document",
            # The body is the document's JSON text: say it is an object, not a string.
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **errors(),
    },
)
def openapi_document() -> Response[str]:
    resolver = cast("APIGatewayRestResolver", router.api_resolver)
    return Response(
        status_code=200,
        content_type="application/json",
        body=resolver.get_openapi_json_schema(**openapi_settings()),
    )


@router.get(
    "/tasks",
    tags=["service"],
    summary="The task catalog: kinds a flow's task may use (task.function, or its name)",
    description="Each kind once, with its description, its aliases and the JSON Schema "
    "of its parameters; `aliases` maps every alias to its kind.",
    responses={**ok(200, TaskCatalog, "The catalog"), **errors()},
)
def task_catalog() -> Response[TaskCatalog]:
    from flow_manager.task_kinds import SAMPLE_KIND_INFO, parameters_schema

    catalog = user_kinds(load_settings().task_catalog)  # internal kinds are not for flows
    # An alias is a known alias (catalog.ALIASES) whose ARN is its kind's ARN.
    aliases = {
        name: kind
        for name, kind in ALIASES.items()
        if name in catalog and catalog.get(kind) == catalog[name]
    }
    kinds = [
        TaskKind(
            kind=name,
            description=SAMPLE_KIND_INFO[name].description if name in SAMPLE_KIND_INFO else None,
            function_arn=arn,
            aliases=sorted(a for a, k in aliases.items() if k == name),
            parameters=parameters_schema(name),
        )
        for name, arn in sorted(catalog.items())
        if name not in aliases
    ]
    return json_response(200, TaskCatalog(tasks=kinds, aliases=dict(sorted(aliases.items()))))
