"""Task kind `process_data` (aliases `task2`, `transform`): validate and transform records.

Input: the records of the upstream task, i.e. `data.records` of
`parameters.source_task` when given, else of the most recent task that succeeded
with records (normally fetch_data).

A record is valid when it is an object whose `value` is a number at least
`parameters.min_value` (when given). Each valid record is kept with two fields added:
`scaled_value` (value x `parameters.multiplier`, default 1, rounded to 6 places) and
`checksum` (16 hex digits of the SHA-256 of the original record as canonical JSON).
Invalid records are listed in `rejected` with the reason. The work is a pure
function of the input: same records, same answer.

Returns `{"source_task", "count", "rejected_count", "rejected", "summary", "records"}`
where summary has count_in, total, mean, min and max of scaled_value, and the count
per `category`. Fails when there is nothing to process or no record is valid (the
data then holds the rejections).

Demo parameters (also accepted as `context.demo.<task name>`), see
functions/tasks/README.md: `fail`, `raise`, `fail_attempts`, `sleep_seconds`; and seed
001's `failure_rate` (0..1).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeGuard

from flow_manager.demo_switches import apply_demo_parameters, apply_failure_rate
from flow_manager.task_kinds import ProcessDataParameters
from flow_manager.tasks import TaskFailure, TaskInput, task_handler

# Its parameters as GET /tasks shows them (flow_manager.task_kinds).
PARAMETERS = ProcessDataParameters


@task_handler
def lambda_handler(task: TaskInput) -> dict[str, Any]:
    apply_demo_parameters(task)
    apply_failure_rate(task)
    params = task.parameters
    source_task, records = task.upstream("records", params.get("source_task"))
    if not isinstance(records, list):
        raise TaskFailure(f"data.records of {source_task} is not a list")
    if not records:
        raise TaskFailure(f"{source_task} returned no records to process")
    multiplier = _number(params.get("multiplier", 1), "multiplier")
    min_value = params.get("min_value")
    if min_value is not None:
        min_value = _number(min_value, "min_value")
    kept, rejected = transform(records, multiplier, min_value)
    data = {
        "source_task": source_task,
        "count": len(kept),
        "rejected_count": len(rejected),
        "rejected": rejected,
        "summary": summarise(kept, len(records)),
        "records": kept,
    }
    if not kept:
        raise TaskFailure(f"none of the {len(records)} records of {source_task} is valid", data)
    return data


def transform(
    records: list[Any], multiplier: float, min_value: float | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        reason = _problem(record, min_value)
        if reason is not None:
            record_id = record.get("id") if isinstance(record, dict) else None
            rejected.append({"index": index, "id": record_id, "reason": reason})
            continue
        kept.append(
            {
                **record,
                "scaled_value": round(record["value"] * multiplier, 6),
                "checksum": _checksum(record),
            }
        )
    return kept, rejected


def summarise(records: list[dict[str, Any]], count_in: int) -> dict[str, Any]:
    values = [r["scaled_value"] for r in records]
    categories: dict[str, int] = {}
    for record in records:
        category = record.get("category")
        if isinstance(category, str):
            categories[category] = categories.get(category, 0) + 1
    return {
        "count_in": count_in,
        "total": round(sum(values), 6),
        "mean": round(sum(values) / len(values), 6) if values else None,
        "min": min(values, default=None),
        "max": max(values, default=None),
        "by_category": dict(sorted(categories.items())),
    }


def _problem(record: Any, min_value: float | None) -> str | None:
    if not isinstance(record, dict):
        return "not an object"
    value = record.get("value")
    if not _is_number(value):
        return "value is not a number"
    if min_value is not None and value < min_value:
        return f"value {value} is below min_value {min_value}"
    return None


def _checksum(record: dict[str, Any]) -> str:
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _number(value: Any, name: str) -> float:
    if not _is_number(value):
        raise TaskFailure(f"{name} must be a number, got {value!r}")
    return float(value)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
