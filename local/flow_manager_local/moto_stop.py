"""Make moto's (5.2.5) StopExecution take effect however soon after the start it comes.

moto runs an execution on a thread that first parses the definition, then builds the
execution's Environment, then marks the program running. A stop that arrives before
the Environment exists raised AttributeError inside moto (a 500 from the moto server,
an error out of the in-process mock: the integration suite's teardown met it under
load); one that arrives after, but before the program is marked running, was dropped
(`Environment.set_stop` acts only on a running program) and the execution went on to
succeed. Step Functions stops an execution whenever the stop comes.

Here a stop that comes before the program runs is kept on the execution's worker and
applied as the program starts, so the execution ends ABORTED before its first state,
as it would on AWS. Install it wherever moto's backends live (the moto server's process
for the local stack, the tests' mock); `install()` returns the function that undoes it.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

_BOX = "_flow_manager_stop"  # the attribute a worker and its Environment share
_LOCK = threading.Lock()  # stops are rare: one lock for all executions is enough


class _StopBox:
    """Whether the worker's program has started, and the stop that came before it."""

    __slots__ = ("pending", "started")

    def __init__(self) -> None:
        self.started = False
        self.pending: tuple[datetime.datetime, str | None, str | None] | None = None


def _box_of(worker: Any) -> _StopBox:
    box: _StopBox = worker.__dict__.setdefault(_BOX, _StopBox())
    return box


def install() -> Callable[[], None]:
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original_stop = ExecutionWorker.stop
    original_environment = ExecutionWorker._get_evaluation_environment
    original_body = Program._eval_body

    def stop(
        self: ExecutionWorker,
        stop_date: datetime.datetime,
        error: str | None,
        cause: str | None,
    ) -> None:
        with _LOCK:
            box = _box_of(self)
            if not box.started:
                box.pending = (stop_date, error, cause)
                return
        original_stop(self, stop_date=stop_date, error=error, cause=cause)

    def environment(self: ExecutionWorker) -> Any:
        env = original_environment(self)
        with _LOCK:
            setattr(env, _BOX, _box_of(self))
        return env

    def eval_body(self: Program, env: Any) -> None:
        # Only an execution's own Environment holds the box: a Map's or Parallel's
        # frames are new Environments, stopped through their parent.
        box: _StopBox | None = getattr(env, _BOX, None)
        if box is not None:
            with _LOCK:
                box.started = True  # Program.eval has marked it running by now
                pending, box.pending = box.pending, None
            if pending is not None:
                stop_date, error, cause = pending
                env.set_stop(stop_date=stop_date, cause=cause, error=error)
        original_body(self, env)

    ExecutionWorker.stop = stop  # type: ignore[method-assign]
    ExecutionWorker._get_evaluation_environment = environment  # type: ignore[method-assign]
    Program._eval_body = eval_body  # type: ignore[method-assign]

    def uninstall() -> None:
        ExecutionWorker.stop = original_stop  # type: ignore[method-assign]
        ExecutionWorker._get_evaluation_environment = original_environment  # type: ignore[method-assign]
        Program._eval_body = original_body  # type: ignore[method-assign]

    return uninstall
