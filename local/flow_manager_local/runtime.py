"""The Lambda runtime inside one worker process (run as a script, stdlib only).

`workers.py` starts `python -I -u runtime.py FUNCTION_NAME` with the function's
environment (plus this worker's settings in `_FLOW_MANAGER_LOCAL_WORKER`), and talks
to it over an inherited socket (framed messages from `multiprocessing.connection`),
so that stdout and stderr stay the function's logs alone. Like Lambda's Python
runtime, the handler module is imported once (the init phase), then each request
calls the handler with the event and a context object. Timeouts are enforced by the
parent, which kills this process: nothing in here could interrupt a handler stuck in
C code or a sleep.

Messages (JSON):
  worker → parent, once:  {"ready": true} | {"init_error": ERROR}
  parent → worker:        {"request_id", "payload", "deadline_ms", "invoked_function_arn"}
  worker → parent:        {"started": true}, at once: the request reached the handler
  worker → parent:        {"result": "<JSON text>"} | {"error": ERROR}
where ERROR is Lambda's `{"errorType", "errorMessage", "stackTrace"}`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

PARENT_POLL_SECONDS = 0.5
CONFIG_VARIABLE = "_FLOW_MANAGER_LOCAL_WORKER"  # the handler never sees it
STARTED = b'{"started": true}'


class LambdaContext:
    """The attributes and method of Lambda's Python context object that handlers use."""

    def __init__(self, config: dict[str, Any], request: dict[str, Any]) -> None:
        self.function_name: str = config["function_name"]
        self.function_version: str = "$LATEST"
        self.invoked_function_arn: str = request.get("invoked_function_arn") or config["arn"]
        self.memory_limit_in_mb: int = int(config["memory_size"])
        self.aws_request_id: str = request["request_id"]
        self.log_group_name: str = f"/aws/lambda/{self.function_name}"
        self.log_stream_name: str = config.get("log_stream_name", "local")
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline_ms: int = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(
    error_type: str, message: str, tb: TracebackType | None = None, skip: int = 0
) -> dict[str, Any]:
    frames = traceback.extract_tb(tb)[skip:] if tb is not None else []
    return {
        "errorType": error_type,
        "errorMessage": message,
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(error: dict[str, Any]) -> None:
    # Lambda's runtime logs an unhandled error this way too, so it shows in the logs.
    trace = "".join(error.get("stackTrace") or [])
    sys.stderr.write(f"[ERROR] {error['errorType']}: {error['errorMessage']}\n{trace}")
    sys.stderr.flush()


def _load_handler(config: dict[str, Any]) -> Callable[[Any, Any], Any]:
    module_name, _, function_name = str(config["handler"]).rpartition(".")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError(
            _error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
        ) from None
    except Exception as exc:
        error = _error(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {exc}",
            exc.__traceback__,
        )
        # Only the function's own frames help: drop the runtime's and importlib's.
        error["stackTrace"] = [
            line
            for line in error["stackTrace"]
            if __file__ not in line and "importlib" not in line and "<frozen" not in line
        ]
        raise _InitError(error) from None
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise _InitError(
            _error(
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
            )
        )
    return handler  # type: ignore[no-any-return]


class _InitError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def _watch_parent(parent: int) -> None:
    """Exit when the local stack goes away, even mid-handler, so no worker outlives it."""
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _handle(
    handler: Callable[[Any, Any], Any], config: dict[str, Any], request: dict[str, Any]
) -> dict[str, Any]:
    try:
        event = json.loads(request["payload"] or "null")
    except json.JSONDecodeError as exc:
        return {"error": _error("Runtime.InvalidEventPayload", f"Could not parse event: {exc}")}
    context = LambdaContext(config, request)
    try:
        value = handler(event, context)
    except Exception as exc:
        # skip=1: the frame of this function is the runtime's, not the handler's.
        error = _error(type(exc).__name__, str(exc), exc.__traceback__, skip=1)
        _log_error(error)
        return {"error": error}
    try:
        return {"result": json.dumps(value)}
    except (TypeError, ValueError) as exc:
        error = _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
        _log_error(error)
        return {"error": error}


def main(argv: list[str]) -> int:
    config: dict[str, Any] = json.loads(os.environ.pop(CONFIG_VARIABLE))
    connection = Connection(int(config["fd"]))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    # The handler's code comes first, then its layers, as in /var/task and /opt/python.
    sys.path[:0] = [config["code_dir"], *config["layer_dirs"]]
    try:
        handler = _load_handler(config)
    except _InitError as exc:
        _log_error(exc.error)
        connection.send_bytes(json.dumps({"init_error": exc.error}).encode())
        return 1
    connection.send_bytes(json.dumps({"ready": True}).encode())
    while True:
        try:
            request = json.loads(connection.recv_bytes())
        except (EOFError, OSError):
            return 0  # the pool closed this worker
        # Said first: a worker that dies before it could say it (killed while idle) lets
        # the pool give the request to another one, as it never reached a handler.
        connection.send_bytes(STARTED)
        answer = _handle(handler, config, request)
        sys.stdout.flush()
        sys.stderr.flush()
        connection.send_bytes(json.dumps(answer).encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
