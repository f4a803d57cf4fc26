"""How flows are named and versioned without a database: content ids, hashes, If-Match."""

from __future__ import annotations

import re

import pytest

from flow_manager.errors import InvalidRequest, PreconditionRequired, VersionConflict
from flow_manager.flows import canonical_json, content_hash, content_id, parse_if_match
from flow_manager.model import FLOW_ID_PATTERN, Flow


def flow(**changes: object) -> Flow:
    raw: dict[str, object] = {
        "name": "n",
        "start_task": "a",
        "tasks": [{"name": "a"}, {"name": "b"}],
        "conditions": [],
    }
    return Flow.model_validate({**raw, **changes})


def test_the_same_flow_always_gets_the_same_generated_id() -> None:
    assert content_id(flow()) == content_id(flow())
    assert content_id(flow()).startswith("flow-")


def test_a_different_flow_gets_a_different_generated_id() -> None:
    assert content_id(flow()) != content_id(flow(name="other"))


def test_the_generated_id_ignores_an_id_the_flow_has() -> None:
    assert content_id(flow(id="x")) == content_id(flow())


def test_a_generated_id_is_a_valid_flow_id() -> None:
    assert re.fullmatch(FLOW_ID_PATTERN, content_id(flow()))


def test_spelling_out_a_default_does_not_change_the_hash() -> None:
    assert content_hash(flow(type="STANDARD")) == content_hash(flow())


def test_the_canonical_form_has_no_nulls_and_sorted_keys() -> None:
    text = canonical_json(flow())
    assert "null" not in text
    assert text.index('"conditions"') < text.index('"name"')


@pytest.mark.parametrize(
    ("header", "expected"),
    [('"3"', 3), ("3", 3), ("*", 7), (' "3" ', 3), ('"2", "7"', 7), ('"2",W/"7", "3"', 3)],
)
def test_if_match_names_the_version_being_replaced(header: str, expected: int) -> None:
    assert parse_if_match(header, "f", current=7) == expected


def test_an_update_without_if_match_is_refused() -> None:
    with pytest.raises(PreconditionRequired):
        parse_if_match(None, "f", current=1)


@pytest.mark.parametrize(
    "header",
    [
        "abc",
        '"1.5"',
        "-1",
        "9" * 12,
        "¹",
        '"¹"',
        "\u0661",
        "²3",
        '"1',
        '"1",',
        "*, 1",
        '"a"',
        "W/3",
    ],
)
def test_an_if_match_that_is_not_a_version_is_a_bad_request(header: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_if_match(header, "f", current=1)


@pytest.mark.parametrize("header", ['W/"1"', 'W/"1", W/"2"'])
def test_a_weak_if_match_matches_no_version(header: str) -> None:
    # If-Match compares strongly (RFC 9110 §13.1.1): a weak tag never matches
    with pytest.raises(VersionConflict):
        parse_if_match(header, "f", current=1)
