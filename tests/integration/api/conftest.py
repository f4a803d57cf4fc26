"""ApiFunction under moto: FlowsTable and DataTable from template.yaml, Step Functions
executing the compiled flows, and every task invoke answered by the real task handler
(functions/tasks/<kind>/app.py) or by a scripted one a test registers.

`api.request(...)` sends an API Gateway REST proxy event (v1) through `lambda_handler`
exactly as API Gateway would, and returns the status, headers and parsed body.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast
from unittest import mock
from urllib.parse import urlsplit

import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

from flow_manager import aws
from flow_manager.catalog import SAMPLE_KINDS, sample_catalog
from flow_manager_local import moto_dynamodb, moto_history, moto_stop, moto_versions
from flow_manager_local.moto_lambda import MOTO_CONFIG, install, scaled_retry_waits
from tests.support.sfn import (
    FAKE_ENV,
    REGION,
    RETRY_WAIT_FACTOR,
    ROLE_ARN,
    LambdaContext,
    SfnHarness,
    lambda_arn,
)
from tests.support.template import create_buckets, create_tables, load_template

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

ROOT = Path(__file__).resolve().parents[3]
API_APP = ROOT / "functions" / "api" / "app.py"
TASKS_DIR = ROOT / "functions" / "tasks"
STACK = "flow-manager"
PREFIX = f"{STACK}-"  # functions: the local stack's <stack>-<name>
STATE_MACHINE_PREFIX = f"{STACK}_"  # flows' state machines: <stack>_<flow id>
SCHEDULE_GROUP = STACK  # the template's FlowScheduleGroup is named after the stack
SCHEDULER_ROLE_ARN = f"arn:aws:iam::123456789012:role/{STACK}-FlowSchedulerRole"
DEADLINE_SECONDS = 60.0  # generous: a slow machine must pass, a hang must not


def load_module(path: Path, name: str) -> ModuleType:
    """Import a file under a unique name: every Lambda's module is called app.py."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the module's annotations through it
    spec.loader.exec_module(module)
    return module


def function_name(kind: str) -> str:
    return f"{PREFIX}{kind}"


def proxy_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    raw_body: str | None = None,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (v1), as `sam local generate-event` makes them."""
    split = urlsplit(path)
    query: dict[str, list[str]] = {}
    for pair in filter(None, split.query.split("&")):
        key, _, value = pair.partition("=")
        query.setdefault(key, []).append(value)
    all_headers = {"Accept": "application/json", "Host": "api.example.com"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    return {
        "resource": "/{proxy+}",
        "path": split.path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": split.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/v1{split.path}",
            "stage": "v1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "123456789012",
            "apiId": "1234567890",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        },
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str
    body: Any = field(default=None)

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code = self.body["error"].get("code")
            return code if isinstance(code, str) else None
        return None


def lambda_context() -> LambdaContext:
    return LambdaContext(
        function_name="ApiFunction",
        aws_request_id="req-1",
        invoked_function_arn=lambda_arn("ApiFunction"),
    )


class Gate(threading.Event):
    """Set: held invocations go on. `entered`: one has begun (its Lambda is running)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()


class Api:
    def __init__(
        self, module: ModuleType, harness: SfnHarness, tasks: Mapping[str, ModuleType]
    ) -> None:
        self.module = module
        self.harness = harness
        self.tasks = tasks
        self._gates: list[threading.Event] = []

    def hold(self, kind: str) -> Gate:
        """Make task `kind` wait until the returned gate is set (an execution that
        stays running while the test acts on it); then it runs its real handler. The
        gate's `entered` is set once a held invocation has begun."""
        gate = Gate()
        self._gates.append(gate)
        handler = self.tasks[kind].lambda_handler

        def held(event: dict[str, Any], context: LambdaContext) -> Any:
            gate.entered.set()
            gate.wait(DEADLINE_SECONDS)
            return handler(event, context)

        self.harness.register(function_name(kind), held)
        return gate

    def release_all(self) -> None:
        for gate in self._gates:
            gate.set()

    def wait_for_task(self, execution_id: str, task: str) -> dict[str, Any]:
        """The execution's report once `task` is its current task."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            report: dict[str, Any] = self.request("GET", f"/executions/{execution_id}").body
            if report.get("current_task") == task:
                return report
            if time.monotonic() > deadline:
                raise AssertionError(f"{task} never became current: {report}")
            time.sleep(0.02)

    def invoke(self, event: Mapping[str, Any]) -> Answer:
        raw = self.module.lambda_handler(dict(event), lambda_context())
        text = raw.get("body") or ""
        if raw.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
        for name, values in (raw.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = ", ".join(values)
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return Answer(raw["statusCode"], headers, text, parsed)

    def request(self, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        return self.invoke(proxy_event(method, path, body, **options))

    def create(self, flow: Mapping[str, Any]) -> Answer:
        answer = self.request("POST", "/flows", {"flow": dict(flow)})
        assert answer.status in (200, 201), answer.text
        return answer

    def wait(self, execution_id: str) -> dict[str, Any]:
        """The execution's report once it has ended."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            answer = self.request("GET", f"/executions/{execution_id}")
            assert answer.status == 200, answer.text
            if answer.body["status"] != "running":
                self.harness.wait_idle()
                report: dict[str, Any] = answer.body
                return report
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {execution_id} still running")
            time.sleep(0.02)


