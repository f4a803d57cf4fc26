"""Teach moto (5.2.5) GetExecutionHistory's `includeExecutionData`, `reverseOrder`,
`maxResults` and `nextToken`, which it ignores: it always answers every event with its
data in one page.

Each state's exit records the whole state, so a 300-task execution's history was 2,106
events and 54 MB from moto (38 s, measured on the local stack), and a report could not
answer within the gateway's 29 s. Step Functions itself pages (1000 events at most)
and leaves the data out when asked; the API asks for the outline without data plus
the newest events with data, so with this patch the local stack serves what AWS would.

The page is also written as JSON (moto_json) rather than by moto's generic serializer,
which walks the output shape member by member and parses every event's timestamp with
dateutil: under load (benchmarks/throughput.py, py-spy --gil of the serve process)
that serializer was ~48 % of the process's GIL time, for a few pages per execution.
The events are already in the API's shape (camelCase, JSON values); only `timestamp`
changes, from moto's ISO string to epoch seconds (tests/integration/test_moto_history.py
holds the two to the same answer).

It also keeps an ended execution's history packed (`_PackedHistory`): moto holds every
event as dicts for as long as the stack runs, ~41 KB for the sample's 29 events
(pympler, in serve), the largest part of what serve grows by per execution. Pickled and
compressed once the execution ends, they take ~4 KB; every read unpacks a fresh list,
as moto's own read deep-copies one (up to MAX_PACKED_EVENTS events: see there). And
the interpreter's threads that have ended are dropped from the list moto appends every
one to (`TMP_THREADS`, which nothing in serve reads), instead of being kept for as long
as the stack runs.

Install it in the moto server's process, like moto_versions.
"""

from __future__ import annotations

import contextlib
import pickle
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flow_manager_local.moto_json import epoch, json_answer

DATA_FIELDS = ("input", "output", "inputDetails", "outputDetails", "parameters")
MAX_PAGE = 1000  # Step Functions' largest page
# A longer history stays as moto keeps it: a report reads it a page at a time, and every
# page would unpack all of it (a 300-task execution's 2,100 events hold 54 MB of state:
# its first report took 1.1 s instead of 0.5-0.7).
MAX_PACKED_EVENTS = 250


def install() -> Callable[[], None]:
    """Patch moto's Step Functions responses and executions; returns the function that
    undoes it."""
    unpack = _pack_ended_histories()
    unserve = _serve_pages()

    def uninstall() -> None:
        unserve()
        unpack()

    return uninstall


def _serve_pages() -> Callable[[], None]:
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.get_execution_history

    def get_execution_history(self: StepFunctionResponse) -> tuple[int, dict[str, str], str]:
        execution_arn = self._get_param("executionArn")
        output = self.stepfunction_backend.get_execution_history(execution_arn)
        events = list(output["events"])
        if self._get_param("reverseOrder") in (True, "true"):
            events.reverse()
        start = int(self._get_param("nextToken") or 0)
        size = min(int(self._get_param("maxResults") or MAX_PAGE) or MAX_PAGE, MAX_PAGE)
        page = events[start : start + size]
        if self._get_param("includeExecutionData") in (False, "false"):
            page = [_without_data(event) for event in page]
        result: dict[str, Any] = {"events": [_on_the_wire(event) for event in page]}
        if start + size < len(events):
            result["nextToken"] = str(start + size)
        return json_answer(result)

    StepFunctionResponse.get_execution_history = get_execution_history  # type: ignore[method-assign,assignment]

    def uninstall() -> None:
        StepFunctionResponse.get_execution_history = original  # type: ignore[method-assign]

    return uninstall


def _on_the_wire(event: Any) -> dict[str, Any]:
    """The event as the JSON protocol carries it: its timestamp in epoch seconds."""
    wire = dict(event)
    stamp = wire.get("timestamp")
    if isinstance(stamp, str | datetime):
        wire["timestamp"] = epoch(stamp)
    return wire


def _without_data(event: Any) -> dict[str, Any]:
    stripped: dict[str, Any] = {}
    for key, value in dict(event).items():
        if isinstance(value, dict) and key.endswith("EventDetails"):
            stripped[key] = {k: v for k, v in value.items() if k not in DATA_FIELDS}
        else:
            stripped[key] = value
    return stripped


def _pack_ended_histories() -> Callable[[], None]:
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.parser.utils import TMP_THREADS

    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        original(self)  # the execution has ended (a timeout's last event comes after)
        worker = self.execution.exec_worker
        environment = getattr(worker, "env", None)
        if environment is not None:
            # Only memory is at stake: an event moto could not pickle stays as it was.
            with contextlib.suppress(Exception):
                _PackedHistory.pack(environment.event_manager)
        for thread in list(TMP_THREADS):
            if not thread.is_alive():
                with contextlib.suppress(ValueError):  # another ending took it out
                    TMP_THREADS.remove(thread)

    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]

    def uninstall() -> None:
        BaseExecutionWorkerCommunication.terminated = original  # type: ignore[method-assign]

    return uninstall


class _PackedHistory:
    """In place of an EventManager's list of events, which moto only appends to and
    deep-copies (`get_event_history`): the events pickled (they hold datetimes) and
    compressed. An event appended after all is kept: the list is unpacked again."""

    def __init__(self, manager: Any, events: list[Any]) -> None:
        self._manager = manager
        self._packed = zlib.compress(pickle.dumps(events, pickle.HIGHEST_PROTOCOL), 1)

    @classmethod
    def pack(cls, manager: Any) -> None:
        with manager._mutex:
            events = manager._history_event_list
            if isinstance(events, list) and len(events) <= MAX_PACKED_EVENTS:
                packed = cls(manager, events)  # raises before anything is replaced
                manager._history_event_list = packed

    def events(self) -> list[Any]:
        # Our own bytes, made above from moto's objects: nothing a client sent is unpickled.
        events: list[Any] = pickle.loads(zlib.decompress(self._packed))
        return events

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return self.events()

    def append(self, event: Any) -> None:  # under the manager's lock, as moto appends
        events = self.events()
        events.append(event)
        self._manager._history_event_list = events
