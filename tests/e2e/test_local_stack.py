"""The local stack as a whole: resources from the template, and a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from flow_manager_local.client import ApiClient
from flow_manager_local.commands import local_parameters
from flow_manager_local.launch import (
    ROOT,
    LocalStackProcess,
    alive,
    descendants,
    function_of,
    start_local_stack,
)
from flow_manager_local.template import StackSettings, load_template, read_stack
from flow_manager_local.worker_processes import process_title
from tests.e2e.support import json_body, local_only

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

STOP_DEADLINE_SECONDS = 30.0


def _lambda(stack: LocalStackProcess) -> LambdaClient:
    return boto3.client(
        "lambda",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@local_only
def test_the_catalog_names_functions_that_exist_in_moto(
    api: ApiClient, local_stack: LocalStackProcess
) -> None:
    # Given the catalog the API reads from the template's TASK_CATALOG
    arns = {t["function_arn"] for t in json_body(api.get("/tasks"))["tasks"]}
    # When moto's Lambda is asked for its functions
    functions = _lambda(local_stack).list_functions()["Functions"]
    # Then every ARN of the catalog is a function the local stack created
    assert arns <= {f["FunctionArn"] for f in functions}


@local_only
def test_each_function_has_the_environment_the_template_gives_it(
    local_stack: LocalStackProcess,
) -> None:
    # Given the template, resolved with the local stack's parameters (DemoSwitches on)
    declared = load_template(ROOT / "template.yaml")["Parameters"]
    settings = StackSettings(parameters=local_parameters(declared, []))
    functions = read_stack(ROOT / "template.yaml", settings).functions
    # When moto describes the API function
    expected = functions["ApiFunction"]
    described = _lambda(local_stack).get_function_configuration(FunctionName=expected.name)
    # Then its variables are the template's, the catalog naming the task functions' ARNs
    variables = described["Environment"]["Variables"]
    assert variables == dict(expected.environment)
    assert json.loads(variables["TASK_CATALOG"])["task1"] == functions["FetchDataFunction"].arn


@local_only
def test_ctrl_c_stops_serve_and_every_process_it_started(tmp_path: Path) -> None:
    # Given a second local stack, warm, with its worker processes
    stack = start_local_stack(tmp_path / "serve.log")
    children = descendants(stack.process.pid)
    assert children, "the stack runs its functions in worker processes"
    # When it gets Ctrl-C (sent here: interrupt() would clean up after it)
    stack.process.send_signal(signal.SIGINT)
    try:
        code = stack.process.wait(timeout=STOP_DEADLINE_SECONDS)
        left = [pid for pid in children if alive(pid)]
    finally:
        stack.kill()
    # Then it exited cleanly, and had stopped every process it started
    assert code == 0, stack.output()
    assert left == []


def _workers_of(stack: LocalStackProcess, logical_id: str) -> list[int]:
    """The pids of the processes running `logical_id`'s handler (its template too)."""
    title = process_title(logical_id)
    return [pid for pid in descendants(stack.process.pid) if function_of(pid) == title]


@local_only
def test_requests_after_the_api_workers_are_killed_all_succeed(
    api: ApiClient, local_stack: LocalStackProcess
) -> None:
    # Given the API answered, so its workers are warm
    assert api.get("/flows").status == 200
    name = "ApiFunction"
    killed = _workers_of(local_stack, name)
    assert killed
    # When every one of them is killed with SIGKILL
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_DEADLINE_SECONDS
    while time.monotonic() < deadline and any(alive(pid) for pid in killed):
        time.sleep(0.01)
    # Then each following request is answered by a new worker
    assert [api.get("/flows").status for _ in range(5)] == [200] * 5
    assert not set(_workers_of(local_stack, name)) & set(killed)
