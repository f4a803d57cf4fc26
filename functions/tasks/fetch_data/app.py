"""Task kind `fetch_data` (aliases `task1`, `extract`): the records a flow works on.

Where the records come from, first match wins:

1. `parameters.records`: a list given in the flow definition;
2. `context.records`: a list given when the execution starts;
3. `parameters.url`: an http(s) GET answering JSON, either a list or an object
   holding the list under `records`, `items`, `data` or `results`. Only the flow's
   own parameters turn on a network fetch: a context's `source_url` (seed 000's
   example) is recorded as the records' source, not fetched, so the seeds' payloads
   run anywhere, offline included;
4. otherwise a generated sample: `count` records (parameters.count, else
   context.count, default 10, at most 1000) derived from `batch_id` (context.batch_id,
   else parameters.batch_id, default "sample"). The same batch_id always gives the
   same records, so flows run offline and tests need no network.

Other parameters: `timeout_seconds` (the GET's, default 10), `limit` (keep the first
N records). Records that are not JSON objects are wrapped as `{"value": <item>}`.

Returns `{"source", "count", "records"}` (plus `url` or `batch_id`). Fails (status
"failure") when the records are not a list, there are more than 1000 (set `limit`),
or the URL answers 4xx or something that is not JSON records. Raises
`SourceUnavailable` when the URL cannot be reached or answers 5xx, so the task's
`retry` policy applies.

Demo parameters (also accepted as `context.demo.<task name>`), see
functions/tasks/README.md: `fail`, `raise`, `fail_attempts`, `sleep_seconds`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flow_manager.tasks import TaskFailure, TaskInput, apply_demo_parameters, task_handler

DEFAULT_COUNT = 10
MAX_RECORDS = 1000
DEFAULT_BATCH_ID = "sample"
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_TIMEOUT_SECONDS = 25.0
MAX_RESPONSE_BYTES = 1_000_000
CATEGORIES = ("alpha", "beta", "gamma")
LIST_KEYS = ("records", "items", "data", "results")


class SourceUnavailable(Exception):
    """The URL could not be read now (network, timeout, 5xx): worth retrying."""


@task_handler
def lambda_handler(task: TaskInput) -> dict[str, Any]:
    apply_demo_parameters(task)
    params = task.parameters
    if "records" in params:
        return _answer("parameters", _records(params["records"], "parameters.records"), params)
    if task.context_value("records") is not None:
        records = _records(task.context_value("records"), "context.records")
        return _answer("context", records, params)
    url = params.get("url")
    if url is not None:
        records = _records(_get_json_records(url, params), "the URL's records")
        return {**_answer("url", records, params), "url": url}
    batch_id = str(task.context_value("batch_id") or params.get("batch_id") or DEFAULT_BATCH_ID)
    count = _count(params.get("count", task.context_value("count", DEFAULT_COUNT)))
    answer = {**_answer("generated", generate(batch_id, count), params), "batch_id": batch_id}
    source_url = task.context_value("source_url")
    return answer if source_url is None else {**answer, "source_url": source_url}


def generate(batch_id: str, count: int) -> list[dict[str, Any]]:
    """`count` sample records, a pure function of (batch_id, position)."""
    records = []
    for index in range(count):
        digest = hashlib.sha256(f"{batch_id}:{index}".encode()).digest()
        records.append(
            {
                "id": f"{batch_id}-{index + 1:04d}",
                "batch_id": batch_id,
                "index": index,
                "category": CATEGORIES[digest[4] % len(CATEGORIES)],
                "value": int.from_bytes(digest[:4], "big") % 10_000 / 10,
            }
        )
    return records


def _answer(source: str, records: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("limit")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise TaskFailure(f"limit must be a whole number >= 0, got {limit!r}")
        records = records[:limit]
    if len(records) > MAX_RECORDS:
        raise TaskFailure(
            f"{len(records)} records; a task passes at most {MAX_RECORDS} along "
            "(set parameters.limit, or store them elsewhere and pass where)"
        )
    return {"source": source, "count": len(records), "records": records}


def _records(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise TaskFailure(f"{where} must be a list of records, got {type(value).__name__}")
    return [item if isinstance(item, dict) else {"value": item} for item in value]


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_RECORDS:
        raise TaskFailure(f"count must be a whole number from 0 to {MAX_RECORDS}, got {value!r}")
    return value


def _get_json_records(url: Any, params: dict[str, Any]) -> Any:
    """GET `url` and return its list of records; urllib is imported only when used."""
    from urllib.error import HTTPError, URLError
    from urllib.parse import urlsplit
    from urllib.request import Request, urlopen

    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise TaskFailure(f"the URL must be an http(s) URL, got {url!r}")
    timeout = params.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise TaskFailure(
            f"timeout_seconds must be a number from 0 to {MAX_TIMEOUT_SECONDS:g}, got {timeout!r}"
        )
    request = Request(
        url, headers={"Accept": "application/json", "User-Agent": "flow-manager-fetch-data/1"}
    )
    try:
        with urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except HTTPError as exc:
        if exc.code >= 500:
            raise SourceUnavailable(f"GET {url} answered {exc.code} {exc.reason}") from None
        raise TaskFailure(f"GET {url} answered {exc.code} {exc.reason}") from None
    except (URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnavailable(f"GET {url} failed: {reason}") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise TaskFailure(f"GET {url} answered more than {MAX_RESPONSE_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise TaskFailure(f"GET {url} did not answer JSON") from None
    if isinstance(document, dict):
        for key in LIST_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
        raise TaskFailure(
            f"GET {url} answered an object without a list under {', '.join(LIST_KEYS)}"
        )
    return document
