"""SnapStart's runtime hooks (`snapshot_restore_py`) in the local runtime: the template
is the snapshot, a forked worker its restore (no HTTP: the workers alone, on scratch
functions)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from flow_manager_local.runtime import PRIME_IDLE_SECONDS
from tests.e2e.support import local_only
from tests.e2e.worker_pools import call, run_together

pytestmark = local_only

HOOKED = """
import os
from snapshot_restore_py import register_after_restore, register_before_snapshot

RAN = []

@register_before_snapshot
def registered_first():
    RAN.append(("before", "first", os.getpid()))

def registered_second(label):
    RAN.append(("before", label, os.getpid()))

register_before_snapshot(registered_second, label="second")

@register_after_restore
def restored():
    RAN.append(("after", "restored", os.getpid()))
{extra}

def lambda_handler(event, context):
    import time
    time.sleep(event.get("seconds", 0))
    return {"pid": os.getpid(), "ran": RAN}
"""

# A before-snapshot hook that leaves a thread running (a fork would not copy it).
THREAD_LEFT = """
import threading
@register_before_snapshot
def serving():
    threading.Thread(target=threading.Event().wait, daemon=True).start()
"""


def logged(logs: io.StringIO, text: str, seconds: float = 5.0) -> bool:
    """Whether `text` reaches the logs within `seconds` (they are read by a thread)."""
    deadline = time.monotonic() + seconds
    while text not in logs.getvalue():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_before_snapshot_hooks_run_once_in_the_template_and_after_restore_in_each_worker(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function registering two before-snapshot hooks and an after-restore one
    pool, _ = make_pool(HOOKED.replace("{extra}", ""), max_workers=2)
    # When two invocations run at once (two forked workers)
    bodies = run_together(pool, 2, 0.5)
    # Then both workers hold what the before-snapshot hooks made, made once, before the
    # fork (in another process, the template), last registered first, as Lambda runs them
    assert len(bodies) == 2
    befores = {tuple(tuple(r) for r in b["ran"] if r[0] == "before") for b in bodies}
    (ran,) = befores
    assert [label for _, label, _ in ran] == ["second", "first"]
    assert len({pid for _, _, pid in ran}) == 1
    template = ran[0][2]
    assert template not in {b["pid"] for b in bodies}
    # And each worker ran the after-restore hook itself, after them
    for body in bodies:
        assert body["ran"][-1] == ["after", "restored", body["pid"]]


def test_a_failing_after_restore_hook_fails_every_invocation_of_that_worker(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose after-restore hook raises (a restore that fails)
    extra = (
        "@register_after_restore\n"
        "def broken():\n"
        "    raise RuntimeError('no connection after restore')\n"
    )
    pool, logs = make_pool(HOOKED.replace("{extra}", extra), max_workers=1)
    # When it is invoked twice
    answers = [call(pool, {}) for _ in range(2)]
    # Then both invocations fail with the hook's error, and the log says which hook
    message = "after-restore hook broken failed: RuntimeError: no connection after restore"
    for answer, body in answers:
        assert answer.function_error == "Unhandled"
        assert body["errorType"] == "SnapStartException"
        assert body["errorMessage"] == message
    assert logged(logs, message), logs.getvalue()


def test_a_failing_before_snapshot_hook_is_logged_and_the_workers_still_serve(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function with a before-snapshot hook that exits (registered last: run first)
    extra = (
        "@register_before_snapshot\ndef broken():\n    raise SystemExit('bucket not configured')\n"
    )
    pool, logs = make_pool(HOOKED.replace("{extra}", extra), max_workers=1)
    # When it is invoked
    answer, body = call(pool, {})
    # Then the worker answers, with what the other hooks made, and the log says why
    # the failing one made nothing (under SnapStart the version would not publish)
    assert answer.function_error is None
    assert [label for kind, label, _ in body["ran"] if kind == "before"] == ["second", "first"]
    expected = "before-snapshot hook broken failed: SystemExit: bucket not configured"
    assert logged(logs, expected), logs.getvalue()


def test_a_worker_not_forked_from_a_template_can_import_the_hooks_but_none_run(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose init leaves a thread running: no template, a new process
    # per worker, as Lambda without SnapStart (the module importable, never called)
    extra = "import threading\nthreading.Thread(target=threading.Event().wait, daemon=True).start()"
    pool, _ = make_pool(HOOKED.replace("{extra}", extra), max_workers=1)
    # When it is invoked
    answer, body = call(pool, {})
    # Then it answers, and no hook ran
    assert answer.function_error is None
    assert body["ran"] == []


def test_a_before_snapshot_hook_that_leaves_a_thread_makes_every_further_worker_new(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose before-snapshot hook starts a thread (a fork would not copy it)
    pool, logs = make_pool(HOOKED.replace("{extra}", THREAD_LEFT), max_workers=1)
    # When it is invoked
    answer, body = call(pool, {})
    # Then a new process answered, which ran the init (and no hook) itself, and the log
    # says why
    assert answer.function_error is None
    assert body["ran"] == []
    assert logged(logs, "a before-snapshot hook left a thread running or a socket open")


def test_the_first_worker_forked_before_the_hooks_runs_no_after_restore_hook(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose first worker is forked before the hooks (the API's, which
    # the stack's start waits for), allowed two workers
    pool, _ = make_pool(HOOKED.replace("{extra}", ""), max_workers=2, awaited=True)
    # When two invocations run at once (the first worker, and one forked after the hooks)
    bodies = run_together(pool, 2, 0.5)
    # Then the first ran no hook at all; the second holds what both kinds made
    kinds = sorted([kind for kind, _, _ in b["ran"]] for b in bodies)
    assert kinds == [[], ["before", "before", "after"]]


STAMPED = """
import time
from snapshot_restore_py import register_before_snapshot

