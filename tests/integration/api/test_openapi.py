"""The OpenAPI document (GET /docs?format=json) tells the truth about every route."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.api.conftest import Api

ERROR_REF = "#/components/schemas/ErrorBody"

# What each route can answer, as the other API tests show it doing.
EXPECTED: dict[tuple[str, str], set[int]] = {
    ("get", "/health"): {200},
    ("get", "/tasks"): {200},
    ("get", "/openapi.json"): {200},
    ("post", "/flows"): {200, 201, 400, 409, 413, 415, 422},
    ("post", "/flows/validate"): {200, 400, 413, 415, 422},
    ("get", "/flows"): {200, 400},
    ("get", "/flows/{flow_id}"): {200, 404},
    ("put", "/flows/{flow_id}"): {200, 400, 404, 409, 412, 413, 415, 422, 428},
    ("delete", "/flows/{flow_id}"): {204, 404, 409},
    ("get", "/flows/{flow_id}/definition"): {200, 404},
    ("post", "/flows/{flow_id}/executions"): {202, 400, 404, 413, 415, 422},
    ("get", "/flows/{flow_id}/executions"): {200, 400, 404},
    ("get", "/executions/{execution_id}"): {200, 404},
    ("delete", "/executions/{execution_id}"): {200, 404, 409},
    ("post", "/executions/{execution_id}/approvals/{task}"): {200, 400, 404, 409, 413, 415, 422},
    ("post", "/executions/{execution_id}/retry"): {202, 400, 404, 409, 413, 415, 422},
    ("post", "/flows/{flow_id}/schedules"): {201, 400, 404, 409, 413, 415, 422},
    ("get", "/flows/{flow_id}/schedules"): {200, 400, 404},
    ("get", "/flows/{flow_id}/schedules/{name}"): {200, 404},
    ("delete", "/flows/{flow_id}/schedules/{name}"): {204, 404},
    ("get", "/flows/{flow_id}/diagram"): {200, 404, 406},
    ("get", "/executions/{execution_id}/diagram"): {200, 404, 406},
    ("post", "/flows/execute"): {200, 202, 404, 422},
    ("post", "/flow/execute"): {200, 202, 404, 409, 422},
    ("post", "/run-flow"): {200, 202, 404, 422},
    ("post", "/flow/create"): {200, 409, 422},
    ("post", "/flow/run-sample"): {200, 202},
    ("get", "/flow/{execution_id}/status"): {200, 404},
    ("delete", "/flow/{execution_id}"): {200, 404},
}
COMPAT = {
    path for _, path in EXPECTED if path.startswith(("/flow/", "/run-flow", "/flows/execute"))
}


@pytest.fixture
def spec(api: Api) -> dict[str, Any]:
    answer = api.request("GET", "/docs?format=json")
    assert answer.status == 200
    document: dict[str, Any] = answer.body
    return document


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def test_every_route_is_documented_once(spec: dict[str, Any]) -> None:
    assert set(operations(spec)) == set(EXPECTED)


def test_every_route_documents_each_status_it_answers(spec: dict[str, Any]) -> None:
    missing = {
        key: sorted(statuses - {int(s) for s in operations(spec)[key]["responses"]})
        for key, statuses in EXPECTED.items()
    }
    assert {k: v for k, v in missing.items() if v} == {}


def test_every_error_status_is_documented_with_the_error_body(spec: dict[str, Any]) -> None:
    for key, operation in operations(spec).items():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (key, status)


def test_every_route_documents_throttling_and_faults(spec: dict[str, Any]) -> None:
    for operation in operations(spec).values():
        assert {"500", "503"} <= set(map(str, operation["responses"]))


def test_the_seeds_routes_are_tagged_compat(spec: dict[str, Any]) -> None:
    tagged = {path for (_, path), op in operations(spec).items() if "compat" in op.get("tags", [])}
    assert tagged == COMPAT


def test_the_flow_body_is_documented_with_the_flow_schema(spec: dict[str, Any]) -> None:
    documented = spec["components"]["schemas"]["FlowBody"]["properties"]["flow"]
    assert documented.get("title") == "Flow"
    assert {"start_task", "tasks", "conditions"} <= set(documented["properties"])
    assert {"Task", "Condition"} <= set(re.findall(r"schemas/(\w+)", str(documented)))


def test_the_flow_body_is_documented_as_exactly_one_wrapper(spec: dict[str, Any]) -> None:
    # The server takes {"flow": {...}} or {"flow_data": {"flow": {...}}}, nothing else
    body = spec["components"]["schemas"]["FlowBody"]
    assert body["additionalProperties"] is False
    assert body["oneOf"] == [{"required": ["flow"]}, {"required": ["flow_data"]}]
    assert "null" not in str(body["properties"]["flow_data"])


def test_delete_flow_documents_its_204_without_a_body(spec: dict[str, Any]) -> None:
    response = operations(spec)[("delete", "/flows/{flow_id}")]["responses"]["204"]
    assert not response.get("content")


def test_update_documents_if_match_and_what_its_absence_answers(spec: dict[str, Any]) -> None:
    operation = operations(spec)[("put", "/flows/{flow_id}")]
    header = next(p for p in operation["parameters"] if p["name"].lower() == "if-match")
    # Optional in validation (so the server's own 428 answers), required in words
    assert header["in"] == "header"
    assert "428" in header["description"]
    assert "PreconditionRequired" in operation["responses"]["428"]["description"]
    assert "VersionConflict" in operation["responses"]["412"]["description"]
    assert "FlowBusy" in operation["responses"]["409"]["description"]
    assert "412" in operation["description"]
    assert "409" in operation["description"]


def test_the_start_body_documents_the_context_limit(spec: dict[str, Any]) -> None:
    context = spec["components"]["schemas"]["StartBody"]["properties"]["context"]
    assert context["type"] == "object"
    assert "256 KiB" in context["description"]


def test_swagger_ui_is_served_at_docs(api: Api) -> None:
    answer = api.request("GET", "/docs")
    assert answer.status == 200
    assert "swagger-ui" in answer.text.lower()


def test_the_document_is_served_at_openapi_json(api: Api, spec: dict[str, Any]) -> None:
    answer = api.request("GET", "/openapi.json")
    assert answer.status == 200
    assert answer.body["paths"].keys() == spec["paths"].keys()


def test_every_tag_has_a_description(spec: dict[str, Any]) -> None:
    used = {tag for op in operations(spec).values() for tag in op.get("tags", [])}
    described = {t["name"]: t.get("description") for t in spec["tags"]}
    assert used <= set(described)
    assert all(described[tag] for tag in used)


def test_the_compat_routes_are_described_by_what_they_serve_not_by_seed(
    spec: dict[str, Any],
) -> None:
    for (_, path), operation in operations(spec).items():
        if path in COMPAT:
            text = f"{operation.get('summary', '')} {operation.get('description', '')}"
            assert "seed" not in text.lower(), path


def body_examples(spec: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    found = []
    for (method, path), operation in operations(spec).items():
        content = operation.get("requestBody", {}).get("content", {})
        for media in content.values():
            for name, example in (media.get("examples") or {}).items():
                found.append((method, path, name, example["value"]))
    return found


def test_every_route_with_a_body_has_an_example(spec: dict[str, Any]) -> None:
    with_body = {key for key, op in operations(spec).items() if "requestBody" in op}
    assert with_body
    assert {(m, p) for m, p, _, _ in body_examples(spec)} == with_body


def test_every_body_example_works_as_try_it_out_sends_it(api: Api, spec: dict[str, Any]) -> None:
    # Given the flow the examples name (PUT needs it)
    api.request("POST", "/flows", {"flow": {**_flow_of(spec), "id": "data_pipeline"}})
    for method, template, name, value in body_examples(spec):
        if "<" in str(value):  # a placeholder the reader fills in (an id from elsewhere)
            continue
        if "{execution_id}" in template:  # needs a waiting execution: its own tests
            continue
        path = template.replace("{flow_id}", "data_pipeline")
        headers = {"If-Match": "*"} if method == "put" else None
        # When Swagger UI's "Try it out" sends the example
        answer = api.request(method.upper(), path, value, headers=headers)
        # Then it works
        assert answer.status < 300, (method, path, name, answer.text[:300])


def _flow_of(spec: dict[str, Any]) -> dict[str, Any]:
    post = spec["paths"]["/flows"]["post"]["requestBody"]["content"]["application/json"]
    flow: dict[str, Any] = post["examples"]["flow"]["value"]["flow"]
    return flow
