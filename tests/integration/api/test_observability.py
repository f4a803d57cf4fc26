"""Metrics, correlated logs, and a cold start that loads only what a request needs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.api.conftest import API_APP, ROOT, Api, proxy_event
from tests.integration.api.samples import chain


def emitted(output: str) -> list[dict[str, Any]]:
    """The JSON lines Powertools wrote to stdout (EMF metrics and log records)."""
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def metric_names(output: str) -> list[str]:
    return [
        metric["Name"]
        for line in emitted(output)
        for group in line.get("_aws", {}).get("CloudWatchMetrics", [])
        for metric in group["Metrics"]
    ]


def test_creating_a_flow_publishes_one_flow_created_metric(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.request("POST", "/flows", {"flow": chain()})
    api.request("POST", "/flows", {"flow": chain()})  # the same again: nothing new
    assert metric_names(capsys.readouterr().out) == ["FlowCreated"]


def test_starting_an_execution_publishes_an_execution_started_metric(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.create(chain())
    capsys.readouterr()
    started = api.request("POST", "/flows/data_pipeline/executions", {"context": {}})
    assert metric_names(capsys.readouterr().out) == ["ExecutionStarted"]
    api.wait(started.body["execution_id"])


def test_a_failed_request_is_logged_with_the_api_gateway_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a request that meets a bug, and the function's log stream
    def broken(*_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(api.module.flows().store, "get_head", broken)
    stream = io.StringIO()
    monkeypatch.setattr(api.module.logger.registered_handler, "stream", stream)
    event = proxy_event("GET", "/flows/data_pipeline")
    # When it is answered
    api.invoke(event)
    # Then the error is logged once, under API Gateway's request id
    records = [line for line in emitted(stream.getvalue()) if line.get("level") == "ERROR"]
    assert [r["correlation_id"] for r in records] == [event["requestContext"]["requestId"]]


CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
event = json.loads(sys.argv[2])

class Context:
    function_name = "ApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    aws_request_id = "cold"

    def get_remaining_time_in_millis(self):
        return 29_000

answer = app.lambda_handler(event, Context())
loaded = [m for m in ("boto3", "botocore.client", "aws_xray_sdk") if m in sys.modules]
print(json.dumps({"status": answer["statusCode"], "loaded": loaded}))
"""


def test_a_cold_health_check_loads_neither_boto3_nor_the_xray_sdk() -> None:
    # Given a fresh process with tracing off, as the template deploys it by default
    environment = {
        **os.environ,
        "FLOWS_TABLE": "FlowsTable",
        "STATE_MACHINE_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
        "TASK_CATALOG": "{}",
        "POWERTOOLS_METRICS_NAMESPACE": "FlowManager",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONPATH": str(ROOT / "functions" / "shared"),
    }
    event = json.dumps(proxy_event("GET", "/health"))
    # When it imports ApiFunction and answers GET /health
    finished = subprocess.run(
        [sys.executable, "-c", CHILD, str(API_APP.parent), event],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    # Then it answered without loading either
    answer = json.loads(finished.stdout.strip().splitlines()[-1])
    assert answer == {"status": 200, "loaded": []}
