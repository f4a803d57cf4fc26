"""The task SDK: write a task Lambda as a function of one typed argument (DESIGN §4.2, §6).

    from flow_manager.tasks import TaskFailure, TaskInput, task_handler

    @task_handler
    def lambda_handler(task: TaskInput) -> dict[str, int]:
        if not task.parameters.get("table"):
            raise TaskFailure("parameters.table is required")   # → status "failure"
        return {"rows": 3}                                       # → status "success"

The decorated function is a Lambda handler `(event, lambda_context) -> dict` that
always answers `{"status", "data", "error"}` (the state machine's ResultSelector reads
all three):

| the handler...                  | the task's result                                   |
|---------------------------------|-----------------------------------------------------|
| returns a value                 | `{"status": "success", "data": <value>, "error": None}` |
| returns a `TaskResult`          | that result                                         |
| raises `TaskFailure(msg, data)` | `{"status": "failure", "data": data, "error": msg}` |
| raises anything else            | the exception propagates: Lambda reports it, the    |
|                                 | state machine's Retry/Catch see its type (a retried |
|                                 | "raise"; after the retries, a failure)              |
| gets an event that is not a     | `{"status": "failure", "error": "invalid task      |
| task event                      | event: ..."}` (retrying cannot fix it)              |

Results of earlier tasks are normalised: when a task raised, timed out or crashed,
Step Functions' Catch stored `{"Error", "Cause"}` for it; handlers see a `TaskResult`
with status "failure" and error "<Error>: <message>" instead.

`apply_demo_parameters(task)` gives sample tasks their documented switches to fail,
raise, fail a number of attempts, or sleep (see functions/tasks/README.md), on a stack
whose template enables them (DEMO_SWITCHES=enabled; otherwise a switch is a failure).

Large results go to the ResultsBucket (env RESULTS_BUCKET, see results_store.py): a
`data` larger than the event's `inline_bytes` (the flow's share of the state: 256 bytes
to 4 KiB) is stored there and the state keeps a skeleton whose large
values are references `{"$ref": "s3://...", "bytes": N}`; small values stay, so
conditions can test them. `task.results` resolves references when a handler reads a
result, so handlers never see them. A result that would still not fit in the
execution's state (Step Functions carries 256 KiB, and States.DataLimitExceeded cannot
be caught) is answered as a failure saying so.

Imports stay light on purpose (cold start): no boto3, no Powertools. Logging is the
standard library's (LOG_LEVEL sets the level): a line when the task starts and when it
ends, with the execution id as correlation id (`extra` fields: Lambda's JSON log format
turns them into keys).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue, ValidationError
from pydantic_core import to_jsonable_python

from flow_manager.model import MAX_PAYLOAD_BYTES, TaskEvent, TaskResult
from flow_manager.snapstart import before_snapshot

if TYPE_CHECKING:
    from flow_manager.results_store import ResultsStore

__all__ = [
    "DEMO_SWITCHES",
    "DemoError",
    "SimulatedTransientError",
    "TaskFailure",
    "TaskInput",
    "apply_demo_parameters",
    "apply_failure_rate",
    "demo_settings",
    "demo_switch_problem",
    "demo_switches_enabled",
    "failure_draw",
    "normalise_result",
    "task_handler",
]

logger = logging.getLogger("flow_manager.tasks")

LambdaHandler = Callable[[Any, Any], dict[str, Any]]
TaskFunction = Callable[["TaskInput"], object]

# Room for the rest of the execution's state (keys, the result's status and error).
_STATE_OVERHEAD_BYTES = 1024
RESULTS_BUCKET_ENV = "RESULTS_BUCKET"


class TaskFailure(Exception):
    """A deliberate business failure: the task ran and its answer is "failure".

    Unlike any other exception it is not retried: the flow's condition on this task
    decides where the flow goes next. `data` travels with the failure (e.g. the
    records that were rejected).
    """

    def __init__(self, message: str, data: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data  # made plain JSON like a returned value


@dataclass(frozen=True)
class TaskInput:
    """What a task handler gets: the task event, typed, with earlier results normalised."""

    event: TaskEvent
    results: Mapping[str, TaskResult]  # offloaded values resolved (a `Results`)
    lambda_context: Any = field(default=None, repr=False, compare=False)

    @property
    def flow_id(self) -> str:
        return self.event.flow_id

    @property
    def flow_version(self) -> int:
        return self.event.flow_version

    @property
    def execution_id(self) -> str:
        return self.event.execution_id

    @property
    def task(self) -> str:
        """This task's name in the flow."""
        return self.event.task

    @property
    def retry_count(self) -> int:
        """0 on the first attempt, n on the n-th retry."""
        return self.event.retry_count

    @property
    def parameters(self) -> dict[str, Any]:
        """The task's static parameters from the flow definition."""
        return self.event.parameters

    @property
    def context(self) -> Any:
        """The execution's context: the input the client started it with."""
        return self.event.context

    def context_value(self, key: str, default: Any = None) -> Any:
        """`context[key]` when the context is an object, else `default`."""
        if isinstance(self.context, Mapping):
            return self.context.get(key, default)
        return default

    def upstream(self, key: str, source_task: str | None = None) -> tuple[str, Any]:
        """`data[key]` of an earlier task's result, and that task's name.

        With `source_task`, that task's result; without, the most recent successful
        result whose data has `key` (results are in the order the tasks ran).
        Raises TaskFailure, saying what is missing, when there is none.
        """
        if source_task is not None:
            result = self.results.get(source_task)
            if result is None:
                ran = ", ".join(self.results) or "none"
                raise TaskFailure(f"no result of task {source_task!r} (tasks that ran: {ran})")
            if result.status != "success":
                raise TaskFailure(f"task {source_task!r} failed: {result.error}")
            if not isinstance(result.data, dict) or key not in result.data:
                raise TaskFailure(f"the result of task {source_task!r} has no data.{key}")
            return source_task, result.data[key]
        # Look in the results as the state holds them (a key of an offloaded value is
        # there too), then resolve only the result that has it.
        unresolved = self.results.unresolved if isinstance(self.results, Results) else self.results
        for name, result in reversed(list(unresolved.items())):
            if result.status == "success" and isinstance(result.data, dict) and key in result.data:
                data = self.results[name].data
                assert isinstance(data, dict)  # a skeleton's keys are the data's keys
                return name, data[key]
        ran = ", ".join(self.results) or "none"
        raise TaskFailure(f"no earlier task succeeded with data.{key} (tasks that ran: {ran})")

    def remaining_millis(self) -> int | None:
        """Time left before Lambda stops this invocation, when known."""
        get = getattr(self.lambda_context, "get_remaining_time_in_millis", None)
        return int(get()) if callable(get) else None


