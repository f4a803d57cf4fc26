"""The engine reads Step Functions' paged lists through boto3's paginators: every page
when it needs all, only as many as the caller reads when it stops early."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from flow_manager.engine import HISTORY_PAGE, RECENT_PAGE, RUNNING_PAGE, Engine

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:flow-manager_f"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:flow-manager_f:e"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def stubbed() -> Iterator[tuple[Engine, Stubber]]:
    sfn = boto3.client(
        "stepfunctions",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    engine = Engine("us-east-1", "arn:aws:iam::123456789012:role/r", "flow-manager")
    engine.__dict__["_sfn"] = sfn  # the cached client, stubbed
    with Stubber(sfn) as stubber:
        yield engine, stubber
        stubber.assert_no_pending_responses()


def event(number: int) -> dict[str, Any]:
    return {"timestamp": WHEN, "type": "PassStateEntered", "id": number}


def exited(number: int) -> dict[str, Any]:
    details = {"name": "s", "output": '{"results": {}}'}
    return {
        "timestamp": WHEN,
        "type": "PassStateExited",
        "id": number,
        "stateExitedEventDetails": details,
    }


RECENT = {
    "executionArn": EXECUTION,
    "maxResults": RECENT_PAGE,
    "includeExecutionData": True,
    "reverseOrder": True,
}


def execution(name: str) -> dict[str, Any]:
    return {
        "executionArn": f"{EXECUTION}{name}",
        "stateMachineArn": MACHINE,
        "name": name,
        "status": "RUNNING",
        "startDate": WHEN,
    }


def test_the_history_is_every_page_in_order(stubbed: tuple[Engine, Stubber]) -> None:
    # Given a history that comes in two pages
    engine, stubber = stubbed
    request = {"executionArn": EXECUTION, "includeExecutionData": True, "maxResults": HISTORY_PAGE}
    stubber.add_response(
        "get_execution_history", {"events": [event(1), event(2)], "nextToken": "t"}, request
    )
    stubber.add_response(
        "get_execution_history", {"events": [event(3)]}, {**request, "nextToken": "t"}
    )
    # When the engine reads it / Then it has all of it, oldest first
    assert [e["id"] for e in engine.history(EXECUTION)] == [1, 2, 3]


def test_running_executions_follow_every_page(stubbed: tuple[Engine, Stubber]) -> None:
    # Given running executions listed over two pages
    engine, stubber = stubbed
    request = {"stateMachineArn": MACHINE, "statusFilter": "RUNNING", "maxResults": RUNNING_PAGE}
    stubber.add_response(
        "list_executions", {"executions": [execution("a")], "nextToken": "t"}, request
    )
    stubber.add_response(
        "list_executions", {"executions": [execution("b")]}, {**request, "nextToken": "t"}
    )
    # When all are read / Then both pages' executions are there
    assert [arn[-1] for arn in engine.running(MACHINE)] == ["a", "b"]


def test_a_caller_that_stops_early_fetches_no_further_page(
    stubbed: tuple[Engine, Stubber],
) -> None:
    # Given a first page that says more follow (and no second page answered)
    engine, stubber = stubbed
    stubber.add_response(
        "list_executions", {"executions": [execution("a")], "nextToken": "t"}, None
    )
    # When the caller takes one execution and stops
    first = next(engine.running(MACHINE))
    # Then it has it, and no second call was made (the stubber would have failed it)
    assert first.endswith("a")


def test_a_missing_state_machine_runs_nothing(stubbed: tuple[Engine, Stubber]) -> None:
    # Given Step Functions does not know the machine / When its running ones are listed
    engine, stubber = stubbed
    stubber.add_client_error("list_executions", "StateMachineDoesNotExist")
    # Then there are none
    assert list(engine.running(MACHINE)) == []


def test_a_short_history_is_read_whole_in_one_call(stubbed: tuple[Engine, Stubber]) -> None:
    # Given a history that fits the first page of the newest events (no nextToken)
    engine, stubber = stubbed
    stubber.add_response(
        "get_execution_history", {"events": [event(3), exited(2), event(1)]}, RECENT
    )
    # When the newest events are read
    recent, whole = engine.recent_events(EXECUTION)
    # Then they are every event, newest first, and said to be the whole history
    assert [e["id"] for e in recent] == [3, 2, 1]
    assert whole


def test_a_long_history_is_read_back_to_the_newest_state_exit_only(
    stubbed: tuple[Engine, Stubber],
) -> None:
    # Given a long history whose first page of newest events has no state exit
    engine, stubber = stubbed
    stubber.add_response(
        "get_execution_history", {"events": [event(9), event(8)], "nextToken": "a"}, RECENT
    )
    stubber.add_response(
        "get_execution_history",
        {"events": [exited(7), event(6), exited(5)], "nextToken": "b"},
        {**RECENT, "nextToken": "a"},
    )
    # When the newest events are read
    recent, whole = engine.recent_events(EXECUTION)
    # Then they go back to the exit and no further (no third call), and are not whole
    assert [e["id"] for e in recent] == [9, 8, 7]
    assert not whole
