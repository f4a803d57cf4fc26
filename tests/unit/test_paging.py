"""Page tokens: opaque to clients, signed by the stack, checked when they come back."""

from __future__ import annotations

import base64
import json

import pytest

from flow_manager.errors import InvalidPageToken
from flow_manager.paging import PageTokens

FIELDS = ("pk", "sk")
KEY = b"k" * 32
tokens = PageTokens(lambda: KEY)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_token_gives_back_the_position_it_was_made_from() -> None:
    token = tokens.encode("flows", {"pk": "FLOW#a", "sk": "FLOW"})
    assert tokens.decode("flows", token, FIELDS) == {"pk": "FLOW#a", "sk": "FLOW"}


def test_a_token_is_url_safe() -> None:
    token = tokens.encode("flows", {"pk": "??>>~~" * 10, "sk": "x"})
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    assert set(token) <= set(alphabet)


def test_a_token_of_another_list_is_refused() -> None:
    token = tokens.encode("executions:a:*", {"pk": "x", "sk": "y"})
    with pytest.raises(InvalidPageToken):
        tokens.decode("flows", token, FIELDS)


def test_a_token_signed_by_another_stack_is_refused() -> None:
    theirs = PageTokens(lambda: b"o" * 32).encode("flows", {"pk": "x", "sk": "y"})
    with pytest.raises(InvalidPageToken):
        tokens.decode("flows", theirs, FIELDS)


def test_a_token_whose_position_was_changed_is_refused() -> None:
    # Given a genuine token, its payload swapped for another position, tag kept
    token = tokens.encode("flows", {"pk": "FLOW#a", "sk": "FLOW"})
    tag = token.split(".")[1]
    forged = b64(json.dumps({"k": "flows", "p": {"pk": "FLOW#z", "sk": "FLOW"}}).encode())
    # When it comes back
    # Then it is not a token this stack made
    with pytest.raises(InvalidPageToken):
        tokens.decode("flows", f"{forged}.{tag}", FIELDS)


@pytest.mark.parametrize("where", [0, -1])
def test_a_token_with_one_character_changed_is_refused(where: int) -> None:
    token = tokens.encode("flows", {"pk": "FLOW#a", "sk": "FLOW"})
    changed = "B" if token[where] != "B" else "C"
    tampered = token[:where] + changed + (token[where + 1 :] if where != -1 else "")
    with pytest.raises(InvalidPageToken):
        tokens.decode("flows", tampered, FIELDS)


def test_a_token_with_characters_outside_the_alphabet_is_refused() -> None:
    token = tokens.encode("flows", {"pk": "FLOW#a", "sk": "FLOW"})
    with pytest.raises(InvalidPageToken):
        tokens.decode("flows", token + "!", FIELDS)


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "not base64 at all!",
        b64(b"\xff\xfe"),
        b64(b"[1, 2]"),
        # the unsigned tokens this API used to issue: any base64 JSON of the right shape
        b64(json.dumps({"k": "flows", "p": {"pk": "x", "sk": "y"}}).encode()),
        b64(json.dumps({"k": "flows", "p": {"pk": "x", "sk": "y"}}).encode()) + ".",
        "A" * 5000,
        "é.é",
    ],
)
def test_a_token_that_was_not_issued_is_refused(token: str) -> None:
    with pytest.raises(InvalidPageToken):
        tokens.decode("flows", token, FIELDS)


@pytest.mark.parametrize(
    "position", [{"pk": "x"}, {"pk": "x", "sk": "y", "z": "w"}, {"pk": "", "sk": "y"}]
)
def test_a_signed_token_must_still_hold_the_lists_fields(position: dict[str, str]) -> None:
    token = tokens.encode("flows", position)
    with pytest.raises(InvalidPageToken):
        tokens.decode("flows", token, FIELDS)
