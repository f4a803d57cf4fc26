"""FlowsTable (DESIGN §8): flow heads, immutable versions, the execution index.

    FLOW#<id> / FLOW       head: state, current version (and its state machine version
                           ARN), incarnation; gsi1 (FLOWS / <id>) only while active,
                           so lists never show a flow half created or half deleted
    FLOW#<id> / V#000001   one version: the flow document (zlib), its state machine
                           version ARN; "pending" until published, then immutable.
                           The ASL is not kept here: Step Functions has it (the
                           version ARN), and that is what runs
    EXEC#<id> / EXEC       execution id → ARN, flow, version, idempotency key;
                           gsi1 (EXECS#<flow id> / <created>#<id>) lists a flow's ids
    EXEC#<id> / REPORT     a finished execution's report, stored once (zlib, or the
                           key of its object in the ResultsBucket) with the version
                           of its schema (stored_reports.py); read with the EXEC
                           item in one query

Pending items also carry `expires_at` (the table's TTL attribute), a day past their
lease: DynamoDB deletes what a request abandoned (a Lambda killed mid-create) once
no request can still be working on it. Publishing removes it.

Every write is conditional, so two requests can never both win; the condition that
failed comes back as `ConditionFailed` and the caller decides what it means. The
DynamoDB client is created on first use: GET /health must not pay for boto3.
"""

from __future__ import annotations

import contextlib
import random
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from flow_manager.aws import client, is_client_error, raise_if_unavailable
from flow_manager.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        TransactWriteItemTypeDef,
    )

Item = dict[str, "AttributeValueTypeDef"]
FlowState = Literal["pending", "active", "deleting"]
VersionStatus = Literal["pending", "published"]

FLOWS_INDEX = "gsi1"
FLOWS_PARTITION = "FLOWS"
HEAD_SK = "FLOW"
EXEC_SK = "EXEC"
REPORT_SK = "REPORT"
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
# DynamoDB hands back what it could not do in a batch under load: retry only that, with
# exponential backoff and full jitter (AWS's advice), a bounded number of times. The
# sleeps add up to at most 0.05 + 0.1 + 0.2 + 0.4 = 0.75 s: well inside a request.
BATCH_ATTEMPTS = 5
BATCH_BACKOFF_BASE_SECONDS = 0.05
BATCH_BACKOFF_CAP_SECONDS = 1.0
TTL_ATTRIBUTE = "expires_at"  # template.yaml: FlowsTable TimeToLiveSpecification
PENDING_TTL_SECONDS = 24 * 3600  # after the lease: far longer than any request lives


class ConditionFailed(Exception):
    """A conditional write did not happen because the item was not as expected."""


def flow_pk(flow_id: str) -> str:
    return f"FLOW#{flow_id}"


def version_sk(version: int) -> str:
    return f"V#{version:06d}"


def exec_pk(execution_id: str) -> str:
    return f"EXEC#{execution_id}"


def executions_partition(flow_id: str) -> str:
    return f"EXECS#{flow_id}"


@dataclass(frozen=True)
class FlowHead:
    flow_id: str
    name: str
    state: FlowState
    incarnation: str  # new for every creation: an idempotency key never outlives its flow
    current_version: int  # 0 until the first version is published
    created_at: str
    updated_at: str
    flow_type: str = "STANDARD"
    state_machine_arn: str | None = None
    current_version_arn: str | None = None  # the state machine version executions start on
    lease_until: int = 0  # while pending: when another creation may take over
    content_hash: str | None = None  # of the current version, or of the one being created


@dataclass(frozen=True)
class FlowVersion:
    flow_id: str
    version: int
    status: VersionStatus
    content_hash: str
    document: str  # the flow, canonical JSON (stored compressed)
    created_at: str
    lease_until: int = 0  # while pending: when another update may take over
    state_machine_version_arn: str | None = None


@dataclass(frozen=True)
class ExecutionRecord:
    execution_id: str  # also the Step Functions execution name
    flow_id: str
    flow_version: int
    execution_arn: str
    state_machine_arn: str
    state_machine_version_arn: str
    request_hash: str  # what was asked, to tell a retry from a reused Idempotency-Key
    created_at: str
    idempotency_key: str | None = None
    retry_of: str | None = None  # the execution this one retries
    retries: tuple[str, ...] = ()  # executions that retry this one, oldest first
    # A prepared execution (seed 001's POST /flow/create): indexed with the input it
    # will start with, not started. Step Functions refuses a second execution of the
    # same name, so starting it twice cannot happen, whoever asks.
    prepared_input: str | None = None