def task_handler(function: TaskFunction) -> LambdaHandler:
    """Make `function(task: TaskInput)` a Lambda handler answering the task contract."""
    before_snapshot(_make_results_client)

    @functools.wraps(function)
    def handler(event: Any, lambda_context: Any = None) -> dict[str, Any]:
        _configure_logging()
        started = time.perf_counter()
        try:
            task_event = TaskEvent.model_validate(event)
        except ValidationError as exc:
            message = f"invalid task event: {_describe(exc)}"
            logger.error(message, extra=_request_fields(lambda_context))
            return _answer(TaskResult(status="failure", error=message))

        store = _results_store()
        task = TaskInput(
            event=task_event,
            results=Results(
                {name: normalise_result(value, name) for name, value in task_event.results.items()},
                store,
                task_event.flow_id,
            ),
            lambda_context=lambda_context,
        )
        fields = {**_request_fields(lambda_context), **_task_fields(task_event)}
        logger.info("task started", extra=fields)
        try:
            result = _as_result(function(task))
        except TaskFailure as failure:
            result = TaskResult(
                status="failure", data=_jsonable(failure.data), error=failure.message
            )
        except Exception as exc:
            logger.warning(
                "task raised %s: %s",
                type(exc).__name__,
                exc,
                extra={**fields, "duration_ms": _since(started)},
            )
            raise
        around = _size(task_event.context) + _size(task_event.results)
        if store is not None:
            index = event.get("index") if isinstance(event, dict) else None
            item = index if isinstance(index, int) else None
            result = _offload(result, task_event, store, item, around)
        result = _within_payload_limit(result, task_event, around)
        logger.info(
            "task finished: %s",
            result.status,
            extra={
                **fields,
                "status": result.status,
                "error": result.error,
                "duration_ms": _since(started),
            },
        )
        return _answer(result)

    return handler


