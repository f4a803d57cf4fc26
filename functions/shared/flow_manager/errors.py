"""Domain errors. They say what went wrong in the flow's terms; the API maps each
`code` to an HTTP status in one place, the CLI to an exit code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, where it is and what to do about it."""

    location: str  # e.g. "flow.conditions[1].target_task_success"
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class FlowManagerError(Exception):
    """Base of every error the domain raises on purpose; `code` names it for clients."""

    code = "FlowManagerError"

    def __init__(self, message: str, details: Sequence[object] = (), code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = list(details)
        if code is not None:
            self.code = code


class InvalidFlow(FlowManagerError):
    """The flow breaks one or more rules of the flow language (DESIGN §3)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"the flow is invalid: {count} {noun}", list(problems), "InvalidFlow")

    @property
    def problems(self) -> list[Problem]:
        return [p for p in self.details if isinstance(p, Problem)]


class InvalidCatalog(FlowManagerError):
    def __init__(self, message: str) -> None:
        super().__init__(message, [], "InvalidCatalog")


class InvalidContext(FlowManagerError):
    """An execution's context that Step Functions would refuse or a task could not read."""

    def __init__(self, message: str, location: str = "context") -> None:
        super().__init__(message, [Problem(location, message)], "InvalidContext")


# ---- Flows, versions and executions (the API's domain errors) -------------------------


class FlowNotFound(FlowManagerError):
    def __init__(self, flow_id: str) -> None:
        super().__init__(f"no flow with id '{flow_id}'", [], "FlowNotFound")


class FlowAlreadyExists(FlowManagerError):
    def __init__(self, flow_id: str, reason: str = "") -> None:
        message = f"a flow with id '{flow_id}' already exists"
        super().__init__(f"{message}: {reason}" if reason else message, [], "FlowAlreadyExists")


class VersionConflict(FlowManagerError):
    """An optimistic update lost: the flow is no longer at the version the client read."""

    def __init__(
        self, flow_id: str, expected: int | None, current: int | None, message: str = ""
    ) -> None:
        super().__init__(
            message
            or f"flow '{flow_id}' is at version {current}, not {expected}: "
            "read it again and retry with If-Match set to its current version",
            [{"expected_version": expected, "current_version": current}],
            "VersionConflict",
        )


class PreconditionRequired(FlowManagerError):
    def __init__(self, message: str) -> None:
        super().__init__(message, [], "PreconditionRequired")


class FlowBusy(FlowManagerError):
    """The flow cannot change now: executions are running, or another change is under way."""

    def __init__(self, message: str, details: Sequence[object] = ()) -> None:
        super().__init__(message, details, "FlowBusy")


class ExecutionNotFound(FlowManagerError):
    def __init__(self, execution_id: str) -> None:
        super().__init__(f"no execution with id '{execution_id}'", [], "ExecutionNotFound")


class ExecutionNotRunning(FlowManagerError):
    def __init__(self, execution_id: str, status: str) -> None:
        super().__init__(
            f"execution '{execution_id}' is not running (it is {status})",
            [{"status": status}],
            "ExecutionNotRunning",
        )


class ExecutionAlreadyStarted(FlowManagerError):
    """A prepared execution (seed 001's /flow/create) is started once."""

    def __init__(self, execution_id: str) -> None:
        super().__init__(
            f"execution '{execution_id}' was already started; create a new one to run again",
            [],
            "ExecutionAlreadyStarted",
        )


class IdempotencyKeyReused(FlowManagerError):
    """The same Idempotency-Key came with a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"the Idempotency-Key '{key}' was already used with a different request; "
            "use a new key for a new execution",
            [],
            "IdempotencyKeyReused",
        )


class InvalidRequest(FlowManagerError):
    """Something about the request other than the flow is wrong (a parameter, a header)."""

    def __init__(self, message: str, details: Sequence[object] = (), code: str = "BadRequest"):
        super().__init__(message, details, code)


class InvalidPageToken(InvalidRequest):
    def __init__(self) -> None:
        super().__init__(
            "next_token is not a token this list returned: start again without it",
            [Problem("next_token", "not a token this list returned")],
            "InvalidPageToken",
        )


class PayloadTooLarge(FlowManagerError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the request body is {size} bytes; at most {limit} are accepted",
            [{"size": size, "limit": limit}],
            "PayloadTooLarge",
        )


class ConfigurationError(FlowManagerError):
    """The deployment is misconfigured (an environment variable is missing or invalid)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], "ConfigurationError")


class ServiceUnavailable(FlowManagerError):
    """AWS throttled or failed a call: the client may retry the same request."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], "ServiceUnavailable")


class ExecutionNotRetryable(FlowManagerError):
    """Only an execution that ended failed, aborted or timed out can be retried."""

    def __init__(self, execution_id: str, status: str) -> None:
        super().__init__(
            f"execution '{execution_id}' is {status}: only a failed, aborted or timed_out "
            "execution can be retried",
            [{"status": status}],
            "ExecutionNotRetryable",
        )