MADE = []
register_before_snapshot(lambda: MADE.append(time.time()))

def lambda_handler(event, context):
    time.sleep(event.get("seconds", 0))
    return {"made": MADE}
"""


def test_a_template_that_forked_before_its_hooks_runs_them_once_idle_not_at_the_next_fork(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose first worker is forked before the hooks (the API's), idle
    # for longer than the template waits for quiet
    pool, _ = make_pool(STAMPED, max_workers=2, awaited=True)
    assert call(pool, {})[1] == {"made": []}
    time.sleep(PRIME_IDLE_SECONDS + 1.0)
    # When the load comes (two invocations at once: the pool forks a second worker)
    asked = time.time()
    bodies = run_together(pool, 2, 0.5)
    # Then both workers (a restore in place of the first, and the second) hold what the
    # hooks made once, before the load came
    made = {tuple(b["made"]) for b in bodies}
    assert len(made) == 1
    (stamps,) = made
    assert len(stamps) == 1
    assert stamps[0] < asked


def test_the_first_worker_forked_before_the_hooks_is_replaced_by_a_restore_once_idle(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose first worker is forked before the hooks (the API's)
    pool, logs = make_pool(HOOKED.replace("{extra}", ""), max_workers=2, awaited=True)
    first = call(pool, {})[1]
    assert first["ran"] == []
    # When the template has been idle long enough to take its snapshot
    assert logged(logs, "forked before the snapshot: stopped", seconds=PRIME_IDLE_SECONDS + 5.0)
    # Then the next invocation runs in another worker, a restore of the snapshot
    then = call(pool, {})[1]
    assert then["pid"] != first["pid"]
    assert [kind for kind, _, _ in then["ran"]] == ["before", "before", "after"]


def test_a_template_whose_hooks_leave_a_thread_while_idle_is_not_started_again(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose first worker is forked before the hooks (the API's), whose
    # before-snapshot hook starts a thread, and whose template has been idle long enough
    # to run it (and then stop: a fork would not copy the thread)
    pool, logs = make_pool(HOOKED.replace("{extra}", THREAD_LEFT), max_workers=3, awaited=True)
    warning = "a before-snapshot hook left a thread running or a socket open"
    assert logged(logs, warning, seconds=PRIME_IDLE_SECONDS + 5.0)
    # When the pool grows to three workers
    bodies = run_together(pool, 3, 0.5)
    # Then the new workers are new processes (no hook ran in them), and no template was
    # started again to run the hooks once more
    assert len({b["pid"] for b in bodies}) == 3
    assert all(b["ran"] == [] for b in bodies)
    assert logs.getvalue().count(warning) == 1
