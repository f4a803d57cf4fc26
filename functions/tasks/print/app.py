"""Task kind `print`: log `parameters.message` and return it (seed 001's print tasks).

Returns `{"message": <text>}`. A missing message prints the task's name; a message
that is not a string fails (status "failure") saying so.

Also `parameters.failure_rate` (0..1, seed 001) and the demo parameters (`fail`,
`raise`, `fail_attempts`, `sleep_seconds`), see functions/tasks/README.md.
"""

from __future__ import annotations

import logging

from flow_manager.demo_switches import apply_demo_parameters, apply_failure_rate
from flow_manager.task_kinds import PrintParameters
from flow_manager.tasks import TaskFailure, TaskInput, task_handler

logger = logging.getLogger("flow_manager.tasks.print")


# Its parameters as GET /tasks shows them (flow_manager.task_kinds).
PARAMETERS = PrintParameters


@task_handler
def lambda_handler(task: TaskInput) -> dict[str, str]:
    apply_demo_parameters(task)
    apply_failure_rate(task)
    message = task.parameters.get("message", task.task)
    if not isinstance(message, str):
        raise TaskFailure(f"parameters.message must be text, got {type(message).__name__}")
    logger.info("%s", message, extra={"task": task.task, "execution_id": task.execution_id})
    return {"message": message}
