"""Shared fixtures. moto is imported here, before any test module builds a boto3 client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flow_manager import aws, results_store
from flow_manager.demo_switches import DEMO_SWITCHES_VARIABLE
from tests.support.sfn import SfnHarness, moto_sfn


@pytest.fixture(autouse=True)
def own_aws_clients() -> Iterator[None]:
    """Each test makes its own AWS clients: the process keeps one per service (as a
    Lambda does), made with the credentials, endpoint and mock of the moment, so one
    left by a test without credentials failed a later test's calls (NoCredentialsError,
    depending on the order tests ran in)."""
    yield
    aws.client.cache_clear()
    results_store.s3_client.cache_clear()


@pytest.fixture(autouse=True)
def demo_switches_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run with the sample tasks' demo switches on, as the local stack does
    (DESIGN §11); a test of a deployed default turns them off itself."""
    monkeypatch.setenv(DEMO_SWITCHES_VARIABLE, "enabled")


@pytest.fixture
def sfn() -> Iterator[SfnHarness]:
    """moto Step Functions that executes state machines; Lambda invokes go to handlers
    registered with `sfn.register(name, handler)` or `sfn.script({...})`."""
    with moto_sfn() as harness:
        yield harness


@pytest.fixture(scope="module")
def module_sfn() -> Iterator[SfnHarness]:
    """One mock for a whole module: for hypothesis tests, which run many examples per
    test and cannot use function-scoped fixtures."""
    with moto_sfn() as harness:
        yield harness
