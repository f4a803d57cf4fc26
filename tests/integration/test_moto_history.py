"""moto_history: GetExecutionHistory pages, leaves data out when asked, and writes its
own JSON, which boto3 must read exactly as it reads moto's generic serializer's; an
ended execution's history is kept packed, and ended interpreter threads are not kept."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flow_manager_local import moto_history
from tests.support.sfn import LambdaContext, SfnHarness, lambda_task

# Task success and failure, Catch, Map, Parallel, Wait, Choice: most kinds of event.
EVERY_KIND = json.dumps(
    {
        "StartAt": "Work",
        "States": {
            "Work": lambda_task(
                "work", ResultSelector={"value.$": "$.Payload"}, ResultPath="$.work", Next="Fan"
            ),
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Each",
                    "States": {"Each": {"Type": "Pass", "End": True}},
                },
                "ResultPath": "$.each",
                "Next": "Both",
            },
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "Pause",
                        "States": {"Pause": {"Type": "Wait", "Seconds": 0, "End": True}},
                    },
                ],
                "ResultPath": "$.both",
                "Next": "Fails",
            },
            "Fails": lambda_task(
                "broken",
                Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Decide"}],
                End=True,
            ),
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.work.value.n", "NumericEquals": 1, "Next": "Done"}],
                "Default": "Done",
            },
            "Done": {"Type": "Fail", "Error": "Finished", "Cause": "on purpose"},
        },
    }
)


def _work(event: dict[str, Any], context: LambdaContext) -> Any:
    return {"n": 1, "text": 'é ✓ "quoted"'}


def _broken(event: dict[str, Any], context: LambdaContext) -> Any:
    raise ValueError("broken on purpose")


def _history(sfn: SfnHarness, execution_arn: str, **request: Any) -> list[Any]:
    return list(sfn.client.get_execution_history(executionArn=execution_arn, **request)["events"])


def test_boto3_reads_the_patched_history_as_it_reads_motos_own(sfn: SfnHarness) -> None:
    # Given an ended execution with events of most kinds, read through moto's serializer
    sfn.register("work", _work)
    sfn.register("broken", _broken)
    run = sfn.run(EVERY_KIND, {"items": [1, 2], "nested": {"a": [None, True, 1.5]}})
    assert run.status == "FAILED"
    unpatched = _history(sfn, run.execution_arn)
    # When it is read again with the patch installed
    uninstall = moto_history.install()
    try:
        patched = _history(sfn, run.execution_arn, includeExecutionData=True)
    finally:
        uninstall()
    # Then boto3 sees the same events, timestamps (to the millisecond) included
    assert len(patched) > 30
    assert patched == unpatched
    assert any(e["timestamp"].microsecond for e in patched)  # milliseconds survive


def test_a_page_without_data_keeps_every_event_and_no_state(sfn: SfnHarness) -> None:
    # Given an ended execution and the patch
    sfn.register("work", _work)
    sfn.register("broken", _broken)
    run = sfn.run(EVERY_KIND, {"items": [1], "secret": "kept-out-of-the-outline"})
    uninstall = moto_history.install()
    try:
        # When the history is read newest first, without data, 5 events a page
        first = sfn.client.get_execution_history(
            executionArn=run.execution_arn,
            includeExecutionData=False,
            reverseOrder=True,
            maxResults=5,
        )
        rest = sfn.client.get_execution_history(
            executionArn=run.execution_arn,
            includeExecutionData=False,
            reverseOrder=True,
            maxResults=1000,
            nextToken=first["nextToken"],
        )
    finally:
        uninstall()
    # Then the pages hold every event once, newest first, and no input or output
    events = [*first["events"], *rest["events"]]
    assert [e["id"] for e in events] == sorted((e["id"] for e in run.history), reverse=True)
    assert "nextToken" not in rest
    assert "kept-out-of-the-outline" not in json.dumps(events, default=str)


def _event_list(execution_arn: str) -> Any:
    """What moto keeps of an execution's events (its EventManager's list)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    for regions in stepfunctions_parser_backends.values():
        for backend in regions.values():
            for machine in backend.state_machines:
                for execution in machine.executions:
                    found: Any = execution  # moto's parser Execution (untyped here)
                    if found.exec_arn == execution_arn:
                        return found.exec_worker.env.event_manager._history_event_list
    raise AssertionError(f"no execution {execution_arn}")


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """moto reports the end before the ending thread has packed and pruned: wait for it."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_an_ended_execution_s_history_is_kept_packed_and_read_back_whole(sfn: SfnHarness) -> None:
    # Given the patch, and an execution with events of most kinds that has ended
    sfn.register("work", _work)
    sfn.register("broken", _broken)
    uninstall = moto_history.install()
    try:
        run = sfn.run(EVERY_KIND, {"items": [1, 2], "nested": {"a": [None, True, 1.5]}})
        # When its history is read (through the patch), and again
        patched = _history(sfn, run.execution_arn, includeExecutionData=True)
        again = _history(sfn, run.execution_arn, includeExecutionData=True)
    finally:
        uninstall()
    # Then moto keeps the events packed, and every read gives them all, the same
    assert _eventually(
        lambda: isinstance(_event_list(run.execution_arn), moto_history._PackedHistory)
    )
    assert len(patched) > 30
    assert patched == again == list(run.history)
    # And moto's own serializer (the patch undone) reads the packed history as well
    assert _history(sfn, run.execution_arn) == patched


def test_an_event_added_to_a_packed_history_is_kept_with_the_others() -> None:
    # Given a packed history of two events (an EventManager's lock and list)
    import copy
    import threading

    class Manager:
        def __init__(self) -> None:
            self._mutex = threading.Lock()
            self._history_event_list: Any = [{"id": 1}, {"id": 2}]

    manager = Manager()
    moto_history._PackedHistory.pack(manager)
    # When moto appends a third / Then the history holds all three, as a list again
    manager._history_event_list.append({"id": 3})
    assert copy.deepcopy(manager._history_event_list) == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert isinstance(manager._history_event_list, list)


def test_the_interpreter_s_ended_threads_are_not_kept(sfn: SfnHarness) -> None:
    # Given the patch, and three executions that have ended one after the other
    from moto.stepfunctions.parser.utils import TMP_THREADS

    sfn.register("work", _work)
    sfn.register("broken", _broken)
    earlier = set(TMP_THREADS)  # an earlier test's threads may end at any time
    uninstall = moto_history.install()
    try:
        for _ in range(2):
            sfn.run(EVERY_KIND, {"items": [1, 2]})
        before_last = set(TMP_THREADS)
        for thread in before_last - earlier:
            thread.join(5)  # all ended before the last execution's end prunes the list
        sfn.run(EVERY_KIND, {"items": [1, 2]})
    finally:
        uninstall()

    # Then of moto's list of its threads, none of the first two executions' is kept once
    # ended: the last one's end dropped them. (The last one's own threads may still be
    # there: its program thread, and a branch's that had not quite exited, were alive
    # when it ended.)
    def kept_from_the_first_two() -> list[Any]:
        return [t for t in TMP_THREADS if t in before_last - earlier and not t.is_alive()]

    assert _eventually(lambda: not kept_from_the_first_two())
    assert [t for t in TMP_THREADS if t not in before_last]  # the last one's: seen


def test_a_history_longer_than_a_report_reads_at_once_is_kept_as_moto_keeps_it() -> None:
    # Given an ended execution's history longer than MAX_PACKED_EVENTS (read a page at a
    # time, each page would unpack all of it)
    import threading

    class Manager:
        def __init__(self) -> None:
            self._mutex = threading.Lock()
            self._history_event_list: Any = [
                {"id": n} for n in range(moto_history.MAX_PACKED_EVENTS + 1)
            ]

    manager = Manager()
    # When it is packed / Then it stays a list
    moto_history._PackedHistory.pack(manager)
    assert isinstance(manager._history_event_list, list)
