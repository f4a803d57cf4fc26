"""Run compiled state machines in moto's Step Functions interpreter, with Python task handlers.

`moto_sfn()` starts `mock_aws` (with `execute_state_machine` on), routes every Lambda
invoke to handlers registered by function name, and shortens Retry waits. Inside it,
`SfnHarness.run(definition_json, context)` executes a state machine to its end and reads
back what happened from the execution history:

    with moto_sfn() as sfn:
        sfn.script({"task1": ["raise", "success"], "task2": ["failure"]})
        run = sfn.run(compile_flow(flow, catalog_for(flow)).json, {"x": 1})
        assert run.executed_tasks == ("task1", "task2")

Tests get one through the `sfn` fixture (tests/conftest.py).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from unittest import mock

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from flow_manager.model import Flow
from flow_manager_local import moto_stop
from flow_manager_local.moto_lambda import (
    MOTO_CONFIG,
    Invocation,
    install,
    scaled_retry_waits,
)

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import HistoryEventTypeDef

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/flow-manager-tests"  # moto does not check it exists
FAKE_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
RETRY_WAIT_FACTOR = 0.01
EXECUTION_DEADLINE_SECONDS = 60.0  # generous: a slow CI box must not fail, a hang must
POLL_SECONDS = 0.01

Handler = Callable[[dict[str, Any], "LambdaContext"], Any]
"""A Lambda handler: `handler(event, context) -> JSON-serialisable value`."""

OUTCOMES = ("success", "failure", "raise")
"""Scripted outcomes; "sleep:<seconds>" also exists (sleeps, then succeeds)."""


def lambda_arn(function_name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"


def lambda_task(function_name: str, **fields: Any) -> dict[str, Any]:
    """An ASL Task state that invokes `function_name` with the state's input, plus
    `fields` (Next, ResultPath, Catch, ...)."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": lambda_arn(function_name), "Payload.$": "$"},
        **fields,
    }


def catalog_for(names: Flow | Iterable[str]) -> dict[str, str]:
    """A catalog in which each task kind is a function of the same name."""
    kinds = [t.kind for t in names.tasks] if isinstance(names, Flow) else list(names)
    return {kind: lambda_arn(kind) for kind in kinds}


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    aws_request_id: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass(frozen=True)
class Invoked:
    """One invoke as the handler saw it."""

    function_name: str
    event: Any


class ScriptedError(Exception):
    """What a scripted "raise" raises; Lambda reports it as errorType "ScriptedError"."""


@dataclass(frozen=True)
class ExecutionRun:
    """An execution that has ended, as describe_execution and its history tell it."""

    execution_arn: str
    name: str
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    output: Any  # parsed JSON; None unless SUCCEEDED
    error: str | None
    cause: str | None
    executed_tasks: tuple[str, ...]  # Task states entered, in order
    entered_states: tuple[str, ...]  # every state entered, in order
    attempts: Mapping[str, int]  # Task state → TaskScheduled events (1 + retries)
    task_events: tuple[Invoked, ...]  # what handlers received for this execution, in order
    history: tuple[HistoryEventTypeDef, ...] = field(repr=False)

    def state_output(self, state: str) -> Any:
        """The parsed output of the last exit from `state` (the full state data)."""
        for event in reversed(self.history):
            details = event.get("stateExitedEventDetails")
            if details is not None and details["name"] == state:
                return json.loads(details.get("output", "null"))
        raise KeyError(f"state {state!r} was never exited")


class ExecutionDidNotFinish(AssertionError):
    pass


