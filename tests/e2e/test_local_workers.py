"""Each function's handler in worker processes: answers, errors, timeouts and crashes
reported as Lambda reports them (no HTTP: the workers alone, on scratch functions)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from flow_manager_local.moto_lambda import Invocation
from tests.e2e.support import local_only
from tests.e2e.worker_pools import HANDLER, call, kill_and_wait

pytestmark = local_only


def test_a_returned_value_is_the_answer(make_pool: Callable[..., Any]) -> None:
    # Given a warm function / When it is invoked
    pool, _ = make_pool()
    answer, body = call(pool, {})
    # Then its return value comes back, no function error
    assert answer.function_error is None
    assert body["remaining"] > 0


def test_the_handler_sees_the_template_environment_and_moto_only(
    make_pool: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a developer with a real AWS profile in their shell
    monkeypatch.setenv("AWS_PROFILE", "production")
    pool, _ = make_pool()
    # When the function runs
    _, body = call(pool, {})
    # Then it sees the template's variables and moto's endpoint, not the profile
    assert (body["table"], body["endpoint"], body["profile"]) == (
        "from-the-template",
        "http://127.0.0.1:9",
        None,
    )


def test_workers_stay_warm_between_invocations(make_pool: Callable[..., Any]) -> None:
    # Given a function invoked once / When it is invoked again
    pool, _ = make_pool()
    _, first = call(pool, {})
    _, second = call(pool, {})
    # Then the same process answered
    assert first["pid"] == second["pid"]


def test_an_invoke_while_the_function_warms_takes_the_warming_worker(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose only worker is still warming (its module imports slowly)
    pool, _ = make_pool("import time\ntime.sleep(0.5)\n" + HANDLER, warm=False)
    warming = threading.Thread(target=pool.start)
    warming.start()
    deadline = time.monotonic() + 10
    while not pool.pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    # When it is invoked
    _, body = call(pool, {})
    warming.join()
    # Then that worker answers: no second process was started for the invoke
    assert pool.pids() == [body["pid"]]


def test_a_raised_exception_is_reported_as_lambda_does(make_pool: Callable[..., Any]) -> None:
    # Given a handler that raises / When it is invoked
    pool, _ = make_pool()
    answer, body = call(pool, {"mode": "raise"})
    # Then the error is Unhandled, with its type, message and the handler's frames
    assert answer.function_error == "Unhandled"
    assert (body["errorType"], body["errorMessage"]) == ("KeyError", "'missing thing'")
    assert any("app.py" in frame for frame in body["stackTrace"])


def test_a_handler_past_its_timeout_is_stopped_and_replaced(make_pool: Callable[..., Any]) -> None:
    # Given a function with a 1 s timeout, warm
    pool, _ = make_pool(timeout=1, max_workers=1)
    _, before = call(pool, {})
    # When an invocation sleeps past it
    answer, body = call(pool, {"mode": "sleep", "seconds": 30})
    # Then it fails as Lambda's timeout, and a new worker serves the next call
    assert answer.function_error == "Unhandled"
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "Task timed out after 1.00 seconds",
        "stackTrace": [],
    }
    _, after = call(pool, {})
    assert after["pid"] != before["pid"]


def test_a_handler_that_exits_fails_that_invocation_only(make_pool: Callable[..., Any]) -> None:
    # Given a warm function / When an invocation exits the process
    pool, _ = make_pool()
    answer, body = call(pool, {"mode": "exit"})
    # Then that invocation fails with Runtime.ExitError, and the next one works
    assert answer.function_error == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]
    assert call(pool, {})[0].function_error is None


def test_a_module_that_cannot_be_imported_fails_each_invocation(
    make_pool: Callable[..., Any],
) -> None:
    # Given a handler module that imports something missing / When it is invoked
    pool, _ = make_pool(source="import no_such_module_anywhere\n")
    answer, body = call(pool, {})
    # Then the invocation fails as Lambda's init error
    assert answer.function_error == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"


def test_concurrent_invocations_run_in_separate_workers(make_pool: Callable[..., Any]) -> None:
    # Given a function allowed two workers
    pool, _ = make_pool(max_workers=2)
    results: list[Any] = []
    # When two invocations that each take a while arrive together
    threads = [
        threading.Thread(
            target=lambda: results.append(call(pool, {"mode": "sleep", "seconds": 0.5})[1])
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # Then both succeed, in two processes
    assert len({r["pid"] for r in results}) == 2


def test_invocations_waiting_for_a_busy_worker_get_it_in_the_order_they_came(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function allowed one worker, busy
    pool, _ = make_pool(max_workers=1)
    busy = threading.Thread(target=call, args=(pool, {"mode": "sleep", "seconds": 0.6}))
    busy.start()
    time.sleep(0.1)
    finished: list[int] = []

    def invoke(n: int) -> None:
        call(pool, {"mode": "hello"})
        finished.append(n)

    # When invocations arrive one after another while it is busy
    waiting = []
    for n in range(6):
        thread = threading.Thread(target=invoke, args=(n,))
        thread.start()
        waiting.append(thread)
        time.sleep(0.05)  # so that it waits before the next one comes
    for thread in [busy, *waiting]:
        thread.join(10)
    # Then each got the worker in its turn: first come, first served
    assert finished == list(range(6))


def test_an_invocation_waiting_for_the_busy_worker_gets_it_when_it_is_free(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function allowed one worker (its pool also watches for dead idle workers)
    pool, _ = make_pool(max_workers=1)
    waited: list[float] = []
    for _ in range(5):
        busy = threading.Thread(target=call, args=(pool, {"mode": "sleep", "seconds": 0.1}))
        busy.start()
        time.sleep(0.02)
        # When an invocation comes while the worker is busy
        began = time.monotonic()
        waiting = threading.Thread(target=call, args=(pool, {"mode": "hello"}))
        waiting.start()
        waiting.join(5)
        busy.join(5)
        waited.append(time.monotonic() - began)
    # Then it runs as soon as the worker is free, every time (not at a later release)
    assert max(waited) < 5, waited


def test_a_functions_output_is_shown_prefixed_with_its_name(make_pool: Callable[..., Any]) -> None:
    # Given a handler that prints / When it is invoked
    pool, logs = make_pool()
    call(pool, {"mode": "hello"})
    # Then its line reaches the stack's output under the function's logical id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "| handling hello" not in logs.getvalue():
        time.sleep(0.05)  # the output is copied by a thread of its own
    assert any(
        line.startswith("ScratchFunction") and line.endswith("| handling hello")
        for line in logs.getvalue().splitlines()
    )


def test_requests_after_idle_workers_are_killed_all_succeed(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function with two warm workers
    pool, _ = make_pool(max_workers=2)
    event = {"mode": "sleep", "seconds": 0.5}
    together = [threading.Thread(target=call, args=(pool, event)) for _ in range(2)]
    for thread in together:
        thread.start()
    for thread in together:
        thread.join(10)
    killed = pool.pids()
    assert len(killed) == 2
    # When both are killed with SIGKILL while idle
    for pid in killed:
        kill_and_wait(pid)
    # Then every following request succeeds, in workers started after the kill
    answers = [call(pool, {}) for _ in range(5)]
    assert [a.function_error for a, _ in answers] == [None] * 5, answers[0]
    assert not {body["pid"] for _, body in answers} & set(killed)


def test_a_worker_killed_while_idle_is_collected_and_replaced(
    make_pool: Callable[..., Any],
) -> None:
    # Given a warm function
    pool, logs = make_pool(max_workers=1)
    (victim,) = pool.pids()
    # When its worker is killed while no request comes
    kill_and_wait(victim)
    # Then the zombie is collected and a new warm worker takes its place, unasked
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (victim in pool.pids() or not pool.pids()):
        time.sleep(0.05)
    assert victim not in pool.pids()
    assert pool.pids()
    assert not os.path.exists(f"/proc/{victim}")  # reaped: no zombie left
    assert f"worker {victim} died while idle (signal: kill)" in logs.getvalue(), logs.getvalue()


def test_only_the_request_running_when_its_worker_is_killed_fails(
    make_pool: Callable[..., Any],
) -> None:
    # Given a request running in the only worker
    pool, logs = make_pool(timeout=20, max_workers=1)
    (victim,) = pool.pids()
    running: list[tuple[Invocation, Any]] = []
    thread = threading.Thread(
        target=lambda: running.append(call(pool, {"mode": "sleep", "seconds": 15}))
    )
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "| handling sleep" not in logs.getvalue():
        time.sleep(0.01)  # the handler prints before it sleeps
    # When the worker is killed under it
    kill_and_wait(victim)
    thread.join(10)
    # Then that request fails as Lambda reports a crash, and the next ones succeed
    (answer, body) = running[0]
    assert (answer.function_error, body["errorType"]) == ("Unhandled", "Runtime.ExitError")
    assert "signal: kill" in body["errorMessage"]
    assert [call(pool, {})[0].function_error for _ in range(3)] == [None] * 3


def test_workers_idle_too_long_are_stopped_down_to_one_that_keeps_serving(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose pool grew to two workers under two invocations at once,
    # and whose idle workers are stopped after a second
    pool, logs = make_pool(max_workers=2, idle_seconds=1.0)
    threads = [
        threading.Thread(target=lambda: call(pool, {"mode": "sleep", "seconds": 0.5}))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    grown = pool.pids()
    # When no request comes for longer than that
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(pool.pids()) > 1:
        time.sleep(0.05)
    # Then one worker was stopped (and reaped), the other stays, and it still serves
    assert len(grown) == 2
    (kept,) = pool.pids()
    (stopped,) = set(grown) - {kept}
    assert not os.path.exists(f"/proc/{stopped}")
    assert f"worker {stopped} idle for 1 s: stopped" in logs.getvalue(), logs.getvalue()
    answer, body = call(pool, {})
    assert answer.function_error is None
    assert body["pid"] == kept
