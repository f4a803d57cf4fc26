"""Executions: start, read, list, stop (DESIGN §4, §7).

Starting writes the execution index first (EXEC#<id>, conditional), then starts the
execution on the flow's current state machine *version*, named after the execution id.
With an Idempotency-Key the id is derived from the flow and the key, so a retried
request finds its index item and its execution (Step Functions refuses a second
execution of the same name) instead of starting another. If the start fails after the
index write, the item points at nothing: reads answer 404 (never a made-up status) and
a retry with the same key starts it.

A context is refused (422 InvalidContext) when it cannot run the flow's first task:
Step Functions keeps the context in the state (`{"context", "results"}`) and sends it
in every task's payload, and either must stay under 256 KiB (States.DataLimitExceeded
cannot be caught). `context_room` is that limit for the flow's first task; every start
route (start, the seeds' run routes) passes through `start`.

A *prepared* execution (POST /flow/create) is the same index item with the input it
will start with (`prepared_input`) and its version pinned, and no Step Functions
execution yet: the seeds' status route shows it as `created`; our own routes answer
404 until it starts (Step Functions is their source of truth, and it knows nothing
yet). Starting it is `StartExecution` under its id, so Step Functions' name
uniqueness makes a second start impossible (409 ExecutionAlreadyStarted). Deleting the
flow deletes its execution index, prepared items included.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from flow_manager.aws import ATTEMPT_WORST_SECONDS, remaining
from flow_manager.engine import ExecutionExists, ExecutionListing
from flow_manager.errors import (
    ExecutionAlreadyStarted,
    ExecutionNotFound,
    ExecutionNotRunning,
    IdempotencyKeyReused,
    InvalidContext,
    InvalidRequest,
    Problem,
)
from flow_manager.flows import Flows, Saved
from flow_manager.model import MAX_PAYLOAD_BYTES, Flow
from flow_manager.reports import (
    SFN_STATUS_OF,
    STATUS_OF,
    ExecutionReport,
    ExecutionStatus,
    ExecutionSummary,
    build_report,
    iso,
)
from flow_manager.results_store import MAX_INLINE_DATA_BYTES, MAX_SKELETON_BYTES, json_size
from flow_manager.store import ExecutionRecord, FlowHead, FlowVersion, Item
from flow_manager.validation import check_context, check_demo

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.type_defs import HistoryEventTypeDef

    from flow_manager.results_store import ResultsStore

# Fixed forever: execution ids derived from Idempotency-Keys must not change on upgrade.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1b2c5e-4a7d-4f0e-9a51-3c0d2f9b8e17")
MAX_IDEMPOTENCY_KEY_LENGTH = 255
POLL_FIRST_SECONDS = 0.05
POLL_MAX_SECONDS = 1.0
REPORT_RESERVE_SECONDS = ATTEMPT_WORST_SECONDS + 2  # after the wait: the report's calls
# The first task's result, as the task SDK bounds it: data at most MAX_INLINE_DATA_BYTES
# whole or MAX_SKELETON_BYTES as a skeleton in the state (larger goes to the
# ResultsBucket), plus a status and an error message.
FIRST_RESULT_RESERVE_BYTES = max(MAX_INLINE_DATA_BYTES, MAX_SKELETON_BYTES) + 1024
# A context this small fits whatever the first task's parameters (which are read only
# for a larger one: one DynamoDB read that most starts do not need).
QUICK_CONTEXT_BYTES = 16 * 1024
MAX_RETRY_COUNT = 99  # $$.State.RetryCount, two digits at most with our retry limits


def context_room(
    flow_id: str, flow_version: int, execution_id: str, task: str, parameters: object
) -> int:
    """The largest context (bytes, counted as results_store.json_size counts them) with
    which the flow's first task still runs: its payload, and the state after its result,
    must both stay under Step Functions' 256 KiB."""
    payload = {
        "flow_id": flow_id,
        "flow_version": flow_version,
        "execution_id": execution_id,
        "task": task,
        "retry_count": MAX_RETRY_COUNT,
        "parameters": parameters or {},
        "context": 0,
        "results": {},
        "inline_bytes": MAX_INLINE_DATA_BYTES,  # as the translator may name it
    }
    state = {"context": 0, "results": {task: {"status": "failure", "data": 0, "error": 0}}}
    around = max(json_size(payload), json_size(state) + FIRST_RESULT_RESERVE_BYTES) - 1
    return MAX_PAYLOAD_BYTES - 1 - around  # Step Functions wants strictly less than 256 KiB