class SfnHarness:
    """Handlers by function name, the invoke dispatcher, and `run`."""

    def __init__(self, client: SFNClient) -> None:
        self.client = client
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Condition()
        self._in_flight = 0
        self._invoked: list[Invoked] = []
        self._unrouted: list[str] = []

    # ---- handlers ------------------------------------------------------------------

    def register(self, function_name: str, handler: Handler) -> None:
        self._handlers[function_name] = handler

    def script(self, outcomes: Mapping[str, Sequence[str]]) -> None:
        """Make each named function answer with the given outcomes, one per invoke.

        The last outcome repeats once the list is used up, so ["raise"] raises on
        every attempt. "success" and "failure" return the task result of DESIGN §4;
        "raise" raises ScriptedError; "sleep:<seconds>" sleeps, then succeeds (so a
        timeout that is not enforced shows up as a success).
        """
        for name, sequence in outcomes.items():
            if not sequence:
                raise ValueError(f"no outcomes for {name!r}")
            for outcome in sequence:
                if outcome not in OUTCOMES and not outcome.startswith("sleep:"):
                    raise ValueError(f"unknown outcome {outcome!r} for {name!r}")
            self.register(name, _scripted(name, list(sequence)))

    def invoked(self, function_name: str | None = None) -> list[Invoked]:
        with self._lock:
            return [i for i in self._invoked if function_name in (None, i.function_name)]

    def dispatch(self, function_name: str, payload: bytes) -> Invocation:
        handler = self._handlers.get(function_name)
        if handler is None:
            with self._lock:
                self._unrouted.append(function_name)
            return Invocation.unhandled(
                "ResourceNotFoundException", f"no handler registered for {function_name!r}"
            )
        event = json.loads(payload) if payload else {}
        context = LambdaContext(
            function_name=function_name,
            aws_request_id=str(uuid.uuid4()),
            invoked_function_arn=lambda_arn(function_name),
        )
        with self._lock:
            self._invoked.append(Invoked(function_name, event))
            self._in_flight += 1
        try:
            return Invocation.returned(handler(event, context))
        except Exception as exc:  # Lambda reports any exception as an unhandled error
            return Invocation.unhandled(type(exc).__name__, str(exc))
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify_all()

    def stop_running(self, deadline_seconds: float = 10.0) -> None:
        """Stop every execution still running, and wait for it to end: one that a test
        left (started, not awaited) invoked its next task through the next test's
        dispatcher ("invokes of functions without a handler"), as the dispatcher is
        one for the process. Each is stopped until it has ended (moto ends a stopped
        execution after its current state), or the deadline passes."""
        deadline = time.monotonic() + deadline_seconds
        while True:
            running = [
                execution["executionArn"]
                for machines in self.client.get_paginator("list_state_machines").paginate()
                for machine in machines["stateMachines"]
                for page in self.client.get_paginator("list_executions").paginate(
                    stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
                )
                for execution in page["executions"]
            ]
            if not running or time.monotonic() > deadline:
                return
            for arn in running:
                with suppress(ClientError):  # it ended meanwhile
                    self.client.stop_execution(executionArn=arn)
            time.sleep(POLL_SECONDS)

    def wait_idle(self, timeout: float = EXECUTION_DEADLINE_SECONDS) -> None:
        """Wait for handlers still running, e.g. ones whose state timed out: moto
        abandons such a call but does not interrupt it."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._in_flight == 0, timeout):
                raise ExecutionDidNotFinish(f"{self._in_flight} handler(s) still running")

    # ---- executions ----------------------------------------------------------------

    def create_state_machine(self, definition_json: str, name: str | None = None) -> str:
        created = self.client.create_state_machine(
            name=name or f"sm-{uuid.uuid4().hex}",
            definition=definition_json,
            roleArn=ROLE_ARN,
        )
        return created["stateMachineArn"]

    def start(self, state_machine_arn: str, context: Any, name: str | None = None) -> str:
        started = self.client.start_execution(
            stateMachineArn=state_machine_arn,
            name=name or f"ex-{uuid.uuid4().hex}",  # without a name moto's ARN ends in :None
            input=json.dumps(context),
        )
        return started["executionArn"]

    def run(
        self,
        definition_json: str,
        context: Any,
        *,
        deadline_seconds: float = EXECUTION_DEADLINE_SECONDS,
    ) -> ExecutionRun:
        """Create a state machine, execute it with `context` as input, wait for its end."""
        arn = self.start(self.create_state_machine(definition_json), context)
        return self.wait(arn, deadline_seconds=deadline_seconds)

    def wait(
        self, execution_arn: str, *, deadline_seconds: float = EXECUTION_DEADLINE_SECONDS
    ) -> ExecutionRun:
        deadline = time.monotonic() + deadline_seconds
        while True:
            described = self.client.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise ExecutionDidNotFinish(
                    f"{execution_arn} still RUNNING after {deadline_seconds} s"
                )
            time.sleep(POLL_SECONDS)
        with self._lock:
            unrouted, self._unrouted = self._unrouted, []
        if unrouted:
            raise AssertionError(f"invokes of functions without a handler: {unrouted}")
        history = tuple(self._history(execution_arn))
        executed, entered, attempts = _path(history)
        error, cause = described.get("error"), described.get("cause")
        for event in history:  # moto fills error/cause in describe_execution; AWS may not
            details = event.get("executionFailedEventDetails")
            if details is not None:
                error, cause = details.get("error", error), details.get("cause", cause)
        raw_output = described.get("output")
        name = described["name"]
        return ExecutionRun(
            execution_arn=execution_arn,
            name=name,
            status=described["status"],
            output=json.loads(raw_output) if raw_output is not None else None,
            error=error,
            cause=cause,
            executed_tasks=executed,
            entered_states=entered,
            attempts=attempts,
            task_events=tuple(
                i
                for i in self.invoked()
                if isinstance(i.event, dict) and i.event.get("execution_id") == name
            ),
            history=history,
        )

    def _history(self, execution_arn: str) -> Iterator[HistoryEventTypeDef]:
        paginator = self.client.get_paginator("get_execution_history")
        for page in paginator.paginate(executionArn=execution_arn):
            yield from page["events"]


def _path(
    history: Sequence[HistoryEventTypeDef],
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, int]]:
    executed: list[str] = []
    entered: list[str] = []
    attempts: dict[str, int] = {}
    current_task: str | None = None
    for event in sorted(history, key=lambda e: e["id"]):
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            entered.append(name)
            current_task = name if kind == "TaskStateEntered" else None
            if current_task is not None:
                executed.append(name)
        elif kind == "TaskScheduled" and current_task is not None:
            # A flow runs one state at a time, so the schedule belongs to the last Task entered.
            attempts[current_task] = attempts.get(current_task, 0) + 1
    return tuple(executed), tuple(entered), attempts


def _scripted(name: str, outcomes: list[str]) -> Handler:
    calls = 0
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        nonlocal calls
        with lock:
            outcome = outcomes[min(calls, len(outcomes) - 1)]
            calls += 1
            attempt = calls
        if outcome == "raise":
            raise ScriptedError(f"{name} raised on attempt {attempt}")
        if outcome == "failure":
            return {"status": "failure", "data": None, "error": f"{name} failed as scripted"}
        if outcome.startswith("sleep:"):
            time.sleep(float(outcome.removeprefix("sleep:")))
        return {"status": "success", "data": {"task": name, "attempt": attempt}, "error": None}

    return handler


# The interpreter logs ERROR with a traceback-sized message for ordinary events: every
# Fail state, and every Choice rule that tests `IsPresent` on a missing path (our Choice
# states do, after a caught error). It would bury a failing test's own output.
_NOISY_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def moto_sfn(retry_wait_factor: float = RETRY_WAIT_FACTOR) -> Iterator[SfnHarness]:
    """moto with Step Functions executing ASL and Lambda invokes routed to handlers."""
    with (
        mock.patch.dict(os.environ, FAKE_ENV),
        _quiet(_NOISY_LOGGER),
        mock_aws(config=cast("DefaultConfig", MOTO_CONFIG)),  # a plain dict upstream
        scaled_retry_waits(retry_wait_factor),
    ):
        harness = SfnHarness(boto3.client("stepfunctions", region_name=REGION))
        uninstall = install(harness.dispatch)
        unstop = moto_stop.install()  # teardown stops executions a test just started
        try:
            yield harness
        finally:
            try:
                harness.stop_running()
                # A handler that outlived its state (a timeout) still returns into moto:
                # let it finish while the mock is up, or its call leaks out of the mock.
                harness.wait_idle()
            finally:
                unstop()
                uninstall()
