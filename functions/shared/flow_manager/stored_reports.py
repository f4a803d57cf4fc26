"""Reports of finished executions, stored once (issue 11, item 3).

A terminal execution's report never changes: the first GET after its end builds it
from Step Functions (DescribeExecution, the history, the flow version) and stores it
in FlowsTable under the execution (`EXEC#<id> / REPORT`); every later GET reads it
with the execution's record in one query and calls Step Functions not at all. A
running execution is never stored: it keeps reading the history.

What is stored is the report as built, before `expand_offloaded`, with the offloaded
values that its first expansion read from the ResultsBucket: each later GET expands it
again from those (no S3 call) and signs fresh links (signing is local; a stored link
would expire). The record's own fields that may change after the end (`retries`: a
retry lists itself on the execution it retries) are taken from the record at every read.

The report is JSON, zlib-compressed, in a binary attribute; when that is larger than
MAX_INLINE_BYTES (a DynamoDB item holds at most 400 KB) it goes to the ResultsBucket as
one object under the execution's prefix and the item keeps its key (no bucket: it is
not stored, and GETs read the history as before). A report that cannot be read back
(its object expired with the bucket's lifecycle, a corrupt item) is built again.

The item carries SCHEMA: REPORT_SCHEMA and a fingerprint of ExecutionReport's JSON
schema, so a change of the report's model invalidates every stored report by itself.
Bump REPORT_SCHEMA when what build_report puts in a report changes without its model
changing (a new way to fill `path`, say): old reports are then built again.

Caveat: the API never redrives an execution (a retry is a new execution), so a failed
report is final; a redrive from the Step Functions console is not seen by a stored one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from functools import cache
from typing import TYPE_CHECKING, Any

from flow_manager.reports import ExecutionReport, expand_offloaded
from flow_manager.store import ExecutionRecord, FlowStore, Item

if TYPE_CHECKING:
    from flow_manager.results_store import Reference, ResultsStore

REPORT_SCHEMA = 1
MAX_INLINE_BYTES = 350 * 1024  # compressed; the rest of the item stays far below 400 KB
# Step Functions' statuses after which nothing changes (PENDING_REDRIVE may run again).
FINAL_SFN_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"})

logger = logging.getLogger(__name__)


@cache
def schema_version() -> str:
    """REPORT_SCHEMA and a fingerprint of the report model: a stored report of another
    version is not read."""
    model = json.dumps(ExecutionReport.model_json_schema(), sort_keys=True).encode()
    return f"{REPORT_SCHEMA}.{hashlib.sha256(model).hexdigest()[:16]}"


def report_key(record: ExecutionRecord) -> str:
    """The object of a report too large for its item: beside the execution's task
    results (`<flow>/<execution>/<task>/<attempt>.json` has one segment more)."""
    return f"{record.flow_id}/{record.execution_id}/report.v{REPORT_SCHEMA}.json.zz"


class _Recording:
    """The ResultsBucket, remembering every value it read for a report."""

    def __init__(self, results: ResultsStore) -> None:
        self.results = results
        self.bucket = results.bucket
        self.read: dict[str, Any] = {}

    def resolve(self, ref: Reference) -> Any:
        value = self.results.resolve(ref)
        self.read[ref.uri] = value
        return value

    def presigned_url(self, ref: Reference, expires_seconds: int) -> str:
        return self.results.presigned_url(ref, expires_seconds)


class _Replaying(_Recording):
    """The values a stored report's first expansion read, without reading them again;
    links are signed afresh (locally: no call)."""

    def __init__(self, results: ResultsStore, read: dict[str, Any]) -> None:
        super().__init__(results)
        self.read = read

    def resolve(self, ref: Reference) -> Any:
        if ref.uri in self.read:
            return self.read[ref.uri]
        return super().resolve(ref)  # one it could not read then: tried again


class StoredReports:
    def __init__(self, store: FlowStore, results: ResultsStore | None) -> None:
        self.store = store
        self.results = results

    def read(self, record: ExecutionRecord, item: Item | None) -> ExecutionReport | None:
        """The stored report of `record`'s execution, expanded, or None (none stored,
        another version, unreadable): then the caller builds it."""
        if item is None or item.get("schema", {}).get("S") != schema_version():
            return None
        try:
            if "report" in item:
                packed = bytes(item["report"]["B"])
            elif "report_key" in item and self.results is not None:
                packed = self.results.blob(item["report_key"]["S"])
            else:
                return None
            stored = json.loads(zlib.decompress(packed))
            report = ExecutionReport.model_validate(stored["report"])
            read: dict[str, Any] = stored["read"]
        except Exception:  # any unreadable report is built again
            logger.warning("stored report unreadable, building it again", exc_info=True)
            return None
        report = report.model_copy(update={"retries": list(record.retries)})
        if self.results is None:
            return report
        return expand_offloaded(report, _Replaying(self.results, read))

    def finish(
        self, record: ExecutionRecord, report: ExecutionReport, final: bool
    ) -> ExecutionReport:
        """The built report, expanded; stored first if the execution had ended."""
        if self.results is None:
            if final:
                self._save(record, report, {})
            return report
        reader = _Recording(self.results)
        expanded = expand_offloaded(report, reader)
        if final:
            self._save(record, report, reader.read)
        return expanded

    def _save(self, record: ExecutionRecord, report: ExecutionReport, read: dict[str, Any]) -> None:
        """Store a finished execution's report with the offloaded values its expansion
        read; a failure only means the next GET builds it again: logged, not raised."""
        payload = {"report": report.model_dump(mode="json"), "read": read}
        packed = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)
        attributes: dict[str, Any] = {"schema": {"S": schema_version()}}
        try:
            if len(packed) <= MAX_INLINE_BYTES:
                attributes["report"] = {"B": packed}
            elif self.results is not None:
                key = report_key(record)
                self.results.put_blob(key, packed)
                attributes["report_key"] = {"S": key}
            else:
                return  # too large for an item and no bucket: GETs read the history
            self.store.put_report(record.execution_id, attributes)
        except Exception:  # the next GET builds it again
            logger.warning("could not store a finished execution's report", exc_info=True)
