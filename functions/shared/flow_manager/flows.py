"""Flows and their versions: create, read, list, update, delete, validate (DESIGN §7-§8).

Write order, so that a failure anywhere leaves nothing half visible and a retry of the
same request converges:

1. DynamoDB: a *pending* version (and, on create, a pending head) under a conditional
   write. Pending items are invisible to reads and lists; a retry of the same content
   resumes them, a different request may take them over once their lease runs out.
2. Step Functions: create the flow's state machine if missing (its name is the prefix
   plus the flow id, so a retry finds it), update it to the new definition and
   publish a version. Repeating this is harmless.
3. DynamoDB: one transaction makes the version current and records its state machine
   version ARN, conditional on the head still being where step 1 found it. So two
   concurrent updates cannot both win; the loser gets VersionConflict.

Executions start on the version ARN recorded in step 3, so a published-but-not-
committed definition (a request that died between 2 and 3) is never run by the API.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from flow_manager.catalog import Catalog
from flow_manager.engine import Engine
from flow_manager.errors import (
    FlowAlreadyExists,
    FlowBusy,
    FlowNotFound,
    InvalidFlow,
    InvalidPageToken,
    InvalidRequest,
    PreconditionRequired,
    Problem,
    VersionConflict,
)
from flow_manager.model import FLOW_ID_PATTERN, Flow
from flow_manager.paging import PageTokens, StoredKey
from flow_manager.settings import Settings
from flow_manager.store import ConditionFailed, FlowHead, FlowStore, FlowVersion
from flow_manager.translator import compile_flow
from flow_manager.validation import check_flow

Clock = Callable[[], datetime]
GENERATED_ID_PREFIX = "flow-"
MAX_STATE_MACHINE_NAME = 80  # Step Functions' limit; the name is the prefix plus the flow id
SETTLE_POLL_SECONDS = 0.05
_PAGE_FIELDS = ("pk", "sk", "gsi1pk", "gsi1sk")


def utc_now() -> datetime:
    return datetime.now(UTC)


# ---- what clients read ---------------------------------------------------------------


class ProblemBody(BaseModel):
    location: str
    message: str


class FlowSummary(BaseModel):
    flow_id: str
    name: str
    version: int = Field(description="The current version; If-Match takes it.")
    created_at: str
    updated_at: str


class FlowResource(FlowSummary):
    id: str = Field(description="Same as flow_id (the seeds call it id).")
    tasks: list[str] = Field(description="Task names, in the order of the definition.")
    flow: Flow = Field(description='The definition; PUT takes it back as {"flow": ...}.')
    state_machine_arn: str
    state_machine_version_arn: str = Field(description="What new executions start on.")
    console_url: str
    message: str | None = None
    warnings: list[ProblemBody] = Field(
        default_factory=list,
        description="What the flow was accepted with, located (an unreachable task, left "
        "out of the state machine); ?strict=true refuses them instead.",
    )


class FlowPage(BaseModel):
    flows: list[FlowSummary]
    next_token: str | None = Field(default=None, description="Pass it back to get the next page.")


class FlowDefinition(BaseModel):
    flow_id: str
    version: int
    definition: dict[str, Any] = Field(description="The compiled Amazon States Language.")
    state_machine_arn: str
    state_machine_version_arn: str
    console_url: str


class ValidationReport(BaseModel):
    valid: bool
    flow_id: str | None = None
    problems: list[ProblemBody] = Field(default_factory=list)
    warnings: list[ProblemBody] = Field(
        default_factory=list,
        description="Accepted but worth fixing (an unreachable task is left out of the "
        "state machine); with ?strict=true they are problems.",
    )
    definition: dict[str, Any] | None = Field(
        default=None, description="The compiled Amazon States Language, when valid."
    )


@dataclass(frozen=True)
class Saved:
    flow: FlowResource
    created: bool  # False: an identical flow existed (a retried or repeated request)


# ---- the service ---------------------------------------------------------------------


class Flows:
    # How long the loser of a concurrent update waits for the winner to commit (above).
    settle_seconds = 5.0

    def __init__(
        self,
        settings: Settings,
        store: FlowStore,
        engine: Engine,
        clock: Clock = utc_now,
        tokens: PageTokens | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.clock = clock
        # Page tokens of every list (flows, and executions through Executions).
        self.tokens = tokens or PageTokens(StoredKey(store.table, store.region))

    @classmethod
    def from_settings(cls, settings: Settings) -> Flows:
        return cls(
            settings,
            FlowStore(settings.flows_table, settings.region),
            Engine(settings.region, settings.state_machine_role_arn, settings.state_machine_prefix),
        )

    @property
    def catalog(self) -> Catalog:
        return self.settings.task_catalog

    # ---- dry run ---------------------------------------------------------------------

    def check(self, document: object, strict: bool = False) -> ValidationReport:
        """Validate and compile without storing anything; `strict`: warnings are problems."""
        try:
            checked = check_flow(document, self.catalog, strict=strict)
            flow = checked.flow
            flow_id = flow.id or content_id(flow)
            compiled = compile_flow(flow, self.catalog, flow_id=flow_id, version=1)
        except InvalidFlow as exc:
            return ValidationReport(valid=False, problems=_problems(exc.problems))
        return ValidationReport(
            valid=True,
            flow_id=flow_id,
            warnings=_problems(list(checked.warnings)),
            definition=compiled.definition,
        )

    # ---- create ----------------------------------------------------------------------

    def create(self, document: object, strict: bool = False) -> Saved:
        """Store and publish a new flow. An identical flow under the same id is returned
        as it is (a retried create); a different one is FlowAlreadyExists. `strict`
        refuses a flow with warnings; otherwise the answer lists them."""
        checked = check_flow(document, self.catalog, strict=strict)
        return _warned(self._create(checked.flow), checked.warnings)

    def _create(self, flow: Flow) -> Saved:
        flow_id = flow.id or content_id(flow)
        name = self.engine.state_machine_name(flow_id)
        if len(name) > MAX_STATE_MACHINE_NAME:
            room = MAX_STATE_MACHINE_NAME - len(self.engine.prefix)
            raise InvalidFlow(
                [Problem("flow.id", f"at most {room} characters in this deployment ({name!r})")]
            )
        flow = flow.model_copy(update={"id": flow_id})
        digest = content_hash(flow)
        existing = self.store.get_head(flow_id)
        if existing is not None and existing.state != "pending":
            return self._existing(existing, digest)
        compiled = compile_flow(flow, self.catalog, flow_id=flow_id, version=1)
        now = self.clock()
        stamp = _stamp(now)
        lease = _epoch(now) + self.settings.pending_lease_seconds
        head = FlowHead(
            flow_id=flow_id,
            name=flow.name,
            state="pending",
            incarnation=uuid.uuid4().hex,
            current_version=0,
            created_at=stamp,
            updated_at=stamp,
            flow_type=flow.type,
            state_machine_arn=self.engine.state_machine_arn(flow_id),
            lease_until=lease,
            content_hash=digest,
        )
        version = FlowVersion(
            flow_id=flow_id,
            version=1,
            status="pending",
            content_hash=digest,
            document=canonical_json(flow),
            created_at=stamp,
            lease_until=lease,
        )
        try:
            self.store.begin_create(head, version, _epoch(now))
        except ConditionFailed:
            return self._existing(self.store.get_head(flow_id), digest)
        version_arn = self.engine.publish(
            flow_id, compiled.json, flow.type, _describe(1, digest), first=True
        )
        version = replace(version, state_machine_version_arn=version_arn)
        try:
            self.store.publish(head, 0, version)
        except ConditionFailed:
            return self._existing(self.store.get_head(flow_id), digest)
        published = replace(
            head, state="active", current_version=1, current_version_arn=version_arn
        )
        return Saved(self._resource(published, version, flow), created=True)

    def _existing(self, head: FlowHead | None, digest: str) -> Saved:
        """Another request holds the id: the same flow (fine) or another (a conflict)."""
        if head is None:
            raise FlowBusy("the flow was deleted while it was being created: retry")
        if head.state == "deleting":
            raise FlowBusy(
                f"flow '{head.flow_id}' is being deleted: repeat the DELETE, then create it"
            )
        if head.state == "pending":
            raise FlowAlreadyExists(head.flow_id, "another request is creating it")
        if head.content_hash == digest:
            return Saved(self.get(head.flow_id), created=False)
        raise FlowAlreadyExists(
            head.flow_id, "change it with PUT /flows/{flow_id}, or choose another id"
        )

    # ---- read ------------------------------------------------------------------------

    def head(self, flow_id: str) -> FlowHead:
        """The flow's head if it exists and is usable (not half created or deleted)."""
        if not is_flow_id(flow_id):  # e.g. 3 KB of path: not worth a DynamoDB error
            raise FlowNotFound(flow_id[:64])
        head = self.store.get_head(flow_id)
        if head is None or head.state != "active":
            raise FlowNotFound(flow_id)
        return head

    def get(self, flow_id: str) -> FlowResource:
        head = self.head(flow_id)
        version = self._version(head)
        return self._resource(head, version, Flow.model_validate_json(version.document))

    def definition(self, flow_id: str) -> FlowDefinition:
        """What the current version runs, as Step Functions has it."""
        head = self.head(flow_id)
        version = self._version(head)
        definition = self.engine.definition(version.state_machine_version_arn or "")
        if definition is None:  # deleted behind our back (the console, CloudFormation)
            raise FlowNotFound(flow_id)
        return FlowDefinition(
            flow_id=flow_id,
            version=version.version,
            definition=definition,
            state_machine_arn=head.state_machine_arn or "",
            state_machine_version_arn=version.state_machine_version_arn or "",
            console_url=self.engine.console_url(head.state_machine_arn or ""),
        )

    def list(self, limit: int, token: str | None) -> FlowPage:
        start = self.tokens.decode("flows", token, _PAGE_FIELDS) if token is not None else None
        if start is not None and start["gsi1pk"] != "FLOWS":
            raise InvalidPageToken()
        try:
            heads, position = self.store.list_heads(limit, start)
        except ConditionFailed:
            raise InvalidPageToken() from None
        return FlowPage(
            flows=[_summary(h) for h in heads],
            next_token=self.tokens.encode("flows", position) if position else None,
        )

    def _version(self, head: FlowHead) -> FlowVersion:
        version = self.store.get_version(head.flow_id, head.current_version)
        if version is None:  # the head is only made active together with its version
            raise FlowNotFound(head.flow_id)
        return version

    # ---- update ----------------------------------------------------------------------

    def update(
        self, flow_id: str, document: object, if_match: str | None, strict: bool = False
    ) -> Saved:
        """Publish `document` as the next version; `if_match` names the version it
        replaces ("*": whatever is current). `created` is False when nothing changed.
        `strict` refuses a flow with warnings; otherwise the answer lists them."""
        head = self.head(flow_id)
        expected = parse_if_match(if_match, flow_id, head.current_version)
        checked = check_flow(document, self.catalog, strict=strict)
        flow = checked.flow
        if flow.id is not None and flow.id != flow_id:
            raise InvalidFlow(
                [Problem("flow.id", f"'{flow.id}' is not the flow being updated ('{flow_id}')")]
            )
        if flow.type != head.flow_type:
            raise InvalidFlow(
                [
                    Problem(
                        "flow.type",
                        f"a flow's type cannot change ({head.flow_type} → {flow.type}): "
                        "create a new flow instead",
                    )
                ]
            )
        saved = self._update(head, flow.model_copy(update={"id": flow_id}), expected)
        return _warned(saved, checked.warnings)

    def _update(self, head: FlowHead, flow: Flow, expected: int) -> Saved:
        flow_id = head.flow_id
        digest = content_hash(flow)
        if expected != head.current_version:
            if expected == head.current_version - 1 and head.content_hash == digest:
                return Saved(self.get(flow_id), created=False)  # a retried update that won
            raise VersionConflict(flow_id, expected, head.current_version)
        if head.content_hash == digest:
            return Saved(self.get(flow_id), created=False)  # nothing to change
        number = expected + 1
        compiled = compile_flow(flow, self.catalog, flow_id=flow_id, version=number)
        now = self.clock()
        version = FlowVersion(
            flow_id=flow_id,
            version=number,
            status="pending",
            content_hash=digest,
            document=canonical_json(flow),
            created_at=_stamp(now),
            lease_until=_epoch(now) + self.settings.pending_lease_seconds,
        )
        try:
            self.store.begin_update(flow_id, expected, version, _epoch(now))
        except ConditionFailed:
            raise self._conflict(flow_id, expected) from None
        version_arn = self.engine.publish(
            flow_id, compiled.json, flow.type, _describe(number, digest), first=False
        )
        version = replace(version, state_machine_version_arn=version_arn)
        updated = replace(
            head,
            name=flow.name,
            updated_at=_stamp(now),
            current_version=number,
            current_version_arn=version_arn,
            content_hash=digest,
        )
        try:
            self.store.publish(updated, expected, version)
        except ConditionFailed:
            current = self.store.get_head(flow_id)
            if (
                current is None
                or current.current_version != number
                or current.content_hash != digest
            ):
                raise self._conflict(flow_id, expected) from None
        return Saved(self._resource(updated, version, flow), created=True)

    def _conflict(self, flow_id: str, expected: int) -> Exception:
        """Why the write of version `expected + 1` did not happen, decided the same way for
        every loser of a race. The version comes first: a head past `expected` is a stale
        If-Match (412), whatever else is under way. A head still at `expected` means
        another update holds the next version under its lease: wait for it to settle
        (it commits within a moment, or its request died), so losers get 412 once the
        winner is current, not 412 or 409 by timing; 409 FlowBusy only if the If-Match
        version is still current after `settle_seconds`."""
        deadline = time.monotonic() + self.settle_seconds
        while True:
            current = self.store.get_head(flow_id)
            if current is None or current.state != "active":
                return FlowNotFound(flow_id)
            if current.current_version != expected:
                return VersionConflict(flow_id, expected, current.current_version)
            if time.monotonic() >= deadline:
                return FlowBusy(
                    f"another update of flow '{flow_id}' is in progress: retry in a moment"
                )
            self._pause()

    def _pause(self) -> None:
        time.sleep(SETTLE_POLL_SECONDS)

    # ---- inline flows (the seeds' run routes) -----------------------------------------

    def ensure(self, document: object, strict: bool = False) -> Saved:
        """The flow of `document`, stored: created when new, reused when identical, a new
        version when its id exists with another definition. A flow without an id is
        named after its content, so posting the same flow twice reuses it."""
        checked = check_flow(document, self.catalog, strict=strict)
        return _warned(self._ensure(checked.flow), checked.warnings)

    def _ensure(self, flow: Flow) -> Saved:
        flow_id = flow.id or content_id(flow)
        flow = flow.model_copy(update={"id": flow_id})
        head = self.store.get_head(flow_id)
        if head is None or head.state == "pending":
            return self._create(flow)
        if head.state != "active":
            raise FlowBusy(f"flow '{flow_id}' is being deleted")
        if head.content_hash == content_hash(flow):
            return Saved(self.get(flow_id), created=False)
        if flow.type != head.flow_type:
            raise InvalidFlow(
                [Problem("flow.type", f"flow '{flow_id}' is {head.flow_type}: use another id")]
            )
        return self._update(head, flow, head.current_version)

    # ---- delete ----------------------------------------------------------------------

    def delete(self, flow_id: str, force: bool) -> None:
        """Delete the flow, its versions, its state machine and its execution index.

        Refused while executions run unless `force` (which stops them). The head is
        marked deleting first, so the flow disappears at once and a retry resumes.
        """
        head = self.store.get_head(flow_id) if is_flow_id(flow_id) else None
        if head is None or head.state == "pending":
            raise FlowNotFound(flow_id[:64])
        state_machine_arn = head.state_machine_arn or self.engine.state_machine_arn(flow_id)
        if head.state == "active":
            if not force:
                running = _first(self.engine.running(state_machine_arn), 10)
                if running:
                    raise FlowBusy(
                        f"flow '{flow_id}' has running executions: stop them, or delete "
                        "with ?force=true to stop them and delete",
                        [{"running_executions": [arn.rsplit(":", 1)[-1] for arn in running]}],
                    )
            try:
                self.store.mark_deleting(flow_id)
            except ConditionFailed:
                raise FlowNotFound(flow_id) from None
        if force:
            for arn in list(self.engine.running(state_machine_arn)):
                self.engine.stop(arn, f"flow '{flow_id}' was deleted")
        self._delete_schedules(flow_id)
        self.engine.delete_state_machine(state_machine_arn)
        self.store.delete_flow_items(flow_id)

    def _delete_schedules(self, flow_id: str) -> None:
        """Its schedules would start a machine that is gone: delete them first."""
        from flow_manager.executions import Executions  # flows is imported by it
        from flow_manager.schedules import Schedules

        Schedules(Executions(self)).delete_all(flow_id)

    # ---- shaping ---------------------------------------------------------------------

    def _resource(self, head: FlowHead, version: FlowVersion, flow: Flow) -> FlowResource:
        arn = head.state_machine_arn or self.engine.state_machine_arn(head.flow_id)
        return FlowResource(
            flow_id=head.flow_id,
            id=head.flow_id,
            name=flow.name,
            version=version.version,
            created_at=head.created_at,
            updated_at=head.updated_at,
            tasks=[t.name for t in flow.tasks],
            flow=flow,
            state_machine_arn=arn,
            state_machine_version_arn=version.state_machine_version_arn or "",
            console_url=self.engine.console_url(arn),
        )


