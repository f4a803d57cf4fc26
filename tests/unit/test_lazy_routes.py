"""ApiFunction registers a router on the first request that may reach it (a cold start
imports only what the request needs), and its OpenAPI document and routing do not
depend on which requests came first."""

from __future__ import annotations

import importlib
import json
import sys

from tests.support.fresh_api import API, LAMBDA_EVENTS, run_fresh

# A fresh process, as a new Lambda execution environment: answers the requests of
# argv[1] ("METHOD /path" each) and prints each answer's status and body, then which
# router and domain modules it imported.
CHILD = (
    r"""
import json, sys
import app
"""
    + LAMBDA_EVENTS
    + r"""
answers = []
for request in json.loads(sys.argv[1]):
    method, path = request.split(" ")
    answer = app.lambda_handler(event(method, path), Context())
    answers.append([int(answer["statusCode"]), answer["body"]])
modules = sorted(m for m in sys.modules if m.startswith(("routes.", "flow_manager.")))
print(json.dumps({"answers": answers, "modules": modules}))
"""
)


def _cold(*requests: str) -> dict[str, list]:  # type: ignore[type-arg]
    result: dict[str, list] = run_fresh(CHILD, json.dumps(list(requests)))  # type: ignore[type-arg]
    return result


def test_router_paths_list_every_path_of_each_router_and_nothing_else() -> None:
    # Given the routers of functions/api/routes
    sys.path[:0] = [str(API)]
    try:
        import app

        for name, paths in app.ROUTER_PATHS.items():
            router = importlib.import_module(f"routes.{name}").router
            # Then the table app.py reads names exactly the paths each router serves
            assert sorted(paths) == sorted({key[0] for key in router._routes}), name
    finally:
        sys.path.remove(str(API))


def test_a_cold_health_imports_no_other_router_and_no_domain_service() -> None:
    # When a fresh ApiFunction answers GET /health
    cold = _cold("GET /health")
    # Then it answered, having imported the service router alone, no flow or execution
    assert cold["answers"][0][0] == 200
    routers = {m for m in cold["modules"] if m.startswith("routes.")}
    assert routers <= {"routes.service", "routes.responses", "routes.services"}
    assert "flow_manager.flows" not in cold["modules"]
    assert "flow_manager.executions" not in cold["modules"]


def test_the_document_is_the_same_whatever_was_asked_before_it() -> None:
    # Given one fresh ApiFunction asked for its document first, and another asked first
    # routes of several routers, out of their order (each registers its router then)
    first = _cold("GET /openapi.json", "GET /docs")
    later = _cold(
        "GET /executions/e1/diagram",
        "POST /docs",
        "GET /run-flow",
        "POST /flows/f1/schedules",
        "GET /openapi.json",
        "GET /docs",
    )
    # Then both documents and Swagger pages are the same, byte for byte
    assert first["answers"][0] == later["answers"][4]
    assert first["answers"][1] == later["answers"][5]
    assert json.loads(first["answers"][0][1])["paths"]


def test_a_cold_wrong_method_is_answered_405_with_the_methods_the_path_has() -> None:
    # When a fresh ApiFunction is sent a method its path does not have, /docs included
    cold = _cold("DELETE /flows/validate", "POST /docs")
    # Then each is a 405 naming the methods (the routers were registered to know them)
    for status, body in cold["answers"]:
        assert status == 405
        assert json.loads(body)["error"]["code"] == "MethodNotAllowed"
    assert json.loads(cold["answers"][0][1])["error"]["details"] == [{"allowed": ["POST"]}]
    assert json.loads(cold["answers"][1][1])["error"]["details"] == [{"allowed": ["GET"]}]
