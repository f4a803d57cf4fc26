"""DESIGN §8: a failure between the DynamoDB writes and the Step Functions calls leaves
nothing half visible, retrying the same request converges, and concurrent writers
cannot both win. Failures are injected where a Lambda could die or AWS could throttle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from threading import Event
from typing import Any

import pytest

from flow_manager.errors import ServiceUnavailable
from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain, renamed


def fail_once(target: object, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next call of target.name raises ServiceUnavailable (503); later calls work."""
    real = getattr(target, name)
    calls = 0

    def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ServiceUnavailable("injected failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)


def during(target: object, name: str, action: Callable[[], None], mp: pytest.MonkeyPatch) -> None:
    """Run `action` (another client's request) just before the next call of target.name."""
    real = getattr(target, name)
    pending = [action]

    def interleaved(*args: Any, **kwargs: Any) -> Any:
        while pending:
            pending.pop()()
        return real(*args, **kwargs)

    mp.setattr(target, name, interleaved)


def test_create_failing_at_step_functions_leaves_nothing_and_a_retry_creates(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Step Functions fails once after the pending items were written
    fail_once(api.module.flows().engine, "publish", monkeypatch)
    # When the flow is created, then created again
    failed = api.request("POST", "/flows", {"flow": chain()})
    hidden = api.request("GET", "/flows/data_pipeline")
    listed = api.request("GET", "/flows").body["flows"]
    retried = api.request("POST", "/flows", {"flow": chain()})
    # Then the failure showed nothing, and the retry converged on version 1
    assert failed.status == 503
    assert hidden.status == 404
    assert listed == []
    assert retried.status == 201
    assert retried.body["version"] == 1


def test_create_failing_after_publishing_converges_on_retry(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the commit to DynamoDB fails after the state machine was published
    fail_once(api.module.flows().store, "publish", monkeypatch)
    # When the flow is created twice
    failed = api.request("POST", "/flows", {"flow": chain()})
    hidden = api.request("GET", "/flows/data_pipeline")
    retried = api.request("POST", "/flows", {"flow": chain()})
    # Then the second attempt finished the first one's work, and the flow runs
    assert failed.status == 503
    assert hidden.status == 404
    assert retried.status == 201
    execution = api.request("POST", "/flows/data_pipeline/executions", {"context": {}})
    assert api.wait(execution.body["execution_id"])["status"] == "completed"


def test_a_half_created_flow_blocks_another_definition_until_its_lease_ends(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a creation that died after writing its pending items
    fail_once(api.module.flows().engine, "publish", monkeypatch)
    api.request("POST", "/flows", {"flow": chain()})
    # When another definition is created under that id, now and after the lease
    during_lease = api.request("POST", "/flows", {"flow": renamed(chain(), "Other")})
    flows = api.module.flows()
    later = flows.clock() + timedelta(seconds=flows.settings.pending_lease_seconds + 1)
    monkeypatch.setattr(flows, "clock", lambda: later)
    after_lease = api.request("POST", "/flows", {"flow": renamed(chain(), "Other")})
    # Then it waits its turn, then takes the id over
    assert during_lease.status == 409
    assert after_lease.status == 201
    assert after_lease.body["name"] == "Other"


def test_update_failing_before_its_commit_keeps_the_old_version_current(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a flow at version 1 whose update dies after publishing to Step Functions
    api.create(chain())
    fail_once(api.module.flows().store, "publish", monkeypatch)
    change = {"flow": renamed(chain(task2={"fail": True}), "B")}
    failed = api.request("PUT", "/flows/data_pipeline", change, headers={"If-Match": "1"})
    # When the flow is read and run in between
    current = api.request("GET", "/flows/data_pipeline").body
    started = api.request("POST", "/flows/data_pipeline/executions", {"context": {}})
    report = api.wait(started.body["execution_id"])
    # Then version 1 is still what reads and runs
    assert failed.status == 503
    assert current["version"] == 1
    assert (report["flow_version"], report["status"]) == (1, "completed")
    # And retrying the update converges on version 2
    retried = api.request("PUT", "/flows/data_pipeline", change, headers={"If-Match": "1"})
    assert (retried.status, retried.body["version"]) == (200, 2)


def test_concurrent_updates_cannot_both_win(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two clients that both read version 1; B's update runs while A's is publishing
    api.create(chain())
    answers: dict[str, Any] = {}

    def client_b() -> None:
        body = {"flow": renamed(chain(), "B")}
        answers["b"] = api.request("PUT", "/flows/data_pipeline", body, headers={"If-Match": "1"})

    during(api.module.flows().engine, "publish", client_b, monkeypatch)
    # B runs inside A's call, so A cannot commit while B waits for it: B must not wait
    monkeypatch.setattr(api.module.flows(), "settle_seconds", 0.0)
    # When A's update goes through
    a = api.request(
        "PUT", "/flows/data_pipeline", {"flow": renamed(chain(), "A")}, headers={"If-Match": "1"}
    )
    # Then exactly one of them made version 2, and the other was told to retry
    b = answers["b"]
    assert sorted([a.status, b.status]) == [200, 409]
    winner = "A" if a.status == 200 else "B"
    current = api.request("GET", "/flows/data_pipeline").body
    assert (current["version"], current["name"]) == (2, winner)


def put_in_thread(api: Api, name: str, answers: dict[str, Any]) -> threading.Thread:
    def put() -> None:
        body = {"flow": renamed(chain(), name)}
        answers[name] = api.request("PUT", "/flows/data_pipeline", body, headers={"If-Match": "1"})

    thread = threading.Thread(target=put, daemon=True)
    thread.start()
    return thread


def hold_publish(api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[Event, Event]:
    """The next engine.publish waits until the second event is set; the first is set
    once it is waiting (an update between its pending write and its commit)."""
    engine = api.module.flows().engine
    real = engine.publish
    publishing, release = Event(), Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        if not publishing.is_set():
            publishing.set()
            release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "publish", held)
    return publishing, release


def pausing(api: Api, monkeypatch: pytest.MonkeyPatch) -> Event:
    """Set when an update starts waiting for another to settle."""
    flows = api.module.flows()
    real = flows._pause
    waiting = Event()

    def pause() -> None:
        waiting.set()
        real()

    monkeypatch.setattr(flows, "_pause", pause)
    return waiting


def test_the_loser_of_a_concurrent_update_gets_412_once_the_winner_commits(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given A's update of version 1 holds version 2 and is publishing it
    api.create(chain())
    publishing, release = hold_publish(api, monkeypatch)
    waiting = pausing(api, monkeypatch)
    answers: dict[str, Any] = {}
    a = put_in_thread(api, "A", answers)
    assert publishing.wait(30)
    # When B's update of version 1 meets it (If-Match still current: it used to get 409
    # now, or 412 a moment later: a mix by timing)
    b = put_in_thread(api, "B", answers)
    assert waiting.wait(30)
    release.set()
    a.join(30)
    b.join(30)
    # Then B waited for A to settle and was told its If-Match is stale
    assert answers["A"].status == 200
    assert answers["B"].status == 412
    assert answers["B"].error_code == "VersionConflict"


def test_an_update_that_never_settles_makes_the_other_busy(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given A's update holds version 2 longer than B is willing to wait
    api.create(chain())
    publishing, release = hold_publish(api, monkeypatch)
    monkeypatch.setattr(api.module.flows(), "settle_seconds", 0.1)
    answers: dict[str, Any] = {}
    a = put_in_thread(api, "A", answers)
    assert publishing.wait(30)
    # When B updates version 1, still current
    b = put_in_thread(api, "B", answers)
    b.join(30)
    release.set()
    a.join(30)
    # Then B is told another update is in flight (409), and A's went through
    assert answers["B"].status == 409
    assert answers["B"].error_code == "FlowBusy"
    assert answers["A"].status == 200


def test_a_stale_if_match_is_412_even_while_another_update_is_in_flight(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given version 2 is current and an update of it is publishing version 3
    api.create(chain())
    body = {"flow": renamed(chain(), "v2")}
    assert api.request("PUT", "/flows/data_pipeline", body, headers={"If-Match": "1"}).status == 200
    publishing, release = hold_publish(api, monkeypatch)
    answers: dict[str, Any] = {}

    def put_v2() -> None:
        body = {"flow": renamed(chain(), "v3")}
        answers["A"] = api.request("PUT", "/flows/data_pipeline", body, headers={"If-Match": "2"})

    a = threading.Thread(target=put_v2, daemon=True)
    a.start()
    assert publishing.wait(30)
    # When a client still at version 1 updates
    stale = api.request(
        "PUT", "/flows/data_pipeline", {"flow": renamed(chain(), "B")}, headers={"If-Match": "1"}
    )
    release.set()
    a.join(30)
    # Then its If-Match is stale: 412 at once, not the in-flight update's 409
    assert stale.status == 412
    assert answers["A"].status == 200


def test_an_update_that_lost_its_lease_loses_to_the_one_that_took_over(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given A's update stalls past its lease while publishing, and B's runs meanwhile
    api.create(chain())
    flows = api.module.flows()
    answers: dict[str, Any] = {}

    def client_b_after_the_lease() -> None:
        later = flows.clock() + timedelta(seconds=flows.settings.pending_lease_seconds + 1)
        monkeypatch.setattr(flows, "clock", lambda: later)
        body = {"flow": renamed(chain(), "B")}
        answers["b"] = api.request("PUT", "/flows/data_pipeline", body, headers={"If-Match": "1"})

    during(flows.engine, "publish", client_b_after_the_lease, monkeypatch)
    # When A's update finishes
    a = api.request(
        "PUT", "/flows/data_pipeline", {"flow": renamed(chain(), "A")}, headers={"If-Match": "1"}
    )
    # Then B won version 2 and A is told the flow moved on
    assert answers["b"].status == 200
    assert a.status == 412
    assert api.request("GET", "/flows/data_pipeline").body["name"] == "B"


def test_a_start_failing_at_step_functions_is_converged_by_a_retry_with_its_key(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the start fails after the execution was indexed
    api.create(chain())
    fail_once(api.module.flows().engine, "start", monkeypatch)
    request = ("POST", "/flows/data_pipeline/executions", {"context": {"batch_id": "b"}})
    headers = {"Idempotency-Key": "retry-me"}
    # When the client retries with its Idempotency-Key
    failed = api.request(*request, headers=headers)
    retried = api.request(*request, headers=headers)
    # Then the retry started the execution, once
    assert failed.status == 503
    assert retried.status == 202
    assert api.wait(retried.body["execution_id"])["status"] == "completed"
    listed = api.request("GET", "/flows/data_pipeline/executions").body["executions"]
    assert [e["execution_id"] for e in listed] == [retried.body["execution_id"]]


def test_an_indexed_execution_that_never_started_is_not_found(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a start that failed after indexing (its id is derived from the key)
    api.create(chain())
    fail_once(api.module.flows().engine, "start", monkeypatch)
    api.request("POST", "/flows/data_pipeline/executions", {}, headers={"Idempotency-Key": "k"})
    records = api.module.flows().store.execution_ids("data_pipeline")
    (execution_id,) = list(records)
    # When it is read
    answer = api.request("GET", f"/executions/{execution_id}")
    # Then the API does not invent a status for it
    assert answer.status == 404


def test_a_delete_failing_at_step_functions_hides_the_flow_and_a_retry_finishes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.create(chain())
    fail_once(api.module.flows().engine, "delete_state_machine", monkeypatch)
    failed = api.request("DELETE", "/flows/data_pipeline")
    hidden = api.request("GET", "/flows/data_pipeline")
    retried = api.request("DELETE", "/flows/data_pipeline")
    assert failed.status == 503
    assert hidden.status == 404
    assert retried.status == 204
    assert api.request("POST", "/flows", {"flow": chain()}).status == 201


def after(target: object, name: str, exc: Exception, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next call of target.name does its work, then raises `exc`: a request cut off
    (API Gateway's 29 s, a killed worker) after the call took effect."""
    real = getattr(target, name)
    calls = 0

    def cut_off(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        result = real(*args, **kwargs)
        if calls == 1:
            raise exc
        return result

    monkeypatch.setattr(target, name, cut_off)


def test_a_create_cut_off_after_the_state_machine_exists_converges_on_retry(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a create whose request ends (timed out) once Step Functions made the machine
    after(api.module.flows().engine, "publish", ServiceUnavailable("timed out"), monkeypatch)
    failed = api.request("POST", "/flows", {"flow": chain()})
    hidden = api.request("GET", "/flows/data_pipeline")
    # When the client retries the same create
    retried = api.request("POST", "/flows", {"flow": chain()})
    # Then nothing was visible in between, the retry made version 1, and it runs
    assert failed.status == 503
    assert hidden.status == 404
    assert (retried.status, retried.body["version"]) == (201, 1)
    execution = api.request("POST", "/flows/data_pipeline/executions", {"context": {}})
    assert api.wait(execution.body["execution_id"])["status"] == "completed"


def test_a_retry_sent_while_a_slow_create_still_runs_converges_with_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a create still publishing (a large flow) when its client, timed out, retries
    answers: dict[str, Any] = {}

    def retry() -> None:
        answers["retry"] = api.request("POST", "/flows", {"flow": chain()})

    during(api.module.flows().engine, "publish", retry, monkeypatch)
    # When the first request finishes too
    first = api.request("POST", "/flows", {"flow": chain()})
    # Then both answer the one flow at version 1 (one made it, the other found it)
    statuses = sorted([first.status, answers["retry"].status])
    assert statuses == [200, 201]
    current = api.request("GET", "/flows/data_pipeline").body
    assert current["version"] == 1
