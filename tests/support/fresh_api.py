"""A fresh Python process with ApiFunction's code on its path and the environment the
template gives it (a cold Lambda execution environment), for the tests of what a cold
start imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "functions" / "api"
SHARED = ROOT / "functions" / "shared"


# Source for a child: Lambda's context object and the REST proxy event API Gateway sends
# ApiFunction (`event(method, path, body=None)`).
LAMBDA_EVENTS = r"""
class Context:
    function_name = "ApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    aws_request_id = "fresh-api"
    def get_remaining_time_in_millis(self):
        return 29000

def event(method, path, body=None):
    headers = {} if body is None else {"content-type": "application/json"}
    return {"resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": None,
            "stageVariables": None, "body": body, "isBase64Encoded": False,
            "requestContext": {"stage": "v1", "path": "/v1" + path, "httpMethod": method,
                               "requestId": "fresh-api", "resourcePath": "/{proxy+}"}}
"""


def run_fresh(child: str, *args: str) -> Any:
    """Runs the Python source `child` with `args`; returns what its last line prints,
    read as JSON."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(API), str(SHARED)]),
        "FLOWS_TABLE": "FlowsTable",
        "STATE_MACHINE_ROLE_ARN": "arn:aws:iam::123456789012:role/flow-manager",
        "TASK_CATALOG": "{}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    }
    finished = subprocess.run(
        [sys.executable, "-c", child, *args],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(finished.stdout.strip().splitlines()[-1])
