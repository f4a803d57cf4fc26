"""Make moto's (5.2.5) DynamoDB transactions atomic against concurrent requests.

`DynamoDBBackend.transact_write_items` deep-copies every table it touches, applies the
items one by one, and when any condition fails puts the copies back. Under concurrent
requests (the local stack's moto server is threaded, as are tests that run requests in
threads) that is two defects DynamoDB cannot have:

- a failed transaction restores a snapshot taken before another request's committed
  write, silently undoing it (issue 7 item 13: a PUT answered 200 with version 2, the
  head went back to version 1, and every later update was 409 FlowBusy);
- the copy is taken while another request mutates the table, so the snapshot itself can
  be torn (half of another transaction), and a reader can see a transaction's first
  item before its second one fails and is rolled back.

One re-entrant lock around every backend call that reads or writes items makes each
of them, and each transaction, happen at once for every other request: the isolation
DynamoDB documents (transactions are serializable with single-item reads and writes).
Batch calls are per-item in moto's responses layer (put/delete/get per item), so each of
their items is atomic and the batch is not, as in DynamoDB. Re-entrant because the
transaction applies its items through `put_item`/`update_item`/`delete_item`.

moto serves every region and account from this one class, so one lock for the process
is the simplest correct choice; moto holds the GIL for all of this work anyway.

Install it wherever moto's backends live: in-process for tests, in the moto server's
process for the local stack.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

# Every DynamoDBBackend method that reads or writes items (PartiQL included: its
# statements run through the same item methods or through transact_write_items).
GUARDED = (
    "get_item",
    "query",
    "scan",
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)

_lock = threading.RLock()


def install() -> Callable[[], None]:
    """Serialise moto's DynamoDB item calls; returns the function that undoes it."""
    from moto.dynamodb.models import DynamoDBBackend

    originals: dict[str, Any] = {name: DynamoDBBackend.__dict__[name] for name in GUARDED}
    for name, original in originals.items():
        setattr(DynamoDBBackend, name, _serialised(original))

    def uninstall() -> None:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)

    return uninstall


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    return call
