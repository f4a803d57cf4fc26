"""boto3 clients made on first use, their time limits, and what AWS errors mean.

boto3 costs ~150 ms to import and ~80 ms per client: only requests that reach AWS pay it.

Time limits. API Gateway gives a request 29 s, and a request makes several AWS calls in
a row, so no per-call setting alone bounds it: one call may take up to
MAX_ATTEMPTS * (CONNECT + READ) + the backoff between attempts (standard mode: at most
1 s, then 2 s) = 3 * (2 + 8) + 3 = 33 s. So the API runs each request inside
`budget(seconds)`, and every attempt of every call checks it before it is sent: an
attempt starts only if its own worst case (CONNECT + READ = 10 s) still fits. Each
attempt then ends before the deadline, whatever came before, and a request that runs
out of time answers 503 (retry) instead of API Gateway's 504 with the work unknown.
Calls outside a budget (tasks, the CLI) keep the per-call limits only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from flow_manager.errors import ServiceUnavailable

CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 8  # DynamoDB and Step Functions answer in ms; moto's big creates in s
MAX_ATTEMPTS = 3  # the first try and two retries, with the standard mode's backoff
ATTEMPT_WORST_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
API_BUDGET_SECONDS = 28.0  # API Gateway's 29 s, less a second to answer in

_deadline: ContextVar[float | None] = ContextVar("aws_deadline", default=None)
_clock: Callable[[], float] = time.monotonic

# Retryable on the client's side: the same request may succeed a moment later.
_UNAVAILABLE = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalFailure",
        "ExecutionLimitExceeded",
    }
)


@cache
def client(service: str, region: str) -> Any:
    """One client per service and region per process (they are thread safe)."""
    import boto3
    from botocore.config import Config

    config = Config(
        # total_: botocore's `max_attempts` counts retries only (3 would mean 4 attempts).
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    made = boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]
    # First: before anything answers the request (moto's mock answers in before-send).
    made.meta.events.register_first("before-send", _refuse_attempt_past_deadline)
    return made


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Run a request that must be done within `seconds` (see the module's doc)."""
    token = _deadline.set(_clock() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the current request's budget; None outside one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - _clock()


def _refuse_attempt_past_deadline(**_: Any) -> None:
    left = remaining()
    if left is not None and left < ATTEMPT_WORST_SECONDS:
        raise ServiceUnavailable(
            f"the request ran out of time ({left:.1f} s left of its budget): retry it"
        )


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None (no botocore import needed)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return code if isinstance(code, str) else None


def is_client_error(exc: BaseException, *codes: str) -> bool:
    return error_code(exc) in codes


def raise_if_unavailable(exc: BaseException) -> None:
    """Turn throttling and AWS-side failures into ServiceUnavailable (503: retry)."""
    code = error_code(exc)
    if code in _UNAVAILABLE:
        raise ServiceUnavailable(f"AWS is busy ({code}): retry the request") from exc
    if type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        raise ServiceUnavailable(f"AWS did not answer ({type(exc).__name__})") from exc
