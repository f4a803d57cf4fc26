"""Make moto's Lambda run real code, so its Step Functions interpreter executes flows.

moto (with `lambda.use_docker = False`) answers every invoke from
`LambdaSimpleBackend.invoke`; replacing that method sends each invoke to a
dispatcher of ours: in-process handlers in tests, worker processes in the local
stack. Both the test suite and the local stack install it from here.
"""

from __future__ import annotations

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

    def uninstall() -> None:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]

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