class FlowStore:
    def __init__(
        self,
        table: str,
        region: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.table = table
        self.region = region
        self.sleep = sleep
        self.jitter = jitter  # uniform in [0, 1)

    @cached_property
    def _db(self) -> DynamoDBClient:
        db: DynamoDBClient = client("dynamodb", self.region)
        return db

    # ---- flows -----------------------------------------------------------------------

    def get_head(self, flow_id: str) -> FlowHead | None:
        item = self._get(flow_pk(flow_id), HEAD_SK)
        return None if item is None else _head(item)

    def get_version(self, flow_id: str, version: int) -> FlowVersion | None:
        item = self._get(flow_pk(flow_id), version_sk(version))
        return None if item is None else _version(item)

    def begin_create(self, head: FlowHead, version: FlowVersion, now: int) -> None:
        """Write a pending head and its pending first version, unless the id is taken.

        A pending head that is ours (same content) or whose lease ran out may be taken
        over: nothing was published under it, so nothing else refers to it.
        """
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _head_item(head),
                        "ConditionExpression": "attribute_not_exists(pk) OR "
                        "(#state = :pending AND (lease_until < :now OR content_hash = :hash))",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {
                            ":pending": _s("pending"),
                            ":now": _n(now),
                            ":hash": _s(head.content_hash or ""),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _version_item(version),
                        "ConditionExpression": "attribute_not_exists(pk) OR #status = :pending",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":pending": _s("pending")},
                    }
                },
            ]
        )

    def begin_update(self, flow_id: str, expected: int, version: FlowVersion, now: int) -> None:
        """Write a pending version `expected + 1` while the head is still at `expected`."""
        self._transact(
            [
                {
                    "ConditionCheck": {
                        "TableName": self.table,
                        "Key": _key(flow_pk(flow_id), HEAD_SK),
                        "ConditionExpression": "#state = :active AND current_version = :expected",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {
                            ":active": _s("active"),
                            ":expected": _n(expected),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _version_item(version),
                        "ConditionExpression": "attribute_not_exists(pk) OR "
                        "(#status = :pending AND (lease_until < :now OR content_hash = :hash))",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":pending": _s("pending"),
                            ":now": _n(now),
                            ":hash": _s(version.content_hash),
                        },
                    }
                },
            ]
        )

    def publish(self, head: FlowHead, expected: int, version: FlowVersion) -> None:
        """Make `version` current: the head moves from `expected` to it, atomically.

        `expected` 0 means the head is still pending (a creation); it must be the same
        creation (`incarnation`), not one that took over after our lease ran out.
        """
        if version.state_machine_version_arn is None:
            raise ValueError("publish needs the state machine version ARN")
        values: dict[str, AttributeValueTypeDef] = {
            ":active": _s("active"),
            ":version": _n(version.version),
            ":name": _s(head.name),
            ":updated": _s(head.updated_at),
            ":sm": _s(head.state_machine_arn or ""),
            ":version_arn": _s(version.state_machine_version_arn),
            ":type": _s(head.flow_type),
            ":gsi1pk": _s(FLOWS_PARTITION),
            ":gsi1sk": _s(head.flow_id),
            ":hash": _s(version.content_hash),
        }
        if expected == 0:
            condition = "#state = :pending AND incarnation = :incarnation"
            values[":pending"] = _s("pending")
            values[":incarnation"] = _s(head.incarnation)
        else:
            condition = "#state = :active AND current_version = :expected"
            values[":expected"] = _n(expected)
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(flow_pk(head.flow_id), HEAD_SK),
                        "UpdateExpression": "SET #state = :active, current_version = :version, "
                        "#name = :name, updated_at = :updated, state_machine_arn = :sm, "
                        "current_version_arn = :version_arn, flow_type = :type, "
                        "gsi1pk = :gsi1pk, gsi1sk = :gsi1sk, content_hash = :hash "
                        "REMOVE lease_until, expires_at",
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#state": "state", "#name": "name"},
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(flow_pk(head.flow_id), version_sk(version.version)),
                        "UpdateExpression": "SET #status = :published, "
                        "state_machine_version_arn = :version_arn "
                        "REMOVE lease_until, expires_at",
                        "ConditionExpression": "#status = :pending AND content_hash = :hash",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":published": _s("published"),
                            ":pending": _s("pending"),
                            ":hash": _s(version.content_hash),
                            ":version_arn": _s(version.state_machine_version_arn),
                        },
                    }
                },
            ]
        )

    def mark_deleting(self, flow_id: str) -> None:
        """Hide the flow from reads and lists before its resources go (a retry resumes)."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key=_key(flow_pk(flow_id), HEAD_SK),
                UpdateExpression="SET #state = :deleting REMOVE gsi1pk, gsi1sk",
                ConditionExpression="#state IN (:active, :deleting)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":deleting": _s("deleting"),
                    ":active": _s("active"),
                },
            )
        except Exception as exc:
            _raise_condition_failed(exc)
            raise

    def delete_flow_items(self, flow_id: str) -> None:
        """Delete the versions and the execution index of a flow, then its head."""
        keys = [
            (flow_pk(flow_id), sk)
            for sk in self._query_sort_keys(flow_pk(flow_id))
            if sk != HEAD_SK
        ]
        for execution_id in self.execution_ids(flow_id):
            keys += [(exec_pk(execution_id), EXEC_SK), (exec_pk(execution_id), REPORT_SK)]
        self._delete_keys(keys)
        self._db.delete_item(TableName=self.table, Key=_key(flow_pk(flow_id), HEAD_SK))

    def list_heads(
        self, limit: int, start: Mapping[str, str] | None
    ) -> tuple[list[FlowHead], dict[str, str] | None]:
        """Active flows by id; the position to continue from, or None at the end."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": FLOWS_INDEX,
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": _s(FLOWS_PARTITION)},
            "Limit": limit,
        }
        if start is not None:
            request["ExclusiveStartKey"] = {k: _s(v) for k, v in start.items()}
        try:
            page = self._db.query(**request)
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ValidationException") and start is not None:
                raise ConditionFailed("bad start key") from exc
            raise
        last = page.get("LastEvaluatedKey")
        position = {k: v["S"] for k, v in last.items() if "S" in v} if last else None
        return [_head(item) for item in page.get("Items", [])], position

    # ---- executions ------------------------------------------------------------------

    def put_execution(self, record: ExecutionRecord) -> ExecutionRecord | None:
        """Index a new execution; return the existing record instead if the id is taken."""
        try:
            self._db.put_item(
                TableName=self.table,
                Item=_execution_item(record),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            if not is_client_error(exc, "ConditionalCheckFailedException"):
                raise
            existing = self.get_execution(record.execution_id)
            if existing is None:  # deleted in between: the id is free again
                return self.put_execution(record)
            return existing
        return None

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        item = self._get(exec_pk(execution_id), EXEC_SK)
        return None if item is None else _execution(item)

    def get_execution_and_report(
        self, execution_id: str
    ) -> tuple[ExecutionRecord | None, Item | None]:
        """The execution's record and its stored report item (None if none was stored):
        one query of the execution's partition, so a finished execution costs one read."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(exec_pk(execution_id))},
            "ConsistentRead": True,
        }
        try:
            items = {item["sk"]["S"]: item for item in self._query(request)}
        except Exception as exc:
            raise_if_unavailable(exc)
            raise
        record = items.get(EXEC_SK)
        return (None if record is None else _execution(record)), items.get(REPORT_SK)

    def put_report(self, execution_id: str, attributes: Item) -> None:
        """Store (or replace) a finished execution's report item, only while its record
        exists: a concurrent DELETE /flow/{id} or flow delete leaves nothing behind."""
        with contextlib.suppress(ConditionFailed):  # deleted meanwhile: nothing to store
            self._transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": _key(exec_pk(execution_id), EXEC_SK),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {**_key(exec_pk(execution_id), REPORT_SK), **attributes},
                        }
                    },
                ]
            )

    def get_executions(self, execution_ids: Sequence[str]) -> dict[str, ExecutionRecord]:
        found: dict[str, ExecutionRecord] = {}
        unique = list(dict.fromkeys(execution_ids))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            keys = [_key(exec_pk(e), EXEC_SK) for e in unique[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for answer in self._batches(self._db.batch_get_item, request, "UnprocessedKeys"):
                for item in answer.get("Responses", {}).get(self.table, []):
                    record = _execution(item)
                    found[record.execution_id] = record
        return found

    def add_retry(self, execution_id: str, retry_id: str) -> None:
        """List `retry_id` in the execution's `retries`, once (a repeated retry request
        finds it listed: the condition fails, and that is fine)."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key=_key(exec_pk(execution_id), EXEC_SK),
                UpdateExpression="SET retries = list_append(if_not_exists(retries, :none), :id)",
                ConditionExpression="attribute_exists(pk) AND NOT contains(retries, :one)",
                ExpressionAttributeValues={
                    ":none": {"L": []},
                    ":id": {"L": [_s(retry_id)]},
                    ":one": _s(retry_id),
                },
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            if not is_client_error(exc, "ConditionalCheckFailedException"):
                raise

    def delete_execution(self, execution_id: str) -> None:
        self._db.delete_item(TableName=self.table, Key=_key(exec_pk(execution_id), EXEC_SK))
        self._db.delete_item(TableName=self.table, Key=_key(exec_pk(execution_id), REPORT_SK))

    def execution_ids(self, flow_id: str) -> Iterator[str]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": FLOWS_INDEX,
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": _s(executions_partition(flow_id))},
            "ProjectionExpression": "execution_id",
        }
        for item in self._query(request):
            yield item["execution_id"]["S"]

    # ---- plumbing --------------------------------------------------------------------

    def _get(self, pk: str, sk: str) -> Item | None:
        try:
            answer = self._db.get_item(TableName=self.table, Key=_key(pk, sk), ConsistentRead=True)
        except Exception as exc:
            raise_if_unavailable(exc)
            raise
        return answer.get("Item")

    def _query_sort_keys(self, pk: str) -> Iterator[str]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(pk)},
            "ProjectionExpression": "sk",
            "ConsistentRead": True,
        }
        for item in self._query(request):
            yield item["sk"]["S"]

    def _query(self, request: Mapping[str, Any]) -> Iterator[Item]:
        """Every item a query matches, page after page (boto3's paginator follows the keys)."""
        for page in self._db.get_paginator("query").paginate(**request):
            yield from page.get("Items", [])

    def _delete_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(keys), BATCH_WRITE_LIMIT):
            chunk = keys[start : start + BATCH_WRITE_LIMIT]
            request: dict[str, Any] = {
                self.table: [{"DeleteRequest": {"Key": _key(pk, sk)}} for pk, sk in chunk]
            }
            for _ in self._batches(self._db.batch_write_item, request, "UnprocessedItems"):
                pass  # a write's answer holds nothing else to read

    def _batches(
        self, call: Callable[..., Any], request: dict[str, Any], unprocessed: str
    ) -> Iterator[Any]:
        """Each answer of a batch call, retrying what came back `unprocessed` with
        backoff; ServiceUnavailable (503: the client retries) if it never gets done."""
        for attempt in range(BATCH_ATTEMPTS):
            if attempt:
                ceiling = BATCH_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
                self.sleep(self.jitter() * min(ceiling, BATCH_BACKOFF_CAP_SECONDS))
            try:
                answer = call(RequestItems=request)
            except Exception as exc:
                raise_if_unavailable(exc)
                raise
            yield answer
            request = dict(answer.get(unprocessed) or {})
            if not request:
                return
        raise ServiceUnavailable(
            f"DynamoDB left part of a batch undone after {BATCH_ATTEMPTS} attempts: retry"
        )

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> None:
        try:
            self._db.transact_write_items(TransactItems=items)
        except Exception as exc:
            _raise_condition_failed(exc)
            raise


