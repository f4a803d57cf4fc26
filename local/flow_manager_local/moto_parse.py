"""Take moto's (5.2.5) ASL parse off the request path of CreateStateMachine.

moto parses a definition with its ANTLR grammar when a state machine is created or
updated (to refuse an invalid one), and again when an execution starts. The parse
costs ~25 ms per state on this kind of machine: 12-16 s for a 500-task flow (~1 MB of
ASL), so POST /flows of a large flow did not answer within API Gateway's 29 s
(measured with cProfile: `AmazonStateLanguageParser.parse` was 51 of 57 s of the
create call; nothing else came close).

With this patch the local stack's moto
- checks on create/update only that the definition is a JSON object with `StartAt`
  and `States` (cheap), and starts the full parse in a background thread;
- hands that parse's result to the first execution of the definition, which then does
  not parse again (later executions parse as moto always does, in their own thread, so
  no parsed program is shared between executions);
- runs a single Fail state (error InvalidDefinition, the parse error as cause)
  instead when the background parse found an error (also logged), so an invalid
  definition still cannot run. The translator's output is
  parsed by moto synchronously in the test suites, which do not install this patch.

Install it in the moto server's process, like moto_versions, after moto_speedups
(whose cached parse it then runs in the background, so the execution finds it cached).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

logger = logging.getLogger("flow_manager_local.moto_parse")

MAX_PENDING = 16  # parsed programs kept for a first execution (each ~MBs for big flows)


def install() -> Callable[[], None]:
    """Patch moto's Step Functions parser backend; returns the function that undoes it."""
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_validate = StepFunctionsParserBackend.__dict__["_validate_definition"]
    original_parse = asl_parser.AmazonStateLanguageParser.parse
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asl-parse")
    pending: dict[str, Future[Any]] = {}
    lock = threading.Lock()

    def validate(definition: str) -> None:
        try:
            document = json.loads(definition)
        except ValueError:
            document = None
        if not isinstance(document, dict) or "StartAt" not in document or "States" not in document:
            original_validate.__func__(definition)  # moto's own refusal, with its message
            return
        key = _digest(definition)
        with lock:
            if key in pending:
                return
            while len(pending) >= MAX_PENDING:
                pending.pop(next(iter(pending)))
            future = pool.submit(original_parse, definition)
            pending[key] = future
        future.add_done_callback(_log_failure)

    def parse(definition: str) -> Any:
        with lock:
            future = pending.pop(_digest(definition), None)
        if future is None:
            return original_parse(definition)
        try:
            return future.result()
        except Exception as exc:  # the execution fails, as a CreateStateMachine would have
            return original_parse(_failing_definition(exc))

    StepFunctionsParserBackend._validate_definition = staticmethod(validate)  # type: ignore[method-assign]
    # One class: the execution worker and the validation both call it through its attribute.
    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]

    def uninstall() -> None:
        StepFunctionsParserBackend._validate_definition = original_validate  # type: ignore[method-assign]
        asl_parser.AmazonStateLanguageParser.parse = staticmethod(original_parse)  # type: ignore[method-assign]
        pool.shutdown(wait=False, cancel_futures=True)

    return uninstall


def _failing_definition(exc: Exception) -> str:
    state = {"Type": "Fail", "Error": "InvalidDefinition", "Cause": str(exc)[:4000]}
    return json.dumps({"StartAt": "InvalidDefinition", "States": {"InvalidDefinition": state}})


def _digest(definition: str) -> str:
    return hashlib.sha256(definition.encode()).hexdigest()


def _log_failure(future: Future[Any]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        logger.error("a state machine definition does not parse: %s", error)