# ---- helpers of this module ------------------------------------------------------------


def is_flow_id(text: str) -> bool:
    return re.fullmatch(FLOW_ID_PATTERN, text) is not None


def canonical_json(flow: Flow) -> str:
    """The same flow always serialises to the same text (hashes and stored documents)."""
    return json.dumps(
        flow.model_dump(mode="json", exclude_none=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def content_hash(flow: Flow) -> str:
    return hashlib.sha256(canonical_json(flow).encode()).hexdigest()


def content_id(flow: Flow) -> str:
    """A deterministic id for a flow that has none: the same definition, the same id."""
    anonymous = flow.model_copy(update={"id": None})
    return GENERATED_ID_PREFIX + content_hash(anonymous)[:20]


# An entity-tag (RFC 9110 §8.8.3) as this API issues them, "3", optionally weak; a bare 3
# is taken too. ASCII only: str.isdigit and int() also take "¹" or "٣".
_TAG = r'(W/)?"([0-9]{1,9})"|([0-9]{1,9})'
_TAGS = rf"[ \t]*(?:{_TAG})(?:[ \t]*,[ \t]*(?:{_TAG}))*[ \t]*"
_TAG_LIST = re.compile(_TAGS, re.ASCII)
# The same grammar for the OpenAPI document (ECMA regex, anchored): what parses, or *.
IF_MATCH_PATTERN = (
    rf"^(?:[ \t]*\*[ \t]*|{_TAGS.replace('(W/)', '(?:W/)').replace('([0-9]', '(?:[0-9]')})$"
)
_TAG_ITEM = re.compile(_TAG, re.ASCII)


def parse_if_match(if_match: str | None, flow_id: str, current: int) -> int:
    """The version an update replaces, from `If-Match`: `*` (whatever is current), an
    ETag `"3"` or a list of them (`"2", "3"`: the current one if listed), or a bare `3`.
    Absent is refused (428): an update that does not say what it replaces could
    silently undo someone else's. If-Match compares strongly (RFC 9110 §13.1.1), so a
    weak tag `W/"3"` matches no version (412); anything else is a bad request (400)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "updating a flow needs If-Match with the version you read (its ETag, e.g. "
            '"3"), or If-Match: * to replace whatever is current'
        )
    if if_match.strip() == "*":
        return current
    if _TAG_LIST.fullmatch(if_match) is None:
        shown = ascii(if_match[:40])
        raise InvalidRequest(
            f'If-Match must be the ETag of a flow version such as "3", a list of them, or *; '
            f"got {shown}",
            [Problem("header.If-Match", "not an entity-tag of this API")],
        )
    strong: list[int] = []
    for weak, quoted, bare in _TAG_ITEM.findall(if_match):
        if not weak:
            strong.append(int(quoted or bare))
    if not strong:
        raise VersionConflict(
            flow_id,
            None,
            current,
            f"If-Match {if_match.strip()} is a weak entity-tag, which never matches "
            f'(RFC 9110 §13.1.1): send the ETag as GET returns it, e.g. "{current}"',
        )
    return current if current in strong else max(strong)


def _warned(saved: Saved, warnings: Iterable[Problem]) -> Saved:
    """`saved` with the warnings its flow was accepted with (a repeated create too)."""
    listed = _problems(list(warnings))
    if not listed:
        return saved
    return replace(saved, flow=saved.flow.model_copy(update={"warnings": listed}))


def _problems(problems: list[Problem]) -> list[ProblemBody]:
    return [ProblemBody(location=p.location, message=p.message) for p in problems]


def _summary(head: FlowHead) -> FlowSummary:
    return FlowSummary(
        flow_id=head.flow_id,
        name=head.name,
        version=head.current_version,
        created_at=head.created_at,
        updated_at=head.updated_at,
    )


def _stamp(now: datetime) -> str:
    from flow_manager.reports import iso  # reports is for executions: not at import

    return iso(now) or ""


def _epoch(now: datetime) -> int:
    return int(now.timestamp())


def _describe(version: int, digest: str) -> str:
    return f"Flow Manager version {version} ({digest[:12]})"


def _first(items: Iterable[str], count: int) -> list[str]:
    found: list[str] = []
    for item in items:
        found.append(item)
        if len(found) >= count:
            break
    return found


def etag(version: int) -> str:
    return f'"{version}"'
