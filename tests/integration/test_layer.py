"""ApiFunction runs with only what the Lambda layer ships (functions/shared/requirements.txt)
plus what the Lambda runtime provides (boto3): the dev virtualenv installs more (moto
brings the X-Ray SDK), which would hide a dependency the layer lacks.

The layer's requirements are installed with pip into a directory cached by pytest
(keyed by the requirements' text), and the handler runs in a subprocess whose
`sys.path` is that directory, the runtime's boto3, the layer's code and the function's.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "functions" / "shared" / "requirements.txt"
HEALTH_EVENT = ROOT / "events" / "api" / "health.json"
PIP_TIMEOUT_SECONDS = 600


def _boto3_requirement() -> str:
    """The boto3 the project pins: what the Lambda runtime stands for here."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return str(next(d for d in dependencies if d.lower().startswith("boto3==")))


def _pip_install(target: Path, *requirements: str) -> None:
    """`pip install --target`; skip (not fail) when the package index cannot be reached."""
    if (target / ".complete").is_file():
        return
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
        str(target),
        *requirements,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        output = done.stdout + done.stderr
        unreachable = ("Could not find a version", "NewConnectionError", "Max retries exceeded")
        if any(marker in output for marker in unreachable):
            pytest.skip(f"pip cannot reach the package index: {output.strip()[-300:]}")
        raise AssertionError(f"pip install {' '.join(requirements)} failed:\n{output}")
    (target / ".complete").touch()


@pytest.fixture(scope="session")
def layer_path(request: pytest.FixtureRequest) -> list[Path]:
    """sys.path entries: the layer's dependencies, then the runtime's boto3."""
    text = REQUIREMENTS.read_text()
    key = hashlib.sha256((text + _boto3_requirement()).encode()).hexdigest()[:16]
    base = Path(request.config.cache.mkdir(f"layer-{key}"))
    layer, runtime = base / "layer", base / "runtime"
    _pip_install(layer, "-r", str(REQUIREMENTS))
    _pip_install(runtime, _boto3_requirement())
    return [layer, runtime]


SCRIPT = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import app

class Context:
    function_name = "ApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    aws_request_id = "req-layer"
    def get_remaining_time_in_millis(self):
        return 29000

event = json.loads(open(sys.argv[2]).read())
answer = app.lambda_handler(event, Context())
print(json.dumps({"status": answer["statusCode"], "body": answer["body"]}))
"""


def test_api_function_answers_health_with_tracing_on_using_only_the_layer(
    layer_path: list[Path], tmp_path: Path
) -> None:
    # Given ApiFunction's environment with Tracing=Active (POWERTOOLS_TRACE_DISABLED=false)
    # and a Python that sees only the layer, the runtime's boto3 and the function's code
    path = [*layer_path, ROOT / "functions" / "shared", ROOT / "functions" / "api"]
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "ApiFunction",
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "api"),
        # Lambda's trace header: the X-Ray SDK's segment for this invocation.
        "_X_AMZN_TRACE_ID": (
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        ),
        # Segments go by UDP to a daemon; none listens on this port.
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "POWERTOOLS_SERVICE_NAME": "flow-manager",
        "POWERTOOLS_METRICS_NAMESPACE": "FlowManager",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "FLOWS_TABLE": "flows",
        "STATE_MACHINE_ROLE_ARN": "arn:aws:iam::123456789012:role/flow-role",
        "STATE_MACHINE_PREFIX": "flow-manager_",
        "TASK_CATALOG": json.dumps(
            {"fetch_data": "arn:aws:lambda:us-east-1:123456789012:function:fetch"}
        ),
    }
    # When it handles the sample GET /health event (-I -S: no site-packages at all)
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            SCRIPT,
            json.dumps([str(p) for p in path]),
            str(HEALTH_EVENT),
        ],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it answers 200 healthy
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200, answer
    assert json.loads(answer["body"])["status"] == "healthy"
