"""The routes of functions/api/app.py on FastAPI, for benchmarks/cold_start.py only.

Same paths, methods and request models, same flow_manager calls behind them, so the
difference in cold start is the framework's. Not part of the service (FastAPI is not
a dependency of the Lambda functions); run with `pip install fastapi` in the venv.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import Body, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue, SkipValidation

from flow_manager.errors import FlowManagerError
from flow_manager.executions import Executions
from flow_manager.flows import Flows
from flow_manager.model import Flow, FlowDocument
from flow_manager.reports import ExecutionStatus
from flow_manager.settings import load_settings

app = FastAPI(title="Flow Manager", version="1.0.0", docs_url="/docs")


@cache
def flows() -> Flows:
    return Flows.from_settings(load_settings())


@cache
def executions() -> Executions:
    return Executions(flows())


class FlowBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    flow: SkipValidation[Flow] | None = None
    flow_data: SkipValidation[FlowDocument] | None = None


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    context: dict[str, JsonValue] = Field(default_factory=dict)


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow_id: str | None = None
    flow: SkipValidation[Flow] | None = None
    flow_data: SkipValidation[FlowDocument] | None = None
    context: dict[str, JsonValue] = Field(default_factory=dict)


@app.exception_handler(FlowManagerError)
def domain_error(request: Request, exc: FlowManagerError) -> JSONResponse:
    body = {"error": {"code": exc.code, "message": exc.message, "details": []}}
    return JSONResponse(body, status_code=400)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "healthy", "service": "Flow Manager", "version": "1.0.0"}


@app.get("/tasks")
def tasks() -> dict[str, Any]:
    catalog = load_settings().task_catalog
    return {"tasks": [{"kind": k, "function_arn": v} for k, v in sorted(catalog.items())]}


@app.post("/flows", status_code=201)
async def create_flow(request: Request, body: FlowBody) -> dict[str, Any]:
    return flows().create(await request.json()).flow.model_dump(mode="json")


@app.post("/flows/validate")
async def validate_flow(request: Request, body: FlowBody) -> dict[str, Any]:
    return flows().check(await request.json()).model_dump(mode="json")


@app.get("/flows")
def list_flows(
    limit: Annotated[int, Query(ge=1, le=100)] = 25, next_token: str | None = None
) -> dict[str, Any]:
    return flows().list(limit, next_token).model_dump(mode="json")


@app.get("/flows/{flow_id}")
def get_flow(flow_id: str) -> dict[str, Any]:
    return flows().get(flow_id).model_dump(mode="json")


@app.put("/flows/{flow_id}")
async def update_flow(
    flow_id: str,
    request: Request,
    body: FlowBody,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    return flows().update(flow_id, await request.json(), if_match).flow.model_dump(mode="json")


@app.delete("/flows/{flow_id}", status_code=204)
def delete_flow(flow_id: str, force: bool = False) -> None:
    flows().delete(flow_id, force)


@app.get("/flows/{flow_id}/definition")
def flow_definition(flow_id: str) -> dict[str, Any]:
    return flows().definition(flow_id).model_dump(mode="json")


@app.post("/flows/{flow_id}/executions", status_code=202)
def start_execution(
    flow_id: str,
    body: Annotated[StartBody | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    context = body.context if body else {}
    return executions().start(flow_id, context, idempotency_key).execution.model_dump(mode="json")


@app.get("/flows/{flow_id}/executions")
def list_executions(
    flow_id: str,
    status: ExecutionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    next_token: str | None = None,
) -> dict[str, Any]:
    return executions().list(flow_id, status, limit, next_token).model_dump(mode="json")


@app.get("/executions/{execution_id}")
def get_execution(execution_id: str) -> dict[str, Any]:
    return executions().get(execution_id).model_dump(mode="json")


@app.delete("/executions/{execution_id}")
def stop_execution(execution_id: str) -> dict[str, Any]:
    return executions().stop(execution_id).model_dump(mode="json")


def _run(body: RunBody, key: str | None) -> dict[str, Any]:
    document = {"flow": body.flow} if body.flow is not None else None
    run = executions().run(body.flow_id, document, body.context, key, 20.0)
    return run.report.model_dump(mode="json")


@app.post("/flows/execute")
def compat_flows_execute(
    body: RunBody, idempotency_key: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    return _run(body, idempotency_key)


@app.post("/flow/execute")
def compat_flow_execute(
    body: RunBody, idempotency_key: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    return _run(body, idempotency_key)


@app.post("/run-flow")
def compat_run_flow(
    body: RunBody, idempotency_key: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    return _run(body, idempotency_key)


@app.post("/flow/create", status_code=201)
async def compat_flow_create(request: Request, body: FlowBody) -> dict[str, Any]:
    return await create_flow(request, body)


@app.get("/flow/{execution_id}/status")
def compat_flow_status(execution_id: str) -> dict[str, Any]:
    return get_execution(execution_id)


@app.delete("/flow/{execution_id}")
def compat_flow_delete(execution_id: str) -> dict[str, Any]:
    executions().forget(execution_id)
    return {"message": f"Execution {execution_id} deleted", "execution_id": execution_id}
