"""Many clients updating one flow at once (issue 7 item 13): one wins each round, what
it was told is what every later read sees, and the flow stays updatable."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest

from flow_manager.errors import FlowManagerError
from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain, renamed
from tests.integration.api.test_convergence import fail_once

CLIENTS = 20
BURSTS = 4


@dataclass(frozen=True)
class Outcome:
    """What one concurrent update was told: the version it made, or the error code."""

    version: int | None = None
    name: str | None = None
    error: str | None = None


def burst(api: Api, version: int, tag: str) -> list[Outcome]:
    """CLIENTS concurrent updates that all read `version`, each with its own definition.

    They call the flow service ApiFunction's PUT route calls, each in its own thread:
    one Lambda container serves one request at a time, and Powertools' resolver keeps
    the current request on itself, so threads through one resolver would swap each
    other's requests. The storage protocol under test is below the resolver; the same
    race over HTTP, one process per client, is benchmarks/concurrent_puts.py."""
    service = api.module.flows()
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        body = {"flow": renamed(chain(), f"{tag}-{n}")}
        start.wait()
        try:
            saved = service.update("data_pipeline", body, f'"{version}"')
            outcome = Outcome(version=saved.flow.version, name=saved.flow.name)
        except FlowManagerError as exc:
            outcome = Outcome(error=exc.code)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_updates_never_lose_the_acknowledged_one(api: Api) -> None:
    # Given a flow at version 1
    api.create(chain())
    version = 1
    for round_ in range(BURSTS):
        # When twenty clients update it from the same version at once
        outcomes = burst(api, version, f"round{round_}")
        # Then exactly one is told it made the next version, the others are refused
        winners = [o for o in outcomes if o.error is None]
        assert len(winners) == 1, outcomes
        assert {o.error for o in outcomes if o.error} <= {"VersionConflict", "FlowBusy"}
        (winner,) = winners
        # And what the winner was told is what reads see
        current = api.request("GET", "/flows/data_pipeline").body
        assert (current["version"], current["name"]) == (
            winner.version,
            winner.name,
        )
        assert current["version"] == version + 1
        version = current["version"]
    # And the flow still takes the next update
    last = api.request(
        "PUT",
        "/flows/data_pipeline",
        {"flow": renamed(chain(), "after")},
        headers={"If-Match": f'"{version}"'},
    )
    assert (last.status, last.body["version"]) == (200, version + 1)


def test_an_abandoned_update_blocks_others_only_until_its_lease_ends(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an update that died after writing its pending version (as a killed Lambda)
    api.create(chain())
    fail_once(api.module.flows().store, "publish", monkeypatch)
    abandoned = {"flow": renamed(chain(), "abandoned")}
    api.request("PUT", "/flows/data_pipeline", abandoned, headers={"If-Match": "1"})
    other = {"flow": renamed(chain(), "other")}
    # When another definition is PUT during the lease, and again once it has passed
    during_lease = api.request("PUT", "/flows/data_pipeline", other, headers={"If-Match": "1"})
    flows = api.module.flows()
    later = flows.clock() + timedelta(seconds=flows.settings.pending_lease_seconds + 1)
    monkeypatch.setattr(flows, "clock", lambda: later)
    after_lease = api.request("PUT", "/flows/data_pipeline", other, headers={"If-Match": "1"})
    # Then it is told to retry, then takes the version over, and reads show it
    assert (during_lease.status, during_lease.error_code) == (409, "FlowBusy")
    assert (after_lease.status, after_lease.body["version"]) == (200, 2)
    current = api.request("GET", "/flows/data_pipeline").body
    assert (current["version"], current["name"]) == (2, "other")
