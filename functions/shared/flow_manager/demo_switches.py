"""The sample tasks' demo switches (functions/tasks/README.md), and seed 001's
`failure_rate`: how a flow makes a task sleep, fail, raise or fail some attempts, to
show timeouts, Retry and Catch. The API checks a start's `context.demo` with
`demo_switch_problem` (validation.py); the task functions act on them with
`apply_demo_parameters` and `apply_failure_rate`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flow_manager.tasks import TaskFailure

if TYPE_CHECKING:
    from flow_manager.tasks import TaskInput

__all__ = [
    "DEMO_SWITCHES",
    "DemoError",
    "SimulatedTransientError",
    "apply_demo_parameters",
    "apply_failure_rate",
    "demo_settings",
    "demo_switch_problem",
    "demo_switches_enabled",
    "failure_draw",
]

# The template's DemoSwitches parameter, as every function's environment has it. Off
# unless a stack says "enabled": on a deployed stack any caller could otherwise make
# tasks fail, raise or sleep (DESIGN §11).
DEMO_SWITCHES_VARIABLE = "DEMO_SWITCHES"
# An identifier: no "." so a raised name cannot pass for Lambda.*, States.*, Sandbox.*
# or Runtime.* errors, which Step Functions and the task's Retry treat specially.
_ERROR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_DEMO_SLEEP_SECONDS = 900.0  # Lambda's longest timeout
DEMO_SWITCHES = ("sleep_seconds", "fail_attempts", "raise", "fail")
DEMO_DISABLED = (
    "demo switches are disabled on this stack (template parameter DemoSwitches=disabled)"
)


class DemoError(Exception):
    """Base of the errors that the `raise` and `fail_attempts` switches raise.

    Lambda reports an exception by its class name, so `raise: "DatabaseUnavailable"`
    raises a subclass named DatabaseUnavailable: that name is what Retry/Catch see.
    """


class SimulatedTransientError(DemoError):
    """Raised by `fail_attempts: N` on the first N attempts."""


@functools.cache
def _error_class(name: str) -> type[DemoError]:
    return type(name, (DemoError,), {"__module__": __name__})


def demo_switches_enabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(DEMO_SWITCHES_VARIABLE, "").strip().lower() == "enabled"


def demo_switch_problem(switch: str, value: Any) -> str | None:
    """What is wrong with one switch's value, or None. The API checks `context.demo`
    with it before a start; the SDK checks again (a console start skips the API)."""
    if value is None and switch in DEMO_SWITCHES:
        return None  # null: the switch is off
    if switch == "sleep_seconds":
        if not _is_number(value) or not 0 <= value <= MAX_DEMO_SLEEP_SECONDS:
            return f"must be a number from 0 to {MAX_DEMO_SLEEP_SECONDS:g}, got {value!r}"
    elif switch == "fail_attempts":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"must be a whole number >= 0, got {value!r}"
    elif switch == "raise":
        if not (isinstance(value, bool) or (isinstance(value, str) and _ERROR_NAME.match(value))):
            return (
                "must be true, false or an error name: a letter, then up to 63 letters, "
                "digits or '_' (no '.': Lambda.* and States.* errors cannot be raised), "
                f"got {value!r}"
            )
    elif switch == "fail":
        if not (isinstance(value, bool) or (isinstance(value, str) and value)):
            return f"must be true, false or an error message, got {value!r}"
    else:
        return "unknown switch"
    return None


def demo_settings(task: TaskInput) -> dict[str, Any]:
    """The task's demo switches: its parameters, overridden by `context.demo.<task name>`.

    The context form lets one flow show every branch: start it with
    `{"demo": {"task2": {"fail": true}}}` to make task2 fail in that execution only.
    Unknown keys of `context.demo.<task name>` are kept, so that they are refused.
    """
    settings = {k: v for k, v in task.parameters.items() if k in DEMO_SWITCHES}
    demo = task.context_value("demo")
    if isinstance(demo, Mapping) and isinstance(demo.get(task.task), Mapping):
        settings.update(demo[task.task])
    return settings


def apply_demo_parameters(task: TaskInput) -> None:
    """Act on the demo switches, in this order (see functions/tasks/README.md):

    - `sleep_seconds: X`  sleep X seconds first (shows task timeouts);
    - `fail_attempts: N`  raise SimulatedTransientError while retry_count < N (shows Retry);
    - `raise: "Name"`     raise an exception of type Name (`true`: DemoError) (shows Catch);
    - `fail: true`        return a failure result (`fail: "message"` sets its error).

    A malformed or unknown switch is a failure result that says which and why, and so
    is any switch on a stack whose template leaves DemoSwitches disabled.
    """
    settings = demo_settings(task)
    if not settings:
        return
    if not demo_switches_enabled():
        raise TaskFailure(f"{DEMO_DISABLED}: {', '.join(sorted(settings))} not acted on")
    for switch, value in settings.items():
        problem = demo_switch_problem(switch, value)
        if problem is not None:
            suggestion = _closest(switch, DEMO_SWITCHES) if problem == "unknown switch" else ""
            raise TaskFailure(f"demo switch {switch}: {problem}{suggestion}")
    sleep = settings.get("sleep_seconds")
    if sleep is not None:
        time.sleep(float(sleep))
    attempts = settings.get("fail_attempts")
    if attempts is not None and task.retry_count < attempts:
        raise SimulatedTransientError(
            f"attempt {task.retry_count + 1} of {task.task} fails on purpose "
            f"(fail_attempts={attempts}: the first {attempts} attempts fail)"
        )
    error_name = settings.get("raise")
    if error_name not in (None, False):
        name = "DemoError" if error_name is True else str(error_name)
        raise _error_class(name)(f"{task.task} raised {name} on purpose (parameter raise)")
    fail = settings.get("fail")
    if fail is True:
        raise TaskFailure(f"{task.task} failed on purpose (fail=true)")
    if isinstance(fail, str) and fail:
        raise TaskFailure(fail)


def _closest(word: str, candidates: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---- failure_rate (seed 001's tasks) ------------------------------------------------


def failure_draw(execution_id: str, task_name: str) -> float:
    """A number in [0, 1) fixed by the execution and the task: the same execution
    draws the same again (a retried attempt, a replayed test), another one anew."""
    digest = hashlib.sha256(f"{execution_id}\n{task_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def apply_failure_rate(task: TaskInput) -> None:
    """`parameters.failure_rate` (0..1): fail with that probability. 1 always fails, 0
    (or absent) never; in between the draw is `failure_draw(execution id, task name)`,
    so an execution's outcome is reproducible."""
    rate = task.parameters.get("failure_rate")
    if rate is None:
        return
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise TaskFailure(f"parameters.failure_rate must be a number from 0 to 1, got {rate!r}")
    if rate > 0 and failure_draw(task.execution_id, task.task) < rate:
        raise TaskFailure(f"{task.task} failed on purpose (failure_rate={rate})")
