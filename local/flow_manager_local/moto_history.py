"""Teach moto (5.2.5) GetExecutionHistory's `includeExecutionData`, `reverseOrder`,
`maxResults` and `nextToken`, which it ignores: it always answers every event with its
data in one page.

Each state's exit records the whole state, so a 300-task execution's history was 2,106
events and 54 MB from moto (38 s, measured on the local stack), and a report could not
answer within the gateway's 29 s. Step Functions itself pages (1000 events at most)
and leaves the data out when asked; the API asks for the outline without data plus
the newest events with data, so with this patch the local stack serves what AWS would.

Install it in the moto server's process, like moto_versions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DATA_FIELDS = ("input", "output", "inputDetails", "outputDetails", "parameters")
MAX_PAGE = 1000  # Step Functions' largest page


def install() -> Callable[[], None]:
    """Patch moto's Step Functions responses; returns the function that undoes it."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.get_execution_history

    def get_execution_history(self: StepFunctionResponse) -> ActionResult:
        execution_arn = self._get_param("executionArn")
        output = self.stepfunction_backend.get_execution_history(execution_arn)
        events = list(output["events"])
        if self._get_param("reverseOrder") in (True, "true"):
            events.reverse()
        start = int(self._get_param("nextToken") or 0)
        size = min(int(self._get_param("maxResults") or MAX_PAGE) or MAX_PAGE, MAX_PAGE)
        page = events[start : start + size]
        if self._get_param("includeExecutionData") in (False, "false"):
            page = [_without_data(event) for event in page]
        result: dict[str, Any] = {"events": page}
        if start + size < len(events):
            result["nextToken"] = str(start + size)
        return ActionResult(result)

    StepFunctionResponse.get_execution_history = get_execution_history  # type: ignore[method-assign]

    def uninstall() -> None:
        StepFunctionResponse.get_execution_history = original  # type: ignore[method-assign]

    return uninstall


def _without_data(event: Any) -> dict[str, Any]:
    stripped: dict[str, Any] = {}
    for key, value in dict(event).items():
        if isinstance(value, dict) and key.endswith("EventDetails"):
            stripped[key] = {k: v for k, v in value.items() if k not in DATA_FIELDS}
        else:
            stripped[key] = value
    return stripped