class Results(Mapping[str, TaskResult]):
    """Earlier tasks' results, in the order they ran, with offloaded values read back
    from the ResultsBucket when a result is first looked at (not before: a task of a
    500-task flow reads one or two earlier results, not 499)."""

    def __init__(
        self,
        unresolved: Mapping[str, TaskResult],
        store: ResultsStore | None,
        flow_id: str,
    ) -> None:
        self.unresolved = unresolved
        self._store = store
        self._flow_id = flow_id
        self._resolved: dict[str, TaskResult] = {}

    def __getitem__(self, name: str) -> TaskResult:
        if name not in self._resolved:
            self._resolved[name] = self._resolve(self.unresolved[name])
        return self._resolved[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.unresolved)

    def __len__(self) -> int:
        return len(self.unresolved)

    def _resolve(self, result: TaskResult) -> TaskResult:
        if self._store is None or result.data is None:
            return result
        from flow_manager.results_store import flow_prefix, references

        found = references(result.data, self._store.bucket, flow_prefix(self._flow_id))
        if not found:
            return result
        data: Any = result.data
        for key, ref in found:
            try:
                value = self._store.resolve(ref)
            except Exception as exc:  # expired (lifecycle) or deleted: say so, do not crash
                raise TaskFailure(f"cannot read the offloaded result {ref.uri}: {exc}") from exc
            data = value if key is None else {**data, key: value}
        return result.model_copy(update={"data": data})


def _make_results_client() -> None:
    """The S3 client every invocation's store uses, made before a SnapStart snapshot."""
    if os.environ.get(RESULTS_BUCKET_ENV):
        from flow_manager.results_store import s3_client

        s3_client(_region())


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or None


def _results_store() -> ResultsStore | None:
    """A store per invocation (its cache of read documents must not outlive it); the
    S3 client behind it is made once per process, on first use."""
    bucket = os.environ.get(RESULTS_BUCKET_ENV)
    if not bucket:
        return None
    from flow_manager.results_store import ResultsStore

    return ResultsStore(bucket, _region())


def _offload(
    result: TaskResult, event: TaskEvent, store: ResultsStore, index: int | None, around: int
) -> TaskResult:
    """Keep large data out of the state: store it, answer its skeleton (results_store).
    A for_each item (`index` in its event) gets its own key: items run at once.
    `around`: the bytes of the context and the results the state already holds."""
    from flow_manager.results_store import INLINE_DATA_BYTES, result_key, skeleton

    key = result_key(event.flow_id, event.execution_id, event.task, event.retry_count, index)
    # An item's data keeps the least: the items' results add up in the Map's output.
    inline_bytes = (event.inline_bytes if index is None else None) or INLINE_DATA_BYTES
    # A state nearly full keeps whole only what still fits (skeleton keeps at least
    # what any flow keeps): a skeleton fits where the whole data would fail the task.
    inline_bytes = min(inline_bytes, _room(around))
    kept = skeleton(result.data, store.bucket, key, event.keep_inline, inline_bytes)
    if kept is None:
        return result
    store.put(key, result.data)
    return result.model_copy(update={"data": kept})


