"""Service routes: liveness and the task catalog."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from flow_manager import __version__
from flow_manager.catalog import user_kinds
from flow_manager.settings import load_settings
from routes.responses import errors, json_response, ok

SERVICE = "Flow Manager"
API_VERSION = __version__  # the package's version (pyproject.toml)

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class Health(BaseModel):
    status: str
    service: str
    version: str


class TaskKind(BaseModel):
    kind: str
    function_arn: str


class TaskCatalog(BaseModel):
    tasks: list[TaskKind]


@router.get(
    "/health",
    tags=["service"],
    summary="Liveness",
    responses={**ok(200, Health, "Up"), **errors()},
)
def health() -> Response[Health]:
    return json_response(200, Health(status="healthy", service=SERVICE, version=API_VERSION))


@router.get(
    "/tasks",
    tags=["service"],
    summary="The task catalog: kinds a flow's task may use (task.function, or its name)",
    responses={**ok(200, TaskCatalog, "The catalog"), **errors()},
)
def task_catalog() -> Response[TaskCatalog]:
    catalog = user_kinds(load_settings().task_catalog)  # internal kinds are not for flows
    kinds = [TaskKind(kind=k, function_arn=v) for k, v in sorted(catalog.items())]
    return json_response(200, TaskCatalog(tasks=kinds))
