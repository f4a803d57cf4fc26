"""The service routes: liveness, the task catalog, the OpenAPI document and Swagger UI."""

from __future__ import annotations

from flow_manager_local.client import ApiClient
from tests.e2e.support import json_body

DESIGN_ROUTES = {
    "/health": {"get"},
    "/tasks": {"get"},
    "/flows": {"get", "post"},
    "/flows/validate": {"post"},
    "/flows/{flow_id}": {"get", "put", "delete"},
    "/flows/{flow_id}/definition": {"get"},
    "/flows/{flow_id}/executions": {"get", "post"},
    "/executions/{execution_id}": {"get", "delete"},
    "/flows/execute": {"post"},
    "/flow/execute": {"post"},
    "/run-flow": {"post"},
    "/flow/create": {"post"},
    "/flow/{execution_id}/status": {"get"},
    "/flow/{execution_id}": {"delete"},
}


def test_health_answers_healthy(api: ApiClient) -> None:
    # Given the stack is up / When GET /health
    response = api.get("/health")
    # Then it is healthy, as seed 000's health check reads it
    assert response.status == 200
    assert json_body(response)["status"] == "healthy"


def test_task_catalog_lists_the_sample_kinds_and_the_seeds_aliases(api: ApiClient) -> None:
    # Given the template's catalog / When GET /tasks
    catalog = json_body(api.get("/tasks"))
    # Then every sample kind is there with a function ARN, and every seed alias names one
    kinds = {t["kind"]: t["function_arn"] for t in catalog["tasks"]}
    assert {"fetch_data", "process_data", "store_data", "print"} <= set(kinds)
    assert all(arn.startswith("arn:aws:lambda:") for arn in kinds.values())
    assert catalog["aliases"] == {
        "extract": "fetch_data",
        "load": "store_data",
        "task1": "fetch_data",
        "task2": "process_data",
        "task3": "store_data",
        "transform": "process_data",
    }


def test_openapi_document_names_every_route_of_the_design(api: ApiClient) -> None:
    # Given the API / When its OpenAPI document is read
    document = json_body(api.get("/docs", query={"format": "json"}))
    # Then every route of DESIGN §7 and every seed alias is documented with its methods
    paths = {path: set(methods) for path, methods in document["paths"].items()}
    missing = {
        path: methods - paths.get(path, set())
        for path, methods in DESIGN_ROUTES.items()
        if methods - paths.get(path, set())
    }
    assert missing == {}


def test_swagger_ui_is_served_with_its_assets_inline(api: ApiClient) -> None:
    # Given no network beyond the API / When GET /docs
    response = api.request("GET", "/docs", headers={"Accept": "text/html"})
    # Then the page holds Swagger UI itself and points at this API's document
    assert response.status == 200
    assert "SwaggerUIBundle" in response.text
    assert "unpkg.com" not in response.text
    assert "cdn.jsdelivr" not in response.text


def test_unknown_route_answers_404_in_the_error_shape(api: ApiClient) -> None:
    # Given a path no route serves / When it is requested
    response = api.get("/no/such/route")
    # Then the answer is a 404 with the project's error body
    assert response.status == 404
    assert set(response.error) >= {"code", "message"}
