"""Task kind `store_data` (aliases `task3`, `load`): write records to DynamoDB.

Input: `parameters.records` when the flow gives them (e.g. a fallback record on a
recovery branch), else the records of the upstream task, i.e. `data.records` of
`parameters.source_task` when given, else of the most recent task that succeeded
with records (normally process_data).

Each record becomes one item of the table named by the environment variable
DATA_TABLE (template.yaml's DataTable):

    pk = "EXEC#<execution id>"   sk = "REC#<record id>"   (id: the record's `id`,
    record = the record          flow_id, flow_version, task   else its position)

Writing is idempotent: a retried attempt of the same execution writes the same keys,
so nothing is duplicated. Records with the same id are stored once (the last wins).
With `parameters.dry_run: true` nothing is written.

Returns `{"table", "pk", "count", "keys", "duplicates", "dry_run"}` with `keys` the
sort keys written. Fails when there are no records or DynamoDB rejects a record
(e.g. over 400 KB); raises on throttling or service errors so `retry` applies,
and when DATA_TABLE is not set (a deployment error).

Demo parameters (also accepted as `context.demo.<task name>`), see
functions/tasks/README.md: `fail`, `raise`, `fail_attempts`, `sleep_seconds`; and seed
001's `failure_rate` (0..1).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from functools import cache
from typing import Any

from flow_manager.demo_switches import apply_demo_parameters, apply_failure_rate
from flow_manager.snapstart import before_snapshot
from flow_manager.task_kinds import StoreDataParameters
from flow_manager.tasks import TaskFailure, TaskInput, task_handler

TABLE_VARIABLE = "DATA_TABLE"


# Its parameters as GET /tasks shows them (flow_manager.task_kinds).
PARAMETERS = StoreDataParameters


@task_handler
def lambda_handler(task: TaskInput) -> dict[str, Any]:
    apply_demo_parameters(task)
    apply_failure_rate(task)
    params = task.parameters
    if "records" in params:
        source_task, records = "parameters", params["records"]
    else:
        source_task, records = task.upstream("records", params.get("source_task"))
    if not isinstance(records, list):
        raise TaskFailure(f"data.records of {source_task} is not a list")
    if not records:
        raise TaskFailure(f"{source_task} returned no records to store")
    dry_run = params.get("dry_run") is True
    table_name = os.environ.get(TABLE_VARIABLE, "")
    if not table_name and not dry_run:
        raise RuntimeError(f"{TABLE_VARIABLE} is not set: the function is misconfigured")
    pk = f"EXEC#{task.execution_id}"
    items = items_for(task, pk, records)
    if not dry_run:
        write(table_name, list(items.values()))
    return {
        "table": table_name or None,
        "pk": pk,
        "count": len(items),
        "keys": list(items),
        "duplicates": len(records) - len(items),
        "dry_run": dry_run,
        "source_task": source_task,
    }


def items_for(task: TaskInput, pk: str, records: list[Any]) -> dict[str, dict[str, Any]]:
    """sort key → item, in the records' order; a repeated id keeps the last record."""
    items: dict[str, dict[str, Any]] = {}
    for index, record in enumerate(records):
        record_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(record_id, str | int) or isinstance(record_id, bool):
            record_id = f"{index:06d}"
        sk = f"REC#{record_id}"
        items.pop(sk, None)  # keep the order of the last occurrence
        items[sk] = {
            "pk": pk,
            "sk": sk,
            "flow_id": task.flow_id,
            "flow_version": task.flow_version,
            "task": task.task,
            # DynamoDB numbers are Decimals; JSON round trip turns floats into them.
            "record": json.loads(json.dumps(record), parse_float=Decimal),
        }
    return items


def write(table_name: str, items: list[dict[str, Any]]) -> None:
    """BatchWriteItem, 25 at a time, unprocessed items retried by boto3's batch writer."""
    try:
        with _table(table_name).batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for item in items:
                batch.put_item(Item=item)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code == "ValidationException":
            raise TaskFailure(f"DynamoDB rejected a record: {exc}") from None
        raise


@cache
def _table(name: str) -> Any:
    """The table's boto3 resource, made on first use (boto3 costs ~150 ms to import)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10
    )
    return boto3.resource("dynamodb", config=config).Table(name)


def _make_table() -> None:
    """The table's resource, made before a SnapStart snapshot (flow_manager/snapstart.py)."""
    name = os.environ.get(TABLE_VARIABLE)
    if name:
        _table(name)


before_snapshot(_make_table)
