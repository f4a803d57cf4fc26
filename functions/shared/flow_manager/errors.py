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