# Powertools reads these when the module is imported, as in Lambda (where they are set first).
POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "flow-manager",
    "POWERTOOLS_METRICS_NAMESPACE": "FlowManager",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="session")
def api_module() -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in POWERTOOLS_ENVIRONMENT.items():
            patch.setenv(name, value)
        # As in Lambda, the function's directory is on sys.path (app.py imports routes/).
        patch.syspath_prepend(str(API_APP.parent))
        yield load_module(API_APP, "flow_manager_api_app")


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()  # parsing the YAML costs more than a test: once


def _lambda_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's interpreter makes a boto3 client for every Lambda invoke (~0.1 s each,
    most of a test's time): reuse one per region."""
    return aws.client(service, region)


@contextmanager
def moto_with_handlers() -> Iterator[SfnHarness]:
    """tests/support/sfn.py's moto_sfn, with the process's cached clients (a new boto3
    client per test costs more than most tests)."""
    with (
        mock.patch.dict(os.environ, FAKE_ENV),
        mock_aws(config=cast("DefaultConfig", MOTO_CONFIG)),  # a plain dict upstream
        scaled_retry_waits(RETRY_WAIT_FACTOR),
        mock.patch.object(lambda_eval_utils, "boto_client_for", _lambda_client_for),
    ):
        harness = SfnHarness(aws.client("stepfunctions", REGION))
        uninstall = install(harness.dispatch)
        unstop = moto_stop.install()  # teardown stops executions a test just started
        try:
            yield harness
        finally:
            try:
                harness.stop_running()  # none may invoke through the next test's dispatcher
                harness.wait_idle()  # a held or timed-out handler must return inside the mock
            finally:
                unstop()
                uninstall()


@pytest.fixture(scope="session")
def task_modules() -> dict[str, ModuleType]:
    return {
        kind: load_module(TASKS_DIR / kind / "app.py", f"flow_manager_task_{kind}")
        for kind in SAMPLE_KINDS
    }


@pytest.fixture
def api(
    api_module: ModuleType,
    task_modules: dict[str, ModuleType],
    template: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Api]:
    """ApiFunction with its environment from the template's contract, in moto."""
    with moto_with_handlers() as sfn:
        yield from _api(sfn, api_module, task_modules, template, monkeypatch)


def _api(
    sfn: SfnHarness,
    api_module: ModuleType,
    task_modules: dict[str, ModuleType],
    template: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Api]:
    tables = create_tables(aws.client("dynamodb", REGION), template)
    buckets = create_buckets(aws.client("s3", REGION), REGION)
    catalog = sample_catalog(lambda kind: lambda_arn(function_name(kind)))
    environment = {
        "FLOWS_TABLE": tables["FlowsTable"],
        "DATA_TABLE": tables["DataTable"],
        "STATE_MACHINE_ROLE_ARN": ROLE_ARN,
        "STATE_MACHINE_PREFIX": STATE_MACHINE_PREFIX,
        "TASK_CATALOG": json.dumps(catalog),
        "AWS_REGION": REGION,
        "RUN_WAIT_SECONDS": "10",
        "RESULTS_BUCKET": buckets["ResultsBucket"],
        "SCHEDULE_GROUP": SCHEDULE_GROUP,
        "SCHEDULER_ROLE_ARN": SCHEDULER_ROLE_ARN,
    }
    aws.client("scheduler", REGION).create_schedule_group(Name=SCHEDULE_GROUP)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for kind, module in task_modules.items():
        sfn.register(function_name(kind), module.lambda_handler)
    uninstall_versions = moto_versions.install()
    uninstall_dynamodb = moto_dynamodb.install()  # tests that race requests in threads
    # As on the local stack: the history without data and paged, as AWS serves it.
    uninstall_history = moto_history.install()
    api_module.reset()
    api = Api(api_module, sfn, task_modules)
    try:
        yield api
    finally:
        api.release_all()  # held tasks must finish before the mock goes away
        api_module.reset()
        uninstall_history()
        uninstall_dynamodb()
        uninstall_versions()
