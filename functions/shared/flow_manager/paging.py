"""Page tokens: opaque to clients, signed by the stack, bound to the list they came from.

A token is `base64url(JSON {"k": list, "p": position}) "." base64url(tag)`, the tag an
HMAC-SHA256 (128 bits kept) of the payload under the stack's key. `list` names the
list a token continues ("flows", "executions:<flow id>:<status or *>"). On the way in
the tag is checked before anything is parsed, then the list: a made-up token (any
base64 JSON), a tampered one, or one of another list (another flow, another status
filter) is InvalidPageToken (400), and its position never reaches DynamoDB or Step
Functions.

The key (DESIGN §11, "page tokens are bound to the list they came from") is 32 random
bytes kept in FlowsTable under `CONFIG / PAGE_TOKEN_KEY`, made by the first request
that needs one (a conditional put: concurrent first requests agree on one key) and
read once per container. Why there: the API already reads and writes that table (no
new IAM permission, service or template resource), every container of a stack shares
it, and the local stack and moto-backed tests have it without any setup. A Secrets
Manager secret would add a client (another botocore model to load), a call of its own
and a resource per stack for the same effect; a stack parameter would put the secret in
deploy configuration. Cost: nothing at import or cold start; the first list request of
a container that reads or issues a token makes one consistent GetItem (and, once in a
stack's life, a PutItem). Rotation: delete the item; containers that cached the old key
keep refusing new tokens until they are recycled (a deploy does it), and a client that
meets InvalidPageToken starts its list again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Collection, Mapping

from flow_manager.aws import client, is_client_error, raise_if_unavailable
from flow_manager.errors import InvalidPageToken

MAX_TOKEN_LENGTH = 4096
KEY_BYTES = 32
TAG_BYTES = 16
_CONTEXT = b"flow-manager page token v1\n"  # a tag of this key can mean nothing else

KEY_PK = "CONFIG"
KEY_SK = "PAGE_TOKEN_KEY"


class PageTokens:
    """Makes and checks the tokens of every list, with the key `key()` returns."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key = key

    def encode(self, kind: str, position: Mapping[str, str]) -> str:
        raw = json.dumps({"k": kind, "p": dict(position)}, separators=(",", ":"), sort_keys=True)
        payload = _b64(raw.encode())
        return f"{payload}.{_b64(self._tag(payload))}"

    def decode(self, kind: str, token: str, fields: Collection[str]) -> dict[str, str]:
        """The position inside `token`, which this stack issued for list `kind`, and
        which holds exactly `fields`, as non-empty strings."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise InvalidPageToken()
        payload, _, tag = token.partition(".")
        try:
            genuine = hmac.compare_digest(_unb64(tag), self._tag(payload))
            decoded = json.loads(_unb64(payload)) if genuine else None
        except (binascii.Error, ValueError):  # JSONDecodeError, UnicodeDecodeError: ValueErrors
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

    def _tag(self, payload: str) -> bytes:
        mac = hmac.new(self._key(), _CONTEXT + payload.encode("ascii"), hashlib.sha256)
        return mac.digest()[:TAG_BYTES]


class StoredKey:
    """The stack's page token key in FlowsTable: read (or made) on first use, then kept."""

    def __init__(self, table: str, region: str) -> None:
        self.table = table
        self.region = region
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._read() or self._make()
        return self._key

    def _read(self) -> bytes | None:
        try:
            item = (
                client("dynamodb", self.region)
                .get_item(TableName=self.table, Key=_KEY, ConsistentRead=True)
                .get("Item")
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            raise
        value = (item or {}).get("key", {}).get("B")
        return bytes(value) if value else None

    def _make(self) -> bytes:
        key = secrets.token_bytes(KEY_BYTES)
        try:
            client("dynamodb", self.region).put_item(
                TableName=self.table,
                Item={**_KEY, "key": {"B": key}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            if not is_client_error(exc, "ConditionalCheckFailedException"):
                raise
            stored = self._read()  # another request made it first: use theirs
            if stored is None:
                raise
            return stored
        return key


_KEY = {"pk": {"S": KEY_PK}, "sk": {"S": KEY_SK}}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text:
        raise binascii.Error("empty")
    # validate: a character outside the alphabet is refused, not skipped
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
