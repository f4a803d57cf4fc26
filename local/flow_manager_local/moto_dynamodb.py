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

Under that lock a transaction needs no snapshot of its tables, only of its items: moto's
deep copy of every table it touches grew with the table (the FlowsTable gains items with
every execution), and under load (benchmarks/throughput.py, py-spy --gil on the serve
process) was ~21 % of the GIL time by 300 executions. `transact_write_items` here journals
the items it is about to write (a copy of each, or None when absent), lets moto apply
them with its table copy made an identity, and on any failure puts each item back.

And a Query of a table's own key reads that partition only: moto's `Table.query` lists
and sorts every item of the table (`all_items`) to keep the partition's, so each GET of
an execution (one Query of its items) grew with the FlowsTable: after 400 executions,
~15 % of the serve process's GIL time (benchmarks/throughput.py --warm, py-spy --gil).
moto's own query then runs on the partition's items, so its answers are unchanged.

The item operations' answers are also written as JSON (moto_json) rather than by moto's
generic serializer, which walks the output shape member by member (every attribute
value of every item): ~14 % of the serve process's GIL time under load. moto's results
for them are already in the wire's shape (`{"S": ...}` attribute values, PascalCase
members); only binary values (raw bytes) become base64, as moto's serializer makes them.
Numbers keep their Python type (BatchGetItem's consumed capacity is written `2`, where
moto's serializer writes `2.0`), and a member outside the output shape stays (boto3
ignores it).
A result json cannot write (a model object) goes to moto's serializer as before, and so
do errors (tests/integration/test_moto_dynamodb_answers.py holds the two to the same
answers).

Install it wherever moto's backends live: in-process for tests, in the moto server's
process for the local stack.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
import types
from collections.abc import Callable
from typing import Any

from flow_manager_local.moto_json import json_answer

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

# The operations whose answers are written as JSON here (moto answers each with a
# plain dict of attribute values: see `_answered`).
ITEM_ACTIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def install() -> Callable[[], None]:
    """Serialise moto's DynamoDB item calls; returns the function that undoes it."""
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    originals: dict[str, Any] = {name: DynamoDBBackend.__dict__[name] for name in GUARDED}
    for name, original in originals.items():
        method = _journalled(original) if name == "transact_write_items" else original
        setattr(DynamoDBBackend, name, _serialised(method))
    namespace = vars(models)  # the module's globals: the `copy` its functions call
    original_copy = namespace["copy"]
    namespace["copy"] = _copy_but_tables(Table)
    original_query = Table.query
    Table.query = _by_partition(original_query)  # type: ignore[method-assign]
    own_serialized = DynamoHandler.__dict__.get("serialized")  # none: BaseResponse's
    DynamoHandler.serialized = _answered(DynamoHandler.serialized)  # type: ignore[method-assign]

    def uninstall() -> None:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)
        namespace["copy"] = original_copy
        Table.query = original_query  # type: ignore[method-assign]
        if own_serialized is None:
            del DynamoHandler.serialized  # BaseResponse's again
        else:
            DynamoHandler.serialized = own_serialized  # type: ignore[method-assign]

    return uninstall


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    return call


def _answered(serialized: Callable[..., Any]) -> Callable[..., Any]:
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    @functools.wraps(serialized)
    def answered(handler: Any, result: Any) -> Any:
        if (
            type(result) in (ActionResult, DynamoResult)
            and isinstance(result.result, dict)
            and handler._get_action() in ITEM_ACTIONS
        ):
            try:
                return json_answer(result.result, handler.response_headers)
            except TypeError:  # not plain data: moto's serializer knows its shape
                return serialized(handler, result)
        return serialized(handler, result)

    return answered


def _by_partition(query: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(query)

    @functools.wraps(query)
    def by_partition(table: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(table, *args, **kwargs).arguments
        hash_key = arguments.get("hash_key")
        if arguments.get("index_name") or table.range_key_attr is None or hash_key is None:
            return query(table, *args, **kwargs)  # an index, or a table without sort key
        return query(_Partition(table, hash_key), *args, **kwargs)

    return by_partition


class _Partition:
    """The table as Table.query sees it, with `all_items` only the items of one
    partition (in any order: query sorts them by sort key itself)."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        return list(self._table.items.get(self._hash_key, {}).values())


def _copy_but_tables(table_class: type) -> types.SimpleNamespace:
    """`copy` for moto.dynamodb.models whose deepcopy leaves a Table as it is: the
    transaction's snapshot becomes the table itself (its journal restores the items),
    while update_item's copy of the item it changes stays a copy."""

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, table_class) else copy.deepcopy(value, memo)

    public = {name: value for name, value in vars(copy).items() if not name.startswith("_")}
    return types.SimpleNamespace(**{**public, "deepcopy": deepcopy})


# (table, hash value, range value or None, the item before the transaction or None)
_Entry = tuple[Any, Any, Any, Any]


def _journalled(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> Any:
        journal = [entry for op in transact_items if (entry := _before(backend, op))]
        try:
            return method(backend, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(journal):
                _restore(table, hash_value, range_value, item)
            raise

    return transact_write_items


def _before(backend: Any, transact_item: dict[str, Any]) -> _Entry | None:
    """The item one operation of a transaction may write, as it is now; None when the
    operation is malformed (moto rejects it before it writes anything of it)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        ((op_type, op),) = transact_item.items()
        table = backend.get_table(op["TableName"])
        key = op["Item"] if op_type == "Put" else op["Key"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = (
            DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        )
        current = table.get_item(hash_value, range_value)
    except Exception:  # moto reports the malformed operation itself
        return None
    return table, hash_value, range_value, copy.deepcopy(current)


def _restore(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    """Put the item back as it was (items are stored by key, as Table.put_item does).
    Written directly: undoing adds no stream record, and the records of the writes it
    undoes stay (no table of the template has a stream)."""
    if range_value is not None:
        if item is None:
            table.items[hash_value].pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item
    elif item is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = item
