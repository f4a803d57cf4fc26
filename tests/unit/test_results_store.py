"""What of a task's data stays in the state, and which references are followed
(flow_manager/results_store.py)."""

from __future__ import annotations

from typing import Any

from flow_manager.model import MAX_TASKS
from flow_manager.results_store import (
    FOR_EACH_INLINE_BYTES,
    INLINE_DATA_BYTES,
    MAX_INLINE_DATA_BYTES,
    RESULTS_BUDGET_BYTES,
    Reference,
    inline_data_bytes,
    pick,
    references,
    result_key,
    skeleton,
)

BUCKET = "stack-resultsbucket"
KEY = result_key("flow1", "exec-1", "task1", 0)


def test_data_within_the_inline_threshold_stays_whole() -> None:
    # Given data just under the threshold
    data = {"text": "a" * (INLINE_DATA_BYTES - 20)}
    # When its skeleton is made
    # Then there is none: the data stays in the state as it is
    assert skeleton(data, BUCKET, KEY) is None


def test_data_within_a_flows_larger_inline_size_stays_whole() -> None:
    # Given data of 1 KiB, over the least inline size
    data = {"text": "a" * 1000}
    # When its skeleton is made with a small flow's inline size, and with the least
    # Then the first keeps it whole, the second offloads it
    assert skeleton(data, BUCKET, KEY, inline_bytes=inline_data_bytes(3)) is None
    assert skeleton(data, BUCKET, KEY) is not None


def test_an_inline_size_beyond_what_any_flow_keeps_is_bounded() -> None:
    # Given data larger than any flow keeps whole / When an event asks for more
    data = {"text": "a" * MAX_INLINE_DATA_BYTES}
    # Then it is offloaded all the same
    assert skeleton(data, BUCKET, KEY, inline_bytes=10 * MAX_INLINE_DATA_BYTES) is not None


def test_no_flows_inline_results_can_outgrow_the_largest_flows() -> None:
    # Given every flow size / Then its tasks together keep at most the results' budget
    # inline, which the largest flow keeps at the least inline size
    assert inline_data_bytes(MAX_TASKS) == INLINE_DATA_BYTES
    assert RESULTS_BUDGET_BYTES == MAX_TASKS * INLINE_DATA_BYTES
    for count in range(1, MAX_TASKS + 1):
        assert count * inline_data_bytes(count) <= RESULTS_BUDGET_BYTES
    assert inline_data_bytes(1) == MAX_INLINE_DATA_BYTES


def test_large_data_keeps_its_small_values_and_refers_to_the_large_ones() -> None:
    # Given an object with scalars and one large list
    data: dict[str, Any] = {"count": 3, "ok": True, "name": "n", "rows": list(range(500))}
    # When its skeleton is made
    kept = skeleton(data, BUCKET, KEY)
    # Then the scalars stay and the list is a reference into the stored object
    assert kept is not None
    assert {k: kept[k] for k in ("count", "ok", "name")} == {"count": 3, "ok": True, "name": "n"}
    assert kept["rows"]["$ref"] == f"s3://{BUCKET}/flow1/exec-1/task1/0.json#/rows"
    assert kept["rows"]["bytes"] > INLINE_DATA_BYTES


def test_a_value_a_for_each_iterates_stays_inline_beside_references() -> None:
    # Given large data whose "records" a later for_each iterates, and another large value
    records = [{"id": f"r{i}", "value": i} for i in range(50)]
    data: dict[str, Any] = {"records": records, "blob": "x" * 500, "n": 50}
    # When its skeleton is made keeping "/records"
    kept = skeleton(data, BUCKET, KEY, ["/records"])
    # Then the records stay as they are, the blob is a reference, the scalar stays
    assert kept is not None
    assert kept["records"] == records
    assert kept["blob"]["$ref"].endswith("#/blob")
    assert kept["n"] == 50
    assert list(kept) == ["records", "blob", "n"]


def test_a_kept_value_over_the_for_each_limit_is_a_reference() -> None:
    # Given records larger than the for_each inline limit
    records = ["r" * 100] * (FOR_EACH_INLINE_BYTES // 100)
    # When its skeleton is made keeping "/records"
    kept = skeleton({"records": records}, BUCKET, KEY, ["/records"])
    # Then the records are offloaded like any large value
    assert kept is not None
    assert kept["records"]["$ref"].endswith("#/records")


def test_whole_data_a_for_each_iterates_stays_whole() -> None:
    # Given a large list as the whole data, iterated by a later for_each ("")
    data = list(range(500))
    # When its skeleton is made keeping ""
    # Then there is none: the list stays in the state
    assert skeleton(data, BUCKET, KEY, [""]) is None


def test_a_kept_key_is_matched_as_a_json_pointer() -> None:
    # Given a key with "/" and "~", kept through its escaped pointer
    data = {"a/b~c": list(range(100))}
    # When its skeleton is made keeping "/a~1b~0c"
    kept = skeleton(data, BUCKET, KEY, ["/a~1b~0c"])
    # Then the value stays inline
    assert kept == data


def test_large_data_that_is_not_an_object_is_one_reference() -> None:
    # Given a large list as the whole data
    # When its skeleton is made
    kept = skeleton(list(range(500)), BUCKET, KEY)
    # Then the state holds one reference to all of it
    assert kept == {"$ref": f"s3://{BUCKET}/{KEY}#", "bytes": len(str(list(range(500))))}


def test_a_reference_points_at_its_value_through_escaped_keys() -> None:
    # Given a key with the characters JSON pointers and URIs escape
    data = {"a/b ~c": "v" * 300, "small": 1}
    kept = skeleton(data, BUCKET, KEY)
    assert kept is not None
    # When the reference is followed in the stored data
    [(key, ref)] = references(kept, BUCKET, "flow1/")
    # Then it names that key and finds its value
    assert key == "a/b ~c"
    assert pick(data, ref.pointer) == "v" * 300


def test_references_into_another_flows_results_are_not_followed() -> None:
    # Given data that echoes a reference to another flow's stored result
    other = Reference(BUCKET, result_key("flow2", "exec-9", "secret", 0), "", 10).as_json()
    # When this flow's references are looked for
    # Then there are none: it is plain data
    assert references({"x": other}, BUCKET, "flow1/") == []
    assert references(other, BUCKET, "flow1/") == []


def test_references_into_another_bucket_are_not_followed() -> None:
    other = {"$ref": f"s3://somebody-else/{KEY}#", "bytes": 10}
    assert references(other, BUCKET, "flow1/") == []


def test_each_for_each_item_has_its_own_key() -> None:
    # Given two items of one for_each task, same attempt
    # When their keys are made
    # Then they differ, and a plain task's key has no item part
    first, second = (result_key("f", "e", "t", 0, index) for index in (0, 1))
    assert first != second
    assert result_key("f", "e", "t", 0) == "f/e/t/0.json"
