"""Large task results live in the ResultsBucket; the execution's state keeps references
(DESIGN §4.7).

Step Functions carries at most 256 KiB of state, and every task's result stays in
`$.results` until the execution ends. So the task SDK keeps a task's `data` in the state
only while it is small, and otherwise stores the whole `data` as one S3 object and puts
a *skeleton* in the state:

- `data` of at most the flow's inline size (serialised; `inline_data_bytes`: 4 KiB for
  a flow of up to 31 tasks, down to INLINE_DATA_BYTES, 256 bytes, for one of 500) stays
  as it is;
- otherwise, when `data` is an object, its scalars and short values (each at most
  INLINE_VALUE_BYTES) stay, so conditions can still test them, and every other value is
  replaced by a reference; a skeleton larger than MAX_SKELETON_BYTES (many keys) and a
  large `data` that is not an object become one reference;
- except what a later `for_each` iterates: the state machine names it in the task's
  event (`keep_inline`, JSON pointers: "" for all of `data`, "/records" for a key), and
  it stays inline up to FOR_EACH_INLINE_BYTES, because a Map state's ItemsPath reads
  the state and cannot follow a reference. A larger one is offloaded like any other
  value, and the for_each fails with an error that names the limit.

A reference is `{"$ref": "s3://<bucket>/<key>#<JSON pointer>", "bytes": <size>}`: the
pointer names the value inside the stored `data` (`#` alone: all of it), `bytes` is the
size of the value's JSON, so a reader can decide whether to fetch it. No key ends in
`.$`, so Step Functions never evaluates a reference as a path.

Keys are `<flow id>/<execution id>/<task>/<attempt>.json`: one object per task attempt,
named only from what the state machine passes (never from a client's data). A reference
is resolved only when it points into the stack's own bucket under the flow's own prefix,
so a task that echoes a client's `{"$ref": ...}` cannot make anyone read another flow's
results.

Why 256 bytes: a 500-task flow (the largest accepted) keeps 500 entries in `$.results`.
An offloaded entry is about 300 bytes (reference, status, error: null, the task's name),
so 500 tasks hold ~150 KiB and still leave the context ~100 KiB; a larger inline
threshold would not (500 x 1 KiB is 500 KiB). A smaller flow has the same budget for
fewer entries: its inline size is RESULTS_BUDGET_BYTES (500 x 256) shared by its tasks,
at most MAX_INLINE_DATA_BYTES, so no flow's results can take more of the state than a
500-task flow's may. A parallel task's branches each hand back all the results, which
the Parallel state's output holds side by side before they are merged: each task counts
once per branch of the flow's widest parallel (`translator.graph.results_copies`). A
state too full for a task's data whole keeps whole only what still fits, at least 256
bytes (the SDK sizes it), so a task never fails where a skeleton fits.
The translator names the size in each task's event (`inline_bytes`);
a for_each's item tasks keep 256 bytes, since a Map's results add up per item. Most
results then stay in the state: the sample's three (0.3-1.6 KiB) made 8 of an
execution's 18 calls to AWS (puts, the next tasks' reads, the report's). boto3 is
imported on first use only.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

INLINE_DATA_BYTES = 256  # the least a flow keeps inline: one of model.MAX_TASKS tasks
MAX_INLINE_DATA_BYTES = 4 * 1024  # the most: a flow of up to 31 tasks
RESULTS_BUDGET_BYTES = 500 * INLINE_DATA_BYTES  # model.MAX_TASKS tasks at the least
INLINE_VALUE_BYTES = 64
MAX_SKELETON_BYTES = 1024
FOR_EACH_INLINE_BYTES = 32 * 1024  # per task result, all kept values together
REF_KEY = "$ref"
SIZE_KEY = "bytes"
SCHEME = "s3://"


def json_size(value: Any) -> int:
    """Bytes of `value` as JSON, counted as Step Functions' local engine counts a state
    (Python's default separators, non-ASCII escaped): never less than the compact UTF-8
    size AWS counts, so a state that fits here fits there."""
    return len(json.dumps(value, default=str).encode())


@dataclass(frozen=True)
class Reference:
    bucket: str
    key: str
    pointer: str  # JSON pointer into the stored data ("" for the whole of it)
    size: int

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}#{self.pointer}"

    def as_json(self) -> dict[str, Any]:
        return {REF_KEY: self.uri, SIZE_KEY: self.size}


def result_key(
    flow_id: str, execution_id: str, task: str, attempt: int, index: int | None = None
) -> str:
    """One object per task attempt; a for_each item's (`index`) has its own."""
    item = "" if index is None else f"item-{index}/"
    return f"{flow_id}/{execution_id}/{task}/{item}{attempt}.json"


def flow_prefix(flow_id: str) -> str:
    return f"{flow_id}/"


def parse_reference(value: Any, bucket: str | None, prefix: str) -> Reference | None:
    """`value` as a reference this stack wrote for this flow, else None."""
    if not bucket or not isinstance(value, Mapping) or set(value) != {REF_KEY, SIZE_KEY}:
        return None
    uri, size = value[REF_KEY], value[SIZE_KEY]
    if not isinstance(uri, str) or not isinstance(size, int) or isinstance(size, bool):
        return None
    head = f"{SCHEME}{bucket}/"
    if not uri.startswith(head):
        return None
    key, _, pointer = uri[len(head) :].partition("#")
    if not key.startswith(prefix) or ".." in key.split("/"):
        return None
    return Reference(bucket, key, pointer, size)


def references(data: Any, bucket: str | None, prefix: str) -> list[tuple[str | None, Reference]]:
    """The references in a skeleton: (None, ref) when all of `data` is one, else
    (key, ref) for each top-level value that is one."""
    whole = parse_reference(data, bucket, prefix)
    if whole is not None:
        return [(None, whole)]
    if not isinstance(data, Mapping):
        return []
    found: list[tuple[str | None, Reference]] = []
    for key, value in data.items():
        ref = parse_reference(value, bucket, prefix)
        if ref is not None:
            found.append((str(key), ref))
    return found


def inline_data_bytes(task_count: int) -> int:
    """How large a task's data a flow of `task_count` tasks keeps whole in the state."""
    return _bounded(RESULTS_BUDGET_BYTES // max(1, task_count))


def _bounded(inline_bytes: int) -> int:
    """An inline size within what any flow keeps: the least, and the most."""
    return max(INLINE_DATA_BYTES, min(MAX_INLINE_DATA_BYTES, inline_bytes))


def skeleton(
    data: Any,
    bucket: str,
    key: str,
    keep: Collection[str] = (),
    inline_bytes: int = INLINE_DATA_BYTES,
) -> Any | None:
    """What the state keeps of `data` stored at `key`, or None when `data` is small
    enough to stay whole (at most `inline_bytes`, bounded to what any flow may keep).
    `keep`: JSON pointers of values a later for_each iterates."""
    size = json_size(data)
    if size <= _bounded(inline_bytes) or ("" in keep and size <= FOR_EACH_INLINE_BYTES):
        return None
    whole = Reference(bucket, key, "", size).as_json()
    if not isinstance(data, Mapping):
        return whole
    kept: dict[str, Any] = {}
    iterated: dict[str, Any] = {}  # kept for a for_each; not counted in the skeleton's size
    budget = FOR_EACH_INLINE_BYTES
    for name, value in data.items():
        value_size = json_size(value)
        pointer = pointer_to(str(name))
        if value_size <= INLINE_VALUE_BYTES:
            kept[name] = value
        elif pointer in keep and value_size <= budget:
            iterated[name] = value
            budget -= value_size
        else:
            kept[name] = Reference(bucket, key, "/" + _escape(str(name)), value_size).as_json()
    if json_size(kept) > MAX_SKELETON_BYTES:
        return whole  # too many keys: one reference (a for_each over it fails, saying why)
    return {name: iterated[name] if name in iterated else kept[name] for name in data}


def pick(document: Any, pointer: str) -> Any:
    """RFC 6901: the value at `pointer` in `document`."""
    if not pointer:
        return document
    value = document
    for part in pointer.lstrip("/").split("/"):
        token = _unescape(part)
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def pointer_to(key: str) -> str:
    """RFC 6901: the JSON pointer of a top-level `key` (as `keep_inline` names one)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _escape(token: str) -> str:
    # RFC 6901 escaping, then percent-encoding so the fragment is a valid URI part.
    return quote(pointer_to(token)[1:], safe="~")


def _unescape(token: str) -> str:
    return unquote(token).replace("~1", "/").replace("~0", "~")


class ResultsStore:
    """The ResultsBucket: write a task's data once, read it back (cached per key)."""

    def __init__(self, bucket: str, region: str | None = None) -> None:
        self.bucket = bucket
        self.region = region
        self._documents: dict[str, Any] = {}

    @property
    def _s3(self) -> S3Client:
        s3: S3Client = s3_client(self.region)
        return s3

    def put(self, key: str, data: Any) -> None:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        self._documents[key] = data

    def put_blob(self, key: str, body: bytes) -> None:
        """Bytes the API stores itself (a finished execution's compressed report)."""
        self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/octet-stream"
        )

    def blob(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def document(self, key: str) -> Any:
        if key not in self._documents:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            self._documents[key] = json.loads(body)
        return self._documents[key]

    def resolve(self, ref: Reference) -> Any:
        return pick(self.document(ref.key), ref.pointer)

    def presigned_url(self, ref: Reference, expires_seconds: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": ref.bucket, "Key": ref.key},
            ExpiresIn=expires_seconds,
        )
        return url


@cache
def s3_client(region: str | None) -> Any:
    """The process's one S3 client for the bucket (made on first use, or before a
    SnapStart snapshot: flow_manager/snapstart.py)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=10,
        signature_version="s3v4",
    )
    return boto3.client("s3", region_name=region, config=config)
