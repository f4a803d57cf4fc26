"""Each Lambda function's handler, running in worker processes that stay warm.

A `FunctionPool` per function keeps up to `max_workers` processes (see `runtime.py`),
each with the function's code and layers on `sys.path` and the environment the
template gives it, made by its `Spawner` (`worker_processes.py`: forked from the
function's initialised template, so a new worker costs a fork, not an init). An
invocation takes an idle worker (else the one `start()` is warming, else it starts
one), and answers the way Lambda does:

- the handler returned: its JSON;
- the handler raised: `{"errorType", "errorMessage", "stackTrace"}`, function error
  `Unhandled`, and the worker stays;
- the handler ran past the function's `Timeout`: `Sandbox.Timedout`, "Task timed out
  after N.00 seconds", and the worker is killed and replaced;
- the worker died (exit, crash, signal) while running the invocation: `Runtime.ExitError`,
  and it is replaced.

A worker that dies while idle (`kill -9`, the OOM killer) fails nothing: it is found
dead before it is handed a request (its socket is closed), or it never acknowledges
the request (a process still dying can take the bytes), and the request goes to
another worker; a reaper also notices it within `REAP_INTERVAL_SECONDS`, collects the
zombie and starts a replacement, so the pool stays warm.

Workers stop in order when the stack stops, and exit by themselves if it dies
(see `worker_processes.py`).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any

from flow_manager_local.console import Console
from flow_manager_local.moto_lambda import Invocation
from flow_manager_local.root_template import TemplateRoot
from flow_manager_local.template import FunctionSpec
from flow_manager_local.worker_processes import (
    INIT_TIMEOUT_SECONDS,
    STOP_GRACE_SECONDS,
    PoolClosed,
    Spawner,
    Worker,
    WorkerInitError,
    error,
    receive,
)

QUEUE_TIMEOUT_SECONDS = 300.0  # waiting for a free worker when all are busy
ACK_TIMEOUT_SECONDS = 5.0  # a live worker acknowledges a request at once
REAP_INTERVAL_SECONDS = 0.5  # how soon a worker that died idle is collected and replaced
# A worker idle this long is stopped, down to min_workers, as Lambda reclaims an idle
# execution environment (after minutes; AWS does not say how many): a stack left running
# after a burst gives back its memory.
IDLE_SECONDS = 300.0


class FunctionPool:
    """The warm workers of one function, and the invoke path through them."""

    def __init__(
        self,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        console: Console,
        *,
        max_workers: int = 4,
        min_workers: int = 1,
        python: str = sys.executable,
        awaited: bool = False,
        idle_seconds: float = IDLE_SECONDS,
        root: TemplateRoot | None = None,
    ) -> None:
        """`awaited`: the stack's start waits for this function's first worker (see
        Spawner's priming); `root`: the template to fork this function's from."""
        self.spec = spec
        self.environment = dict(environment)
        self.console = console
        self.max_workers = max(1, max_workers)
        self.min_workers = min(min_workers, self.max_workers)
        self.python = python
        self._lock = threading.Condition()
        self._idle: list[Worker] = []  # the last released at the end: taken first
        self._idle_since: dict[Worker, float] = {}
        self.idle_seconds = idle_seconds
        self._live = 0  # idle + busy + starting
        self._warming = 0  # starting for start(): an invoke waits for one of them
        self._closed = False
        self._all: set[Worker] = set()
        self._reaper: threading.Thread | None = None
        # The reaper sleeps on this, not on _lock: a released worker wakes one waiter of
        # _lock, which must be an invoke waiting for a worker (see _release).
        self._closing = threading.Event()
        self._spawner = Spawner(
            spec,
            self.environment,
            console,
            python=python,
            register=self._register,
            discard=self._discard,
            awaited=awaited,
            root=root,
        )

    @property
    def source(self) -> str:
        return self.spec.logical_id

    # -- lifecycle

    def start(self) -> None:
        """Start `min_workers` warm workers; an init error is logged, not raised."""
        with self._lock:
            wanted = max(0, self.min_workers - self._live)
            self._live += wanted
            self._warming += wanted
            if self._reaper is None and not self._closed:
                self._reaper = threading.Thread(
                    target=self._reap_idle, name=f"reap-{self.source}", daemon=True
                )
                self._reaper.start()
        for _ in range(wanted):
            try:
                worker = self._spawner.spawn()
            except (WorkerInitError, PoolClosed):
                with self._lock:
                    self._live -= 1
                    self._warming -= 1
                    self._lock.notify_all()
                continue
            self._release(worker, warmed=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._idle.clear()
            self._lock.notify_all()
        self._closing.set()
        for worker in workers:
            worker.stop()
        self._spawner.close()

    def _reap_idle(self) -> None:
        """Collect idle workers that died and start replacements, stop those idle for
        `idle_seconds` beyond `min_workers`, and replace an idle one forked before its
        template's snapshot with a restore of it, until the pool closes."""
        while not self._closing.wait(REAP_INTERVAL_SECONDS):
            snapshotted = self._spawner.snapshotted
            with self._lock:
                if self._closed:
                    return
                dead = [w for w in self._idle if not w.alive()]
                for worker in dead:
                    self._idle.remove(worker)
                # Out of the count before retiring: a restore is not retired in its place.
                stale = [w for w in self._idle if not w.restored] if snapshotted else []
                for worker in stale:
                    self._idle.remove(worker)
                    self._idle_since.pop(worker, None)
                    self._live -= 1
                if stale:
                    self._lock.notify_all()  # an invoke waiting for room may fork now
                retired = self._retire_idle()
            for worker in dead:
                self._forget_dead(worker)
            for worker in stale:
                # It imported and made privately what the snapshot now shares (the API's
                # first worker: ~20 MB more than a restore).
                self._stop_idle(
                    worker,
                    "forked before the snapshot: stopped "
                    "(a restore of the snapshot takes its place when needed)",
                )
            if stale:
                self.start()  # back to min_workers, forked from the snapshot
            for worker in retired:
                self._stop_idle(worker, f"idle for {self.idle_seconds:g} s: stopped")

    def _stop_idle(self, worker: Worker, why: str) -> None:
        """Stop a worker the reaper took out of the idle list (and out of the count)."""
        self.console.line(self.source, f"worker {worker.pid} {why}")
        worker.stop()
        self._discard(worker)  # stopped: this only forgets it

    def _retire_idle(self) -> list[Worker]:
        """Take out the workers idle too long, the longest idle first, while more than
        `min_workers` live (the caller holds the lock, and stops them)."""
        retired: list[Worker] = []
        now = time.monotonic()
        while self._idle and self._live > self.min_workers:
            oldest = self._idle[0]
            if now - self._idle_since.get(oldest, now) < self.idle_seconds:
                break
            self._idle.pop(0)
            self._idle_since.pop(oldest, None)
            self._live -= 1
            retired.append(oldest)
        return retired

    def pids(self) -> list[int]:
        """The workers' processes (the template is not one)."""
        with self._lock:
            return [w.pid for w in self._all]

    def process_groups(self) -> list[int]:
        """Every process group this pool started: its workers' and its template's."""
        template = self._spawner.template_pid
        return self.pids() + ([template] if template is not None else [])

    def _register(self, worker: Worker) -> None:
        with self._lock:
            closed = self._closed
            self._all.add(worker)
        if closed:  # close() ran while this one started: it must not outlive the pool
            self._discard(worker)
            raise PoolClosed

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
            self._idle_since.pop(worker, None)

    # -- acquiring and releasing workers

    def _acquire(self) -> Worker:
        deadline = time.monotonic() + QUEUE_TIMEOUT_SECONDS
        while True:
            with self._lock:
                if self._closed:
                    raise PoolClosed
                if self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                elif self._live < self.max_workers and not self._warming:
                    self._live += 1
                    break
                else:  # all busy, or one warming: it is as soon ready as a new one
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    self._lock.wait(remaining)
                    continue
            # Died while idle (outside the lock: reaping waits on the process).
            self._forget_dead(worker)
        try:
            return self._spawner.spawn()
        except BaseException:
            with self._lock:
                self._live -= 1
                self._lock.notify_all()
            raise

    def _release(self, worker: Worker, *, warmed: bool = False) -> None:
        with self._lock:
            if warmed:
                self._warming -= 1
            if self._closed:
                closing = True
            else:
                closing = False
                self._idle.append(worker)
                self._idle_since[worker] = time.monotonic()
                # One worker for one waiter: waking them all (16 under load) only made
                # them queue for the lock again. A warmed worker also ends the wait of
                # those that may now start their own.
                if warmed:
                    self._lock.notify_all()
                else:
                    self._lock.notify()
        if closing:
            worker.stop()

    def _forget_dead(self, worker: Worker) -> None:
        self.console.line(
            self.source, f"worker {worker.pid} died while idle ({_reaped(worker)}): replacing it"
        )
        self._replace(worker)

    def _replace(self, worker: Worker) -> None:
        """Forget a dead worker and, in the background, start another to stay warm."""
        self._discard(worker)
        with self._lock:
            self._live -= 1
            self._lock.notify_all()
            closed = self._closed
        if not closed:
            threading.Thread(target=self.start, name=f"warm-{self.source}", daemon=True).start()

    # -- invoking

    def invoke(self, payload: bytes, *, request_id: str | None = None) -> Invocation:
        """Run the handler on `payload` (the event's JSON) and answer as Lambda would."""
        request_id = request_id or str(uuid.uuid4())
        started = time.monotonic()

        def request() -> bytes:  # made once a worker is there: its timeout starts now
            deadline_ms = int(time.time() * 1000) + self.spec.timeout * 1000
            message = {
                "request_id": request_id,
                "payload": payload.decode("utf-8", errors="replace"),
                "deadline_ms": deadline_ms,
                "invoked_function_arn": self.spec.arn,
            }
            return json.dumps(message).encode()

        try:
            worker = self._deliver(request)
        except WorkerInitError as exc:
            self.console.line(self.source, f"INIT FAILED {exc.error.get('errorType')}: {exc}")
            return _unhandled(exc.error)
        except PoolClosed:
            return _unhandled(error("Runtime.Unavailable", "the local stack is shutting down"))
        except TimeoutError:
            return _unhandled(
                error(
                    "Runtime.Throttled",
                    f"no free worker for {self.spec.name} within {QUEUE_TIMEOUT_SECONDS:.0f} s",
                )
            )
        try:
            answer = receive(worker, float(self.spec.timeout))
        except TimeoutError:
            self._replace(worker)
            message = f"Task timed out after {self.spec.timeout:.2f} seconds"
            self._report(request_id, started, message)
            return _unhandled(error("Sandbox.Timedout", message))
        except (EOFError, OSError):
            reason = _reaped(worker)
            self._replace(worker)
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
            self._report(request_id, started, message)
            return _unhandled(error("Runtime.ExitError", message))
        worker.invocations += 1
        self._release(worker)
        if "error" in answer:
            self._report(request_id, started, f"error {answer['error'].get('errorType')}")
            return _unhandled(answer["error"])
        self._report(request_id, started)
        return Invocation(str(answer["result"]).encode())

    def _deliver(self, request: Callable[[], bytes]) -> Worker:
        """Hand `request` to a live worker; return it once the worker has it.

        A worker that died since the check in `_acquire` refuses the bytes, or (still
        dying: its socket closes when its last thread has gone) takes them and closes
        without acknowledging: the request never reached a handler, so another worker
        takes it. One that does not acknowledge in time is left to the invocation's
        timeout (the acknowledgement is skipped when it comes).
        """
        while True:
            worker = self._acquire()
            try:
                worker.connection.send_bytes(request())
                if worker.connection.poll(ACK_TIMEOUT_SECONDS):
                    json.loads(worker.connection.recv_bytes())  # {"started": true}
            except (EOFError, OSError):
                self._forget_dead(worker)
                continue
            return worker

    def _report(self, request_id: str, started: float, note: str = "") -> None:
        duration = (time.monotonic() - started) * 1000
        suffix = f"\t{note}" if note else ""
        self.console.line(
            self.source, f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms{suffix}"
        )


def _reaped(worker: Worker) -> str:
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.process.wait(timeout=STOP_GRACE_SECONDS)
    return worker.exit_description()


def _unhandled(error: Mapping[str, Any]) -> Invocation:
    return Invocation(json.dumps(dict(error)).encode(), "Unhandled")


class Workers:
    """Every function's pool, by function name; the dispatcher moto's invoke hook calls.
    `root`: the template every pool's is forked from, stopped after them."""

    def __init__(self, pools: Mapping[str, FunctionPool], root: TemplateRoot | None = None) -> None:
        self.pools = dict(pools)  # function name → pool
        self.root = root

    def dispatch(self, function_name: str, payload: bytes) -> Invocation:
        pool = self.pools.get(function_name)
        if pool is None:
            # Lambda would refuse before running anything; say which names exist.
            known = ", ".join(sorted(self.pools))
            return _unhandled(
                error(
                    "ResourceNotFoundException",
                    f"Function not found: {function_name} (the local stack has {known})",
                )
            )
        return pool.invoke(payload)

    def start(self, names: Collection[str] | None = None) -> None:
        """Warm the pools of `names` (every pool by default) at once, and return when they
        are: imports dominate, and processes run in parallel."""
        threads = [
            threading.Thread(target=pool.start, name=f"warm-{name}", daemon=True)
            for name, pool in self.pools.items()
            if names is None or name in names
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(INIT_TIMEOUT_SECONDS + 5)

    def close(self) -> None:
        threads = [threading.Thread(target=pool.close, daemon=True) for pool in self.pools.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(STOP_GRACE_SECONDS * 3)
        if self.root is not None:
            self.root.close()

    def process_groups(self) -> list[int]:
        groups = [pid for pool in self.pools.values() for pid in pool.process_groups()]
        root = None if self.root is None else self.root.pid
        return groups + ([root] if root is not None else [])