def _raise_condition_failed(exc: Exception) -> None:
    raise_if_unavailable(exc)
    if is_client_error(exc, "ConditionalCheckFailedException", "TransactionCanceledException"):
        raise ConditionFailed(str(exc)) from exc


# ---- items ---------------------------------------------------------------------------


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def _key(pk: str, sk: str) -> dict[str, AttributeValueTypeDef]:
    return {"pk": _s(pk), "sk": _s(sk)}


def _str(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "S" not in value else str(value["S"])


def _int(item: Mapping[str, Any], name: str) -> int:
    value = item.get(name)
    return 0 if value is None or "N" not in value else int(value["N"])


def _head_item(head: FlowHead) -> Item:
    item: Item = {
        **_key(flow_pk(head.flow_id), HEAD_SK),
        "flow_id": _s(head.flow_id),
        "name": _s(head.name),
        "state": _s(head.state),
        "incarnation": _s(head.incarnation),
        "current_version": _n(head.current_version),
        "created_at": _s(head.created_at),
        "updated_at": _s(head.updated_at),
        "flow_type": _s(head.flow_type),
        "lease_until": _n(head.lease_until),
    }
    if head.state_machine_arn:
        item["state_machine_arn"] = _s(head.state_machine_arn)
    if head.current_version_arn:
        item["current_version_arn"] = _s(head.current_version_arn)
    if head.content_hash:
        item["content_hash"] = _s(head.content_hash)
    if head.state == "pending":
        item[TTL_ATTRIBUTE] = _n(head.lease_until + PENDING_TTL_SECONDS)
    return item


def _head(item: Mapping[str, Any]) -> FlowHead:
    state = _str(item, "state")
    return FlowHead(
        flow_id=_str(item, "flow_id") or "",
        name=_str(item, "name") or "",
        state=state if state in ("pending", "active", "deleting") else "pending",  # type: ignore[arg-type]
        incarnation=_str(item, "incarnation") or "",
        current_version=_int(item, "current_version"),
        created_at=_str(item, "created_at") or "",
        updated_at=_str(item, "updated_at") or "",
        flow_type=_str(item, "flow_type") or "STANDARD",
        state_machine_arn=_str(item, "state_machine_arn"),
        current_version_arn=_str(item, "current_version_arn"),
        lease_until=_int(item, "lease_until"),
        content_hash=_str(item, "content_hash"),
    )


def _version_item(version: FlowVersion) -> Item:
    item: Item = {
        **_key(flow_pk(version.flow_id), version_sk(version.version)),
        "flow_id": _s(version.flow_id),
        "version": _n(version.version),
        "status": _s(version.status),
        "content_hash": _s(version.content_hash),
        # Compressed: a 256 KiB flow must fit DynamoDB's 400 KB item, and costs less.
        "document": {"B": zlib.compress(version.document.encode(), 6)},
        "created_at": _s(version.created_at),
        "lease_until": _n(version.lease_until),
    }
    if version.state_machine_version_arn:
        item["state_machine_version_arn"] = _s(version.state_machine_version_arn)
    if version.status == "pending":
        item[TTL_ATTRIBUTE] = _n(version.lease_until + PENDING_TTL_SECONDS)
    return item


def _version(item: Mapping[str, Any]) -> FlowVersion:
    return FlowVersion(
        flow_id=_str(item, "flow_id") or "",
        version=_int(item, "version"),
        status="published" if _str(item, "status") == "published" else "pending",
        content_hash=_str(item, "content_hash") or "",
        document=_document(item),
        created_at=_str(item, "created_at") or "",
        lease_until=_int(item, "lease_until"),
        state_machine_version_arn=_str(item, "state_machine_version_arn"),
    )


def _document(item: Mapping[str, Any]) -> str:
    value = item.get("document", {})
    if "B" in value:
        return zlib.decompress(value["B"]).decode()
    return str(value.get("S", "{}"))


def _execution_item(record: ExecutionRecord) -> Item:
    item: Item = {
        **_key(exec_pk(record.execution_id), EXEC_SK),
        "execution_id": _s(record.execution_id),
        "flow_id": _s(record.flow_id),
        "flow_version": _n(record.flow_version),
        "execution_arn": _s(record.execution_arn),
        "state_machine_arn": _s(record.state_machine_arn),
        "state_machine_version_arn": _s(record.state_machine_version_arn),
        "request_hash": _s(record.request_hash),
        "created_at": _s(record.created_at),
        "gsi1pk": _s(executions_partition(record.flow_id)),
        "gsi1sk": _s(f"{record.created_at}#{record.execution_id}"),
    }
    if record.idempotency_key is not None:
        item["idempotency_key"] = _s(record.idempotency_key)
    if record.retry_of is not None:
        item["retry_of"] = _s(record.retry_of)
    if record.prepared_input is not None:
        item["prepared_input"] = _s(record.prepared_input)
    return item


def _execution(item: Mapping[str, Any]) -> ExecutionRecord:
    return ExecutionRecord(
        execution_id=_str(item, "execution_id") or "",
        flow_id=_str(item, "flow_id") or "",
        flow_version=_int(item, "flow_version"),
        execution_arn=_str(item, "execution_arn") or "",
        state_machine_arn=_str(item, "state_machine_arn") or "",
        state_machine_version_arn=_str(item, "state_machine_version_arn") or "",
        request_hash=_str(item, "request_hash") or "",
        created_at=_str(item, "created_at") or "",
        idempotency_key=_str(item, "idempotency_key"),
        retry_of=_str(item, "retry_of"),
        retries=tuple(v["S"] for v in item.get("retries", {}).get("L", []) if "S" in v),
        prepared_input=_str(item, "prepared_input"),
    )
