"""AWS clients' time limits: no request outlives API Gateway's 29 s (flow_manager/aws.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast
from unittest import mock

import pytest
from moto import mock_aws

from flow_manager import aws
from flow_manager.errors import ServiceUnavailable
from flow_manager.executions import REPORT_RESERVE_SECONDS, Executions
from flow_manager.flows import Flows
from tests.support.sfn import FAKE_ENV, REGION

API_GATEWAY_SECONDS = 29


class Clock:
    """monotonic() and sleep() that only move when told: no test waits for real."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(aws, "_clock", fake)
    return fake


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock.patch.dict(os.environ, FAKE_ENV), mock_aws():
        yield aws.client("dynamodb", REGION)


def test_clients_bound_each_attempt_and_retry_in_standard_mode() -> None:
    # Given the client every module uses / When its configuration is read
    config = aws.client("stepfunctions", REGION).meta.config
    # Then connect and read are bounded, and a call makes at most three attempts
    assert (config.connect_timeout, config.read_timeout) == (2, 8)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_an_attempt_that_starts_within_the_budget_ends_before_api_gateway_gives_up() -> None:
    # Given the budget a request gets, and the worst case of one attempt
    worst = aws.CONNECT_TIMEOUT_SECONDS + aws.READ_TIMEOUT_SECONDS
    # Then the API's budget ends before API Gateway's timeout, and fits an attempt
    assert worst == aws.ATTEMPT_WORST_SECONDS
    assert worst < aws.API_BUDGET_SECONDS < API_GATEWAY_SECONDS


def test_a_call_is_refused_when_the_budget_cannot_fit_its_attempt(
    clock: Clock, dynamodb: Any
) -> None:
    # Given a request with less time left than one attempt may take
    with aws.budget(aws.ATTEMPT_WORST_SECONDS - 1), pytest.raises(ServiceUnavailable) as refused:
        # When it calls AWS
        dynamodb.list_tables()
    # Then the call is not sent, and the request is told to retry
    assert "ran out of time" in refused.value.message


def test_calls_go_through_while_the_budget_fits_them(clock: Clock, dynamodb: Any) -> None:
    # Given a fresh request budget / When calls are made in it and outside one
    with aws.budget(aws.API_BUDGET_SECONDS):
        inside = dynamodb.list_tables()
    outside = dynamodb.list_tables()
    # Then both are answered
    assert inside["TableNames"] == outside["TableNames"] == []


def test_a_budget_runs_out_as_time_passes(clock: Clock, dynamodb: Any) -> None:
    # Given a request that has spent most of its budget
    with aws.budget(aws.API_BUDGET_SECONDS):
        clock.sleep(aws.API_BUDGET_SECONDS - aws.ATTEMPT_WORST_SECONDS + 1)
        # When it makes one more call / Then it is refused
        with pytest.raises(ServiceUnavailable):
            dynamodb.list_tables()


def test_waiting_for_a_run_stops_in_time_for_the_report(clock: Clock) -> None:
    # Given an execution that never ends, and the seeds' wait of 25 s (the most allowed)
    engine = SimpleNamespace(describe=lambda arn: {"status": "RUNNING"})
    flows = cast("Flows", SimpleNamespace(store=None, engine=engine))
    executions = Executions(flows, sleep=clock.sleep, monotonic=clock)
    with aws.budget(aws.API_BUDGET_SECONDS):
        started = clock.now
        # When the run route waits for it
        finished = executions._wait("arn:execution", 25.0)
        waited = clock.now - started
        left = aws.remaining()
    # Then it gives up while the report's calls still fit in the budget
    assert finished is False
    assert left is not None
    assert left >= REPORT_RESERVE_SECONDS >= aws.ATTEMPT_WORST_SECONDS
    assert waited == pytest.approx(aws.API_BUDGET_SECONDS - REPORT_RESERVE_SECONDS)
