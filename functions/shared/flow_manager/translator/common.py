"""What every unit of the translator shares: names, constants, result paths."""

from __future__ import annotations

import re
from typing import Any

from flow_manager.model import TASK_NAME_PATTERN, Branch, Flow

State = dict[str, Any]
Graph = Flow | Branch

LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
START_STATE = "Start"
SET_UP_STATE = "Set up"
RESUME_STATE = "Resume"
CANNOT_RESUME_STATE = "Cannot resume"
SUCCEED_STATE = "Completed"
RESUME_KEY = "flow_manager_resume"
FLOW_FAILED = "FlowFailed"
ITEM_FAILED = "ItemFailed"
# The Pass states a task's guard goes to when its input is unusable; reports read them.
NO_ITEMS = " has no items"  # a for_each task's path is no array (translator.for_each)
NO_SECONDS = " has no seconds"  # a seconds_from wait's value is no number ≥ 0 (.wait)
INVALID_RESUME = "InvalidResume"


def result_path(task: str) -> str:
    """Where a task's result lives. Step Functions' reference paths want bracket
    notation for a name with a character other than letters, digits and '_'.

    The one place a client's text becomes part of a path: the name pattern keeps quotes,
    brackets and dots out, and this refuses anything else rather than splice it."""
    if re.fullmatch(TASK_NAME_PATTERN, task) is None:
        raise ValueError(f"not a task name, refused in a path: {task!r}")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", task):
        return f"$.results.{task}"
    return f"$.results['{task}']"


def failed_state_name(task: str) -> str:
    return f"{task} failed"


def after_state_name(task: str) -> str:
    """The Choice state of a task that has no condition."""
    return f"After {task}"
