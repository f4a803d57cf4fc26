"""Retry from the failure (DESIGN §5 resume, §7 POST /executions/{id}/retry).

A retry is a new execution of the same flow that starts at the resume entry every
compiled state machine has: its input `{"flow_manager_resume": {"from", "context",
"results"}}` restores the state the old execution had when it entered the restart
task (the task's StateEntered input: every result of the tasks that ran before it,
nothing of the tasks after) and jumps there. So a task that succeeded before the
restart point is not invoked again. Step Functions' RedriveExecution cannot change
the input or the version (and moto lacks it); this can.

- restart: `from_task` (a top-level task that ran: resume jumps to top-level tasks
  only), else the failed task, the last that failed or was cut off (a task inside a
  parallel branch restarts its parallel task; a for_each task all its items), else
  the last task that ran (a `fail` target after a success);
- version: "same" (default) is the version the execution ran; "current" the flow's
  current one, so a fixed flow can finish a failed run (the restart task must exist
  there);
- the links: the new execution's index item has `retry_of`; the old one's lists it
  in `retries` (written after the start: a listed retry always exists);
- Idempotency-Key: the new id derives from the old execution and the key (the start
  route's mechanism: `Executions.launch`), so a repeated request finds its execution.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from flow_manager.errors import (
    ExecutionNotFound,
    ExecutionNotRetryable,
    InvalidContext,
    InvalidRequest,
    Problem,
)
from flow_manager.executions import _IDEMPOTENCY_NAMESPACE, Executions, Started, _check_key
from flow_manager.model import MAX_PAYLOAD_BYTES, Flow
from flow_manager.reports import STATUS_OF, iso
from flow_manager.store import ExecutionRecord
from flow_manager.trace import PathStep, decision_path, latest_state
from flow_manager.translator import RESUME_KEY
from flow_manager.validation import check_context, check_demo

RETRYABLE = ("failed", "aborted", "timed_out")
VersionChoice = Literal["same", "current"]


class Retries:
    def __init__(self, executions: Executions) -> None:
        self.executions = executions
        self.store = executions.store
        self.engine = executions.engine
        self.flows = executions.flows

    def retry(
        self,
        execution_id: str,
        *,
        from_task: str | None = None,
        context: object | None = None,
        version: VersionChoice = "same",
        idempotency_key: str | None = None,
    ) -> Started:
        """Start the retry of `execution_id` (see the module's text)."""
        _check_key(idempotency_key)
        if context is not None:
            check_context(context)
        old = self.executions._record(execution_id)
        described = self.engine.describe(old.execution_arn)
        if described is None:
            raise ExecutionNotFound(execution_id)
        status = STATUS_OF.get(str(described.get("status")), "running")
        if status not in RETRYABLE:
            raise ExecutionNotRetryable(execution_id, status)
        ran = self.executions.flow_of(old)
        if ran is None:
            raise ExecutionNotFound(execution_id)
        head = self.flows.head(old.flow_id)
        if version == "current":
            flow_version, version_arn = head.current_version, head.current_version_arn or ""
            stored = self.store.get_version(old.flow_id, flow_version)
            target = Flow.model_validate_json(stored.document) if stored else ran
        else:
            flow_version, version_arn, target = old.flow_version, old.state_machine_version_arn, ran
        events = self.engine.history(old.execution_arn)
        path = decision_path(ran, events, running=False)
        restart = _restart(ran, path, from_task)
        if restart not in {t.name for t in target.tasks}:
            raise InvalidRequest(
                f"task '{restart}' is not a top-level task of version {flow_version} of "
                f"flow '{old.flow_id}': retry on the version it ran (version \"same\") or "
                "name another task",
                [Problem("from_task" if from_task else "version", f"no task '{restart}'")],
                "InvalidRequest",
            )
        state = _state_at(ran, restart, events, described)
        resumed_context = context if context is not None else state.get("context")
        check_demo(
            resumed_context,
            [t.name for t in target.all_tasks()],
            enabled=self.flows.settings.demo_switches,
        )
        resume = {
            RESUME_KEY: {"from": restart, "context": resumed_context, "results": state["results"]}
        }
        execution_input = json.dumps(
            resume, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        if len(execution_input.encode()) >= MAX_PAYLOAD_BYTES:
            raise InvalidContext(
                f"the retry's input (context and the {len(state['results'])} results kept) is "
                f"{len(execution_input.encode())} bytes; Step Functions takes less than "
                f"{MAX_PAYLOAD_BYTES}: retry from an earlier task or with a smaller context"
            )
        request = {"from_task": from_task, "context": context, "version": version}
        request_hash = hashlib.sha256(
            json.dumps(request, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        if idempotency_key is None:
            new_id = str(uuid.uuid4())
        else:
            seed = f"retry\n{old.execution_id}\n{idempotency_key}"
            new_id = str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, seed))
        record = ExecutionRecord(
            execution_id=new_id,
            flow_id=old.flow_id,
            flow_version=flow_version,
            execution_arn=self.engine.execution_arn(old.state_machine_arn, new_id),
            state_machine_arn=old.state_machine_arn,
            state_machine_version_arn=version_arn,
            request_hash=request_hash,
            created_at=iso(self.flows.clock()) or "",
            idempotency_key=idempotency_key,
            retry_of=old.execution_id,
        )
        started = self.executions.launch(record, execution_input)
        self.store.add_retry(old.execution_id, started.execution.execution_id)
        return started


def _top_level(flow: Flow) -> dict[str, str]:
    """Every task → the top-level task it runs in (itself, or its parallel task)."""
    owner: dict[str, str] = {}
    for task in flow.tasks:
        owner[task.name] = task.name
        for branch in task.branches or ():
            for inner in branch.all_tasks():
                owner[inner.name] = task.name
    return owner


def _restart(flow: Flow, path: Sequence[PathStep], from_task: str | None) -> str:
    owner = _top_level(flow)
    ran = [s.task for s in path if s.branch is None]
    if from_task is not None:
        did = ", ".join(ran) or "nothing"
        if from_task in ran:
            return from_task
        if from_task in owner and owner[from_task] != from_task:
            message = (
                f"'{from_task}' runs inside parallel task '{owner[from_task]}': a retry "
                f"restarts a top-level task; retry from '{owner[from_task]}'"
            )
        elif from_task in owner:
            message = f"task '{from_task}' did not run in this execution; it ran: {did}"
        else:
            message = f"no task '{from_task}' in this flow; it ran: {did}"
        raise InvalidRequest(message, [Problem("from_task", message)], "InvalidRequest")
    failed = [s.task for s in path if s.status != "success"]
    if failed:
        return owner.get(failed[-1], failed[-1])
    return ran[-1] if ran else flow.start_task


def _state_at(
    flow: Flow, task: str, events: Sequence[Mapping[str, Any]], described: Mapping[str, Any]
) -> dict[str, Any]:
    """`{context, results}` as the execution had it when it entered `task` (its entry:
    a for_each task's guard first); the execution's own context and no results if it
    never got there (nothing ran)."""
    from flow_manager.translator import layout

    entry = layout(flow)[1].entry(task)
    for event in sorted(events, key=lambda e: int(e.get("id", 0))):
        details = event.get("stateEnteredEventDetails")
        if not isinstance(details, Mapping) or not str(event.get("type", "")).endswith("Entered"):
            continue
        name = str(details.get("name"))
        if name != entry:
            continue
        state = _json(details.get("input"))
        if isinstance(state, dict) and isinstance(state.get("results"), dict):
            return {"context": state.get("context"), "results": state["results"]}
    latest = latest_state(events)
    context = latest.get("context") if latest else _original_context(described)
    return {"context": context, "results": {}}


def _original_context(described: Mapping[str, Any]) -> Any:
    execution_input = _json(described.get("input"))
    if isinstance(execution_input, dict) and isinstance(execution_input.get(RESUME_KEY), dict):
        return execution_input[RESUME_KEY].get("context")
    return execution_input if execution_input is not None else {}


def _json(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
