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

The sample tasks' switches to fail, raise, fail a number of attempts, or sleep are in
`flow_manager.demo_switches` (see functions/tasks/README.md).

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
import json
import logging
import os
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
    "TaskFailure",
    "TaskInput",
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