def normalise_result(value: Any, name: str = "task") -> TaskResult:
    """An entry of the state's `results` as a TaskResult.

    `{"status", "data", "error"}` is what a task returned; `{"Error", "Cause"}` is what
    Catch stored when it raised, timed out or crashed: a failure "<Error>: <message>".
    """
    if isinstance(value, Mapping):
        status = value.get("status")
        if status in ("success", "failure"):
            error = value.get("error")
            return TaskResult(
                status=status,
                data=_jsonable(value.get("data")),
                error=None if error is None else str(error),
            )
        if "Error" in value:
            return TaskResult(status="failure", error=_caught_error(value))
    return TaskResult(status="failure", error=f"unrecognised result of {name}: {value!r:.200}")


def _caught_error(value: Mapping[str, Any]) -> str:
    error = str(value.get("Error") or "Error")
    message = _cause_message(value.get("Cause"))
    return f"{error}: {message}" if message else error


def _cause_message(cause: Any) -> str:
    """Lambda's Cause is a JSON document with errorMessage; others are plain text."""
    if cause is None:
        return ""
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            return cause.strip()
        cause = parsed
    if isinstance(cause, Mapping):
        for key in ("errorMessage", "message", "Message"):
            if isinstance(cause.get(key), str):
                return str(cause[key])
    return json.dumps(cause) if not isinstance(cause, str) else cause


def _as_result(value: object) -> TaskResult:
    if isinstance(value, TaskResult):
        return value
    return TaskResult(status="success", data=_jsonable(value))


def _jsonable(value: Any) -> JsonValue:
    """Plain JSON: Decimal (DynamoDB), datetime, sets, dataclasses and models included."""
    jsonable: JsonValue = to_jsonable_python(value)
    return jsonable


def _answer(result: TaskResult) -> dict[str, Any]:
    return {"status": result.status, "data": result.data, "error": result.error}


def _within_payload_limit(result: TaskResult, event: TaskEvent, around: int) -> TaskResult:
    """A result that cannot fit in the execution's state becomes a failure that says so.
    `around`: the bytes of the context and the results the state already holds."""
    data = _size(result.data)
    if data <= _room(around):
        return result
    size = data + around
    return TaskResult(
        status="failure",
        error=(
            f"the result of {event.task} is too large: the execution's state would be about "
            f"{size} bytes, Step Functions carries at most {MAX_PAYLOAD_BYTES} "
            "(return less data, e.g. a summary and where the rest is stored)"
        ),
    )


def _room(around: int) -> int:
    """The bytes a task's data may take in the state around `around` bytes of context
    and results (Step Functions' limit, less what the state's own keys take)."""
    return MAX_PAYLOAD_BYTES - _STATE_OVERHEAD_BYTES - around


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "event"
        problems.append(f"{location}: {error['msg']}")
    return "; ".join(problems)


def _task_fields(event: TaskEvent) -> dict[str, Any]:
    # execution_id is the correlation id: it names the Step Functions execution.
    return {
        "correlation_id": event.execution_id,
        "execution_id": event.execution_id,
        "flow_id": event.flow_id,
        "flow_version": event.flow_version,
        "task": event.task,
        "retry_count": event.retry_count,
    }


def _request_fields(lambda_context: Any) -> dict[str, Any]:
    request_id = getattr(lambda_context, "aws_request_id", None)
    return {"request_id": request_id} if isinstance(request_id, str) else {}


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


@functools.cache
def _configure_logging() -> None:
    """LOG_LEVEL (the template's) sets this SDK's level; Lambda's runtime owns handlers."""
    level = os.environ.get("LOG_LEVEL", "").upper()
    if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        logging.getLogger("flow_manager").setLevel(level)


# ---- Demo switches of the sample tasks ------------------------------------------------

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
