"""moto_stop: a StopExecution that comes before moto's interpreter has started the
program (while it parses the definition, or builds the execution's environment) still
stops the execution, before its first state, as Step Functions does."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from tests.support.sfn import LambdaContext, SfnHarness, lambda_task

HOLD_SECONDS = 10.0  # only a broken test waits this long

ONE_TASK = json.dumps(
    {
        "StartAt": "Work",
        "States": {"Work": lambda_task("work", End=True)},
    }
)


@contextmanager
def _held(owner: type, name: str) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Hold every call of `owner.name` until released; yields (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    original: Callable[..., Any] = getattr(owner, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        release.wait(HOLD_SECONDS)
        return original(*args, **kwargs)

    with mock.patch.object(owner, name, held):
        try:
            yield reached, release
        finally:
            release.set()


def _work(event: dict[str, Any], context: LambdaContext) -> Any:
    return {"worked": True}


def _stop_while_held(sfn: SfnHarness, owner: type, name: str) -> str:
    sfn.register("work", _work)
    machine = sfn.create_state_machine(ONE_TASK)
    with _held(owner, name) as (reached, release):
        arn = sfn.start(machine, {})
        assert reached.wait(HOLD_SECONDS), f"{owner.__name__}.{name} was never called"
        sfn.client.stop_execution(executionArn=arn, error="Aborted", cause="at once")
        release.set()
        return arn


def test_a_stop_while_the_definition_is_parsed_aborts_the_execution(sfn: SfnHarness) -> None:
    # Given an execution whose interpreter is still parsing its definition
    # When it is stopped
    arn = _stop_while_held(sfn, ExecutionWorker, "_get_evaluation_entrypoint")

    # Then it ends ABORTED, and its task never ran
    run = sfn.wait(arn)
    assert run.status == "ABORTED"
    assert run.executed_tasks == ()
    assert sfn.invoked() == []


def test_a_stop_before_the_program_runs_aborts_the_execution(sfn: SfnHarness) -> None:
    # Given an execution whose environment exists, but whose program has not started
    # When it is stopped
    arn = _stop_while_held(sfn, Program, "eval")

    # Then it ends ABORTED (moto records no error or cause for any stop), and no state ran
    run = sfn.wait(arn)
    assert run.status == "ABORTED"
    assert [e["type"] for e in run.history] == ["ExecutionStarted", "ExecutionAborted"]
    assert sfn.invoked() == []