class ExecutionPage(BaseModel):
    executions: list[ExecutionSummary]
    next_token: str | None = Field(default=None, description="Pass it back to get the next page.")


@dataclass(frozen=True)
class Started:
    execution: ExecutionSummary
    new: bool  # False: a retried request found the execution it started before


@dataclass(frozen=True)
class Run:
    """A flow run by the seeds' routes: the report, and whether it ended in time."""

    flow: Saved
    started: Started
    report: ExecutionReport
    finished: bool


class Executions:
    def __init__(
        self,
        flows: Flows,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.flows = flows
        self.store = flows.store
        self.engine = flows.engine
        self.sleep = sleep
        self.monotonic = monotonic

    # ---- start -----------------------------------------------------------------------

    def start(self, flow_id: str, context: object, idempotency_key: str | None) -> Started:
        """Start the flow's current version with `context` as the execution's input."""
        check_context(context)
        _check_key(idempotency_key)
        record = self._new_record(flow_id, context, idempotency_key)
        return self.launch(record, _input_json(context))

    def _new_record(
        self,
        flow_id: str,
        context: object,
        idempotency_key: str | None,
        prepared: bool = False,
    ) -> ExecutionRecord:
        head = self.flows.head(flow_id)
        self._check_demo(head, context)
        execution_input = _input_json(context)
        request_hash = hashlib.sha256(execution_input.encode()).hexdigest()
        if idempotency_key is None:
            execution_id = str(uuid.uuid4())
        else:
            # The incarnation changes when a flow is deleted and created again, so an
            # old key cannot resolve to an execution of the flow's previous life.
            seed = f"{flow_id}\n{head.incarnation}\n{idempotency_key}"
            execution_id = str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, seed))
        self._check_room(head, execution_id, context)
        state_machine_arn = head.state_machine_arn or self.engine.state_machine_arn(flow_id)
        return ExecutionRecord(
            execution_id=execution_id,
            flow_id=flow_id,
            flow_version=head.current_version,
            execution_arn=self.engine.execution_arn(state_machine_arn, execution_id),
            state_machine_arn=state_machine_arn,
            state_machine_version_arn=head.current_version_arn or "",
            request_hash=request_hash,
            created_at=iso(self.flows.clock()) or "",
            idempotency_key=idempotency_key,
            prepared_input=execution_input if prepared else None,
        )

    # ---- prepared executions (seed 001: create now, execute later) -------------------

    def prepare(self, flow_id: str, context: object) -> ExecutionRecord:
        """Index an execution of the flow's current version without starting it: the
        version and the input are pinned now, `start_prepared` starts exactly that."""
        check_context(context)
        record = self._new_record(flow_id, context, None, prepared=True)
        self.store.put_execution(record)  # a fresh uuid4: never taken
        return record

    def start_prepared(self, execution_id: str) -> ExecutionReport:
        """Start a prepared execution; ExecutionAlreadyStarted if it ran (or runs)."""
        record = self._record(execution_id)
        if record.prepared_input is None or self.engine.describe(record.execution_arn):
            raise ExecutionAlreadyStarted(execution_id)
        try:
            self.engine.start(record.state_machine_version_arn, execution_id, record.prepared_input)
        except ExecutionExists:  # a concurrent request started it first
            raise ExecutionAlreadyStarted(execution_id) from None
        return self.get(execution_id)

    def progress(self, execution_id: str) -> tuple[ExecutionRecord, ExecutionReport | None]:
        """The execution's record and its report; no report while it is only prepared.
        A finished execution's report is built once and stored (stored_reports.py):
        later reads are one DynamoDB query, with no call to Step Functions."""
        from flow_manager.stored_reports import StoredReports

        record, stored = self._record_and_report(execution_id)
        finished = StoredReports(self.store, self._results())
        report = finished.read(record, stored)
        if report is None:
            built = self._build(record)
            if built is None:
                return record, None
            report = finished.finish(record, *built)
        return record, report

    def _build(self, record: ExecutionRecord) -> tuple[ExecutionReport, bool] | None:
        """The report from Step Functions, and whether the execution had ended (so the
        report is final); None while it is only prepared."""
        described = self.engine.describe(record.execution_arn)
        if described is None:
            if record.prepared_input is not None:
                return None
            raise ExecutionNotFound(record.execution_id)  # indexed, the start never happened
        # The newest events with their data; unless they are the whole history, the
        # outline without data too (every state exit carries the whole state): a
        # 300-task report reads ~1 MB of history, not 50. The outline is read after, so
        # events newer than the newest with data are left out: the report is of the
        # moment the data was read, and its newest state exit has its data.
        recent, whole = self.engine.recent_events(record.execution_arn)
        events: dict[int, HistoryEventTypeDef] = {}
        if not whole:
            newest = max((int(e["id"]) for e in recent), default=0)
            outline = self.engine.history(record.execution_arn, include_data=False)
            events = {e["id"]: e for e in outline if int(e["id"]) <= newest}
        events.update((e["id"], e) for e in recent)
        flow = self.flow_of(record)
        report = build_report(
            self._summary(record, described), described, list(events.values()), flow
        )
        from flow_manager.stored_reports import FINAL_SFN_STATUSES

        # Described before the history was read: an ended execution's history is whole.
        return report, str(described.get("status")) in FINAL_SFN_STATUSES

    def _results(self) -> ResultsStore | None:
        bucket = self.flows.settings.results_bucket
        if not bucket:
            return None
        from flow_manager.results_store import ResultsStore

        return ResultsStore(bucket, self.flows.settings.region)

    def launch(self, record: ExecutionRecord, execution_input: str) -> Started:
        """Index `record` and start it with `execution_input`, safely repeated: an id
        taken by the same request (`request_hash`) runs what that request pinned; by
        another, IdempotencyKeyReused. The retry route starts through here."""
        existing = self.store.put_execution(record)
        if existing is not None:
            if existing.request_hash != record.request_hash or existing.flow_id != record.flow_id:
                raise IdempotencyKeyReused(record.idempotency_key or record.execution_id)
            record = existing
        try:
            started = self.engine.start(
                record.state_machine_version_arn, record.execution_id, execution_input
            )
        except ExecutionExists:  # a retry of this request, or a concurrent one, started it
            described = self.engine.describe(record.execution_arn) or {}
            return Started(self._summary(record, described), new=False)
        # Just started: running, as of the start date Step Functions gave it.
        described = {"status": "RUNNING", "startDate": started}
        return Started(self._summary(record, described), new=existing is None)

    def check_start(self, head: FlowHead, context: object) -> None:
        """What start() refuses in `context` (size, reserved keys, context.demo of the
        current version): schedules check the context they will start with here."""
        check_context(context)
        self._check_demo(head, context)

    def _check_demo(self, head: FlowHead, context: object) -> None:
        """context.demo names the tasks of the version that will run: read it only then."""
        if not isinstance(context, dict) or "demo" not in context:
            return
        tasks: list[str] = []
        if self.flows.settings.demo_switches:
            version = self.store.get_version(head.flow_id, head.current_version)
            if version is not None:
                tasks = [t.name for t in Flow.model_validate_json(version.document).tasks]
        check_demo(context, tasks, enabled=self.flows.settings.demo_switches)

    def _check_room(self, head: FlowHead, execution_id: str, context: object) -> None:
        size = json_size(context)
        if size <= QUICK_CONTEXT_BYTES:
            return
        version = self.store.get_version(head.flow_id, head.current_version)
        if version is None:  # the head is only made active together with its version
            return
        flow = Flow.model_validate_json(version.document)
        first = next(t for t in flow.tasks if t.name == flow.start_task)
        room = context_room(
            head.flow_id,
            head.current_version,
            execution_id,
            first.name,
            getattr(first, "parameters", None),
        )
        if size > room:
            raise InvalidContext(
                f"the context is {size} bytes; this flow runs with a context of at most "
                f"{room} bytes (Step Functions carries {MAX_PAYLOAD_BYTES} bytes of state, "
                f"which also holds the parameters and result of the first task, "
                f"{first.name!r}): pass references to large data instead",
                "context",
            )

    # ---- read ------------------------------------------------------------------------

    def get(self, execution_id: str) -> ExecutionReport:
        _, report = self.progress(execution_id)
        if report is None:  # prepared, not started: only the seeds' routes show it
            raise ExecutionNotFound(execution_id)
        return report

    def flow_of(self, record: ExecutionRecord) -> Flow | None:
        """The flow version the execution runs (None if it is gone)."""
        version = self.store.get_version(record.flow_id, record.flow_version)
        return None if version is None else Flow.model_validate_json(version.document)

    def list(
        self,
        flow_id: str,
        status: ExecutionStatus | None,
        limit: int,
        token: str | None,
    ) -> ExecutionPage:
        """A flow's executions, newest first (all versions), optionally of one status."""
        head = self.flows.head(flow_id)
        kind = f"executions:{flow_id}:{status or '*'}"
        tokens = self.flows.tokens
        position = tokens.decode(kind, token, ("sfn",)) if token is not None else None
        state_machine_arn = head.state_machine_arn or self.engine.state_machine_arn(flow_id)
        listed, next_token = self.engine.list_executions(
            state_machine_arn,
            SFN_STATUS_OF[status] if status else None,  # type: ignore[arg-type]
            limit,
            position["sfn"] if position else None,
        )
        records = self.store.get_executions([e.name for e in listed])
        versions: dict[int, FlowVersion | None] = {}  # read once for all the adopted
        for e in listed:
            if e.name not in records:
                records[e.name] = self._adopt(head, state_machine_arn, e, versions)
        summaries = []
        for e in listed:
            record = records.get(e.name)
            summaries.append(
                ExecutionSummary(
                    execution_id=e.name,
                    flow_id=flow_id,
                    flow_version=record.flow_version if record else None,
                    status=STATUS_OF.get(e.status, "running"),
                    start_time=iso(e.start_date),
                    end_time=iso(e.stop_date),
                    execution_arn=e.execution_arn,
                    state_machine_arn=record.state_machine_version_arn if record else None,
                    console_url=self.engine.console_url(e.execution_arn),
                    retry_of=record.retry_of if record else None,
                    retries=list(record.retries) if record else [],
                )
            )
        return ExecutionPage(
            executions=summaries,
            next_token=tokens.encode(kind, {"sfn": next_token}) if next_token else None,
        )

    def _adopt(
        self,
        head: FlowHead,
        state_machine_arn: str,
        listed: ExecutionListing,
        versions: dict[int, FlowVersion | None],
    ) -> ExecutionRecord:
        """Index an execution this API did not start (a schedule's: EventBridge Scheduler
        names its executions itself; or one started in the Step Functions console), so
        the ids a list gives can be read, stopped and retried. It ran the newest version
        published when it started (the unqualified machine runs the newest definition).
        The write is conditional: a record already there wins."""
        started = iso(listed.start_date) or ""
        version = self._version_at(head, started, versions)
        record = ExecutionRecord(
            execution_id=listed.name,
            flow_id=head.flow_id,
            flow_version=version.version if version else head.current_version,
            execution_arn=listed.execution_arn,
            state_machine_arn=state_machine_arn,
            state_machine_version_arn=(version.state_machine_version_arn or "") if version else "",
            request_hash="",  # no request of ours: an Idempotency-Key can never match it
            created_at=started,
        )
        return self.store.put_execution(record) or record

    def _version_at(
        self, head: FlowHead, moment: str, versions: dict[int, FlowVersion | None]
    ) -> FlowVersion | None:
        """The newest published version created at or before `moment` (ISO, as stored);
        `versions` keeps those read, for the next execution of the same page."""
        oldest: FlowVersion | None = None
        for number in range(head.current_version, 0, -1):
            if number not in versions:
                versions[number] = self.store.get_version(head.flow_id, number)
            version = versions[number]
            if version is None or version.status != "published":
                continue
            if version.created_at <= moment:
                return version
            oldest = version
        return oldest

    # ---- stop ------------------------------------------------------------------------

    def stop(self, execution_id: str) -> ExecutionReport:
        """Stop a running execution (it ends `aborted`); 409 if it already ended."""
        record = self._record(execution_id)
        described = self.engine.describe(record.execution_arn)
        if described is None:
            raise ExecutionNotFound(execution_id)
        status = STATUS_OF.get(str(described.get("status")), "running")
        if status != "running":
            raise ExecutionNotRunning(execution_id, status)
        self.engine.stop(record.execution_arn, "stopped through the Flow Manager API")
        return self.get(execution_id)

    def forget(self, execution_id: str) -> None:
        """Seed 001's DELETE /flow/{id}: stop the execution if it runs, drop its record.
        Step Functions keeps its history (90 days); the API no longer lists it by id."""
        record = self._record(execution_id)
        described = self.engine.describe(record.execution_arn)
        if described is not None and described.get("status") == "RUNNING":
            self.engine.stop(record.execution_arn, "deleted through the Flow Manager API")
        self.store.delete_execution(execution_id)

    # ---- the seeds' run routes -------------------------------------------------------

    def run(
        self,
        flow_id: str | None,
        document: object | None,
        context: object,
        idempotency_key: str | None,
        wait_seconds: float,
    ) -> Run:
        """Start a stored flow (`flow_id`) or an inline one (`document`, stored first),
        then wait up to `wait_seconds` for the execution to end."""
        check_context(context)  # before storing an inline flow for nothing
        if (flow_id is None) == (document is None):
            raise InvalidRequest(
                'give the flow to run: either "flow_id" or the flow itself as "flow"',
                [Problem("flow_id", "give either flow_id or flow, not both or neither")],
                "InvalidRequest",
            )
        if document is not None:
            saved = self.flows.ensure(document)
        else:
            saved = Saved(self.flows.get(str(flow_id)), created=False)
        started = self.start(saved.flow.flow_id, context, idempotency_key)
        finished = self._wait(started.execution.execution_arn, wait_seconds)
        report = self.get(started.execution.execution_id)
        return Run(saved, started, report, finished and report.status != "running")

    def _wait(self, execution_arn: str, seconds: float) -> bool:
        budget_left = remaining()  # the request's (API Gateway's 29 s), if it has one
        if budget_left is not None:
            # Stop in time for the report's calls to still fit (flow_manager/aws.py).
            seconds = max(0.0, min(seconds, budget_left - REPORT_RESERVE_SECONDS))
        deadline = self.monotonic() + seconds
        pause = POLL_FIRST_SECONDS
        while True:
            described = self.engine.describe(execution_arn)
            if described is not None and described.get("status") != "RUNNING":
                return True
            left = deadline - self.monotonic()
            if left <= 0:
                return False
            self.sleep(min(pause, left))
            pause = min(pause * 2, POLL_MAX_SECONDS)

    # ---- shaping ---------------------------------------------------------------------

    def _record(self, execution_id: str) -> ExecutionRecord:
        record = self.store.get_execution(_checked(execution_id))
        if record is None:
            raise ExecutionNotFound(execution_id)
        return record

    def _record_and_report(self, execution_id: str) -> tuple[ExecutionRecord, Item | None]:
        record, report = self.store.get_execution_and_report(_checked(execution_id))
        if record is None:
            raise ExecutionNotFound(execution_id)
        return record, report

    def _summary(self, record: ExecutionRecord, described: dict[str, Any]) -> ExecutionSummary:
        return ExecutionSummary(
            execution_id=record.execution_id,
            flow_id=record.flow_id,
            flow_version=record.flow_version,
            status=STATUS_OF.get(str(described.get("status", "RUNNING")), "running"),
            start_time=iso(described.get("startDate")),
            end_time=iso(described.get("stopDate")),
            execution_arn=record.execution_arn,
            state_machine_arn=record.state_machine_version_arn,
            console_url=self.engine.console_url(record.execution_arn),
            retry_of=record.retry_of,
            retries=list(record.retries),
        )


def _input_json(context: object) -> str:
    return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_key(key: str | None) -> None:
    if key is None:
        return
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable characters",
            [Problem("Idempotency-Key", "invalid")],
        )


def _checked(execution_id: str) -> str:
    """The id, if it can name an execution (Step Functions names are 1-80 characters)."""
    if not execution_id or len(execution_id) > 80:
        raise ExecutionNotFound(execution_id[:80])
    return execution_id
