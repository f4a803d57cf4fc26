"""boto3 clients made on first use, and what AWS errors mean to a caller.

boto3 costs ~150 ms to import and ~80 ms per client: only requests that reach AWS pay it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flow_manager.errors import ServiceUnavailable

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
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=10,  # API Gateway gives the whole request 29 s
    )
    return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]


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
