"""Make moto's Lambda run real code, so its Step Functions interpreter executes flows.

moto (with `lambda.use_docker = False`) answers every invoke from
`LambdaSimpleBackend.invoke`; replacing that method sends each invoke to a
dispatcher of ours: in-process handlers in tests, worker processes in the local
stack. Both the test suite and the local stack install it from here.

The interpreter's own synchronous invokes (a flow's tasks) go to the dispatcher
directly. moto's interpreter calls Lambda through a boto3 client, that is over HTTP to
the moto server it runs in: a request, a server thread and a response to serialise and
parse, held for the whole task, for an answer that ends in the same dispatcher. The
answer is the one moto's Lambda API gives (status 200, the payload, the function
error when there is one); an invoke that is not a plain RequestResponse one (Event,
DryRun, a qualifier, a log tail) still goes through moto's API.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


@dataclass(frozen=True)
class Invocation:
    """The answer of one invoke, as Lambda gives it."""

    payload: bytes
    function_error: str | None = None  # "Unhandled" when the handler raised or crashed

    @classmethod
    def returned(cls, value: object) -> Invocation:
        return cls(json.dumps(value).encode())

    @classmethod
    def unhandled(cls, error_type: str, message: str) -> Invocation:
        # errorType becomes the ASL error name that Retry and Catch match.
        body = {"errorType": error_type, "errorMessage": message}
        return cls(json.dumps(body).encode(), "Unhandled")


Dispatcher = Callable[[str, bytes], Invocation]
"""(function name, request payload) → the invocation's answer."""


def function_name(name_or_arn: str) -> str:
    """`arn:aws:lambda:r:a:function:name[:qualifier]` or `name` → `name`."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    return name_or_arn.split(":", maxsplit=1)[0]


def install(dispatch: Dispatcher) -> Callable[[], None]:
    """Route every moto Lambda invoke to `dispatch`; returns the function that undoes it."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke

    def invoke(
        self: LambdaSimpleBackend,
        function_name_or_arn: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        raw = body if isinstance(body, bytes) else (body or "{}").encode()
        answer = dispatch(function_name(function_name_or_arn), raw)
        if answer.function_error is not None:
            response_headers["x-amz-function-error"] = answer.function_error
        return answer.payload

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]
    undo_direct = _invoke_directly(dispatch)

    def uninstall() -> None:
        undo_direct()
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]

    return uninstall


MAX_PAYLOAD_BYTES = 6_000_000  # moto's Lambda API answers Function.ResponseSizeTooLarge above
_VIA_API = ("Qualifier", "LogType", "ClientContext")  # what only moto's API handles


def _invoke_directly(dispatch: Dispatcher) -> Callable[[], None]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = vars(lambda_eval_utils)["_invoke_lambda_function"]

    def _invoke_lambda_function(
        parameters: dict[str, Any], region: str, state_credentials: Any
    ) -> dict[str, Any]:
        plain = parameters.get("InvocationType", "RequestResponse") == "RequestResponse"
        if not plain or any(parameters.get(name) for name in _VIA_API):
            return original(parameters, region, state_credentials)  # type: ignore[no-any-return]
        payload = parameters.get("Payload") or b"{}"
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        answer = dispatch(function_name(str(parameters["FunctionName"])), raw)
        if len(answer.payload) > MAX_PAYLOAD_BYTES:
            answer = Invocation.unhandled(
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
            )
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": lambda_eval_utils._from_payload(io.BytesIO(answer.payload)),
        }
        if answer.function_error is not None:
            response["FunctionError"] = answer.function_error
        return response

    setattr(lambda_eval_utils, "_invoke_lambda_function", _invoke_lambda_function)  # noqa: B010

    def uninstall() -> None:
        setattr(lambda_eval_utils, "_invoke_lambda_function", original)  # noqa: B010

    return uninstall


@contextmanager
def scaled_retry_waits(factor: float) -> Iterator[None]:
    """Shorten the interpreter's Retry waits (they really sleep) by `factor`."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    class _ScaledTime:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            time.sleep(seconds * factor)

    # The interpreter calls `time.sleep` through its module's own `time` name.
    original = vars(retrier_decl)["time"]
    setattr(retrier_decl, "time", _ScaledTime())  # noqa: B010
    try:
        yield
    finally:
        setattr(retrier_decl, "time", original)  # noqa: B010
