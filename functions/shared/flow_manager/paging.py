"""Opaque page tokens: what a list needs to continue, base64url JSON, checked on the way in.

A token names the list it belongs to, so a token of one list passed to another is a
client error (400), not a confusing page of something else.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection

from flow_manager.errors import InvalidPageToken

MAX_TOKEN_LENGTH = 4096


def encode_token(kind: str, position: dict[str, str]) -> str:
    raw = json.dumps({"k": kind, "p": position}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(kind: str, token: str, fields: Collection[str]) -> dict[str, str]:
    """The position inside `token`, which must hold exactly `fields` as strings."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidPageToken()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidPageToken() from None
    if not isinstance(decoded, dict) or decoded.get("k") != kind:
        raise InvalidPageToken()
    position = decoded.get("p")
    if (
        not isinstance(position, dict)
        or set(position) != set(fields)
        or not all(isinstance(v, str) and v for v in position.values())
    ):
        raise InvalidPageToken()
    return position
