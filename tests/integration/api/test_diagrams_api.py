"""GET /flows/{id}/diagram and GET /executions/{id}/diagram over ApiFunction (moto):
both media types, the execution's path marked from what Step Functions recorded, 404s."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flow_manager.diagram import execution_diagram, flow_diagram
from flow_manager.model import FlowDocument
from flow_manager.reports import ExecutionReport
from tests.integration.api.conftest import ROOT, Api
from tests.support.mermaid import classes, taken

ROUTING = json.loads((ROOT / "events" / "flows" / "failure_routing.json").read_text())


def create_routing(api: Api) -> None:
    assert api.request("POST", "/flows", ROUTING).status == 201


def run_routing(api: Api) -> dict[str, Any]:
    create_routing(api)
    started = api.request("POST", "/flows/failure_routing/executions", {"context": {}})
    assert started.status == 202, started.text
    return api.wait(started.body["execution_id"])


def test_a_flow_diagram_is_mermaid_text_by_default(api: Api) -> None:
    # Given a stored flow
    create_routing(api)
    # When its diagram is read accepting anything (as curl does)
    answer = api.request("GET", "/flows/failure_routing/diagram", headers={"Accept": "*/*"})
    # Then it is the generator's flowchart as text/vnd.mermaid
    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].startswith("text/vnd.mermaid")
    assert answer.text == flow_diagram(FlowDocument.model_validate(ROUTING).flow)


def test_a_flow_diagram_is_json_when_accept_prefers_it(api: Api) -> None:
    create_routing(api)
    answer = api.request(
        "GET",
        "/flows/failure_routing/diagram",
        headers={"Accept": "text/vnd.mermaid;q=0.5, application/json"},
    )
    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.body == {"mermaid": flow_diagram(FlowDocument.model_validate(ROUTING).flow)}


def test_a_diagram_nobody_accepts_is_406(api: Api) -> None:
    create_routing(api)
    answer = api.request("GET", "/flows/failure_routing/diagram", headers={"Accept": "image/png"})
    assert answer.status == 406, answer.text
    assert answer.error_code == "NotAcceptable"


def test_the_diagram_of_an_unknown_flow_is_404(api: Api) -> None:
    answer = api.request("GET", "/flows/nope/diagram")
    assert answer.status == 404
    assert answer.error_code == "FlowNotFound"


def test_the_diagram_of_an_unknown_execution_is_404(api: Api) -> None:
    answer = api.request("GET", "/executions/nope/diagram", headers={"Accept": "application/json"})
    assert answer.status == 404
    assert answer.error_code == "ExecutionNotFound"


def test_an_execution_diagram_marks_the_path_the_run_took(api: Api) -> None:
    # Given a finished run of failure_routing: fetch fails, recover runs, the flow completes
    report = run_routing(api)
    assert report["status"] == "completed", report
    # When its diagram is read
    answer = api.request(
        "GET", f"/executions/{report['execution_id']}/diagram", headers={"Accept": "*/*"}
    )
    # Then it is the generator's picture of that report: fetch failed, recover done,
    # process untouched, and the start → fetch → recover → end edges taken
    assert answer.status == 200, answer.text
    flow = FlowDocument.model_validate(ROUTING).flow
    assert answer.text == execution_diagram(flow, ExecutionReport.model_validate(report))
    marked = classes(answer.text)
    assert (marked["t0"], marked["t2"], marked["f_end_node"]) == ("failed", "done", "done")
    assert "t1" not in marked
    assert taken(answer.text) == [("f_start_node", "t0"), ("t0", "t2"), ("t2", "f_end_node")]


def test_an_execution_diagram_is_json_when_accept_prefers_it(api: Api) -> None:
    report = run_routing(api)
    answer = api.request(
        "GET",
        f"/executions/{report['execution_id']}/diagram",
        headers={"Accept": "application/json"},
    )
    assert answer.status == 200, answer.text
    assert answer.headers.get("vary") == "Accept"
    assert answer.body["mermaid"].startswith("flowchart TD\n")
    assert "classDef failed" in answer.body["mermaid"]


def test_the_openapi_documents_both_media_types(api: Api) -> None:
    document = api.request("GET", "/docs?format=json").body
    for path in ("/flows/{flow_id}/diagram", "/executions/{execution_id}/diagram"):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert {"text/vnd.mermaid", "application/json"} <= set(content), content
    tags = {t["name"]: t.get("description") for t in document.get("tags", [])}
    assert tags.get("diagrams")


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("text/plain", "text/plain"),
        ("text/*", "text/vnd.mermaid"),
        ("application/json;q=0, */*", "text/vnd.mermaid"),
        ("text/vnd.mermaid;q=0.2, application/*;q=0.9", "application/json"),
        ("image/png, text/plain;q=0.1", "text/plain"),
    ],
)
def test_the_diagram_media_type_follows_the_accept_header(
    api: Api, accept: str, media_type: str
) -> None:
    create_routing(api)
    answer = api.request("GET", "/flows/failure_routing/diagram", headers={"Accept": accept})
    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].split(";")[0] == media_type
