"""Page tokens: opaque to clients, checked when they come back."""

from __future__ import annotations

import base64
import json

import pytest

from flow_manager.errors import InvalidPageToken
from flow_manager.paging import decode_token, encode_token

FIELDS = ("pk", "sk")


def test_a_token_gives_back_the_position_it_was_made_from() -> None:
    token = encode_token("flows", {"pk": "FLOW#a", "sk": "FLOW"})
    assert decode_token("flows", token, FIELDS) == {"pk": "FLOW#a", "sk": "FLOW"}


def test_a_token_is_url_safe() -> None:
    token = encode_token("flows", {"pk": "??>>~~" * 10, "sk": "x"})
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_token_of_another_list_is_refused() -> None:
    token = encode_token("executions:a:*", {"pk": "x", "sk": "y"})
    with pytest.raises(InvalidPageToken):
        decode_token("flows", token, FIELDS)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"k": "flows", "p": {"pk": "x"}}).encode()).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"k": "flows", "p": {"pk": 1, "sk": "y"}}).encode()
        ).decode(),
        "A" * 5000,
    ],
)
def test_a_token_that_was_not_issued_is_refused(token: str) -> None:
    with pytest.raises(InvalidPageToken):
        decode_token("flows", token, FIELDS)
