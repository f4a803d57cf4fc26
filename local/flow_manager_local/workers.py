"""Each Lambda function's handler, running in worker processes that stay warm.

A `FunctionPool` per function keeps up to `max_workers` processes (see `runtime.py`),
each with the function's code and layers on `sys.path` and the environment the
template gives it, forked from the function's initialised template (`zygote.py`), so a
new worker costs a fork, not an init. An invocation takes an idle worker (else the one
`start()` is warming, else it starts one), and answers the way Lambda does:

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

Templates (and spawned workers) run in their own session, and forked workers in their
own process group, so Ctrl-C in a terminal reaches the local stack only, which then
stops them in order; they also exit by themselves if the stack dies (spawned workers
watch their parent; templates and forked ones a pipe only the stack can write to).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from flow_manager_local.console import Console, pump
from flow_manager_local.moto_lambda import Invocation
from flow_manager_local.template import FunctionSpec
from flow_manager_local.zygote import TemplateGone, Zygote

RUNTIME_SCRIPT = Path(__file__).with_name("runtime.py")
CONFIG_VARIABLE = "_FLOW_MANAGER_LOCAL_WORKER"
INIT_TIMEOUT_SECONDS = 60.0  # imports on a cold, busy machine; Lambda allows 10 s
QUEUE_TIMEOUT_SECONDS = 300.0  # waiting for a free worker when all are busy
STOP_GRACE_SECONDS = 2.0
ACK_TIMEOUT_SECONDS = 5.0  # a live worker acknowledges a request at once
REAP_INTERVAL_SECONDS = 0.5  # how soon a worker that died idle is collected and replaced
# What a template loads for its workers (see runtime._prime): the services the local
# stack's functions call, all served by moto.
PRIMED_SERVICES = ("dynamodb", "s3", "stepfunctions", "scheduler")


class WorkerInitError(Exception):
    """The handler module could not be imported (reported per invocation, as Lambda does)."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(str(error.get("errorMessage")))
        self.error = dict(error)


class PoolClosed(Exception):
    pass


class Process(Protocol):
    """What a worker's process answers: a spawned one's Popen, or a ForkedProcess."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int | None: ...


@dataclass(eq=False)  # identity semantics: workers live in sets
class Worker:
    """One process running `runtime.py` for one function."""

    process: Process
    connection: Connection
    started: float = field(default_factory=time.monotonic)
    invocations: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        """False once the process has exited (a spawned one's zombie is collected by
        the check; a forked one's template collects it).

        An idle worker never has anything to read: a readable socket means its end was
        closed, which the kernel does the moment the process dies, even before it is
        reaped. poll() alone would also do, but may not see it yet while another thread
        waits on the process.
        """
        if self.process.poll() is not None:
            return False
        try:
            return not self.connection.poll(0)
        except (OSError, ValueError):  # our end closed: discarded already
            return False

    def kill(self) -> None:
        """Kill the worker and anything its handler started (its whole process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        """Close its connection (it exits by itself), then kill it if it lingers."""
        self.connection.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        self.kill()

    def _reap(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        self.connection.close()

    def exit_description(self) -> str:
        return _exit_description(self.process.poll())


def worker_environment(spec: FunctionSpec, *, endpoint_url: str, region: str) -> dict[str, str]:
    """What a function's process sees: Lambda's variables, the template's, moto's endpoint.

    The developer's own environment is not inherited: a real AWS profile or key in it
    must not reach code that believes it talks to moto.
    """
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": "UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        # Tracing needs an X-Ray daemon; the template may still switch it on.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **spec.environment,
        # Forced: whatever the template says, the local stack talks to moto only.
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return environment


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
    ) -> None:
        self.spec = spec
        self.environment = dict(environment)
        self.console = console
        self.max_workers = max(1, max_workers)
        self.min_workers = min(min_workers, self.max_workers)
        self.python = python
        self._lock = threading.Condition()
        self._idle: list[Worker] = []
        self._live = 0  # idle + busy + starting
        self._warming = 0  # starting for start(): an invoke waits for one of them
        self._closed = False
        self._all: set[Worker] = set()
        self._reaper: threading.Thread | None = None
        # The reaper sleeps on this, not on _lock: a released worker wakes one waiter of
        # _lock, which must be an invoke waiting for a worker (see _release).
        self._closing = threading.Event()
        self._templating = threading.Lock()  # one template starts at a time
        self._zygote: Zygote | None = None
        self._forkable = True  # until a template says its init cannot be forked from
        # Its read end goes to every template, and from them to their workers: they exit
        # when it closes, which the kernel does if this process dies (see runtime.py).
        self._stack_pipe: tuple[int, int] | None = None

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
                worker = self._spawn()
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
        zygote = self._zygote
        if zygote is not None:
            zygote.close(STOP_GRACE_SECONDS)
        with self._templating:  # not while a template starts with it (it ends at once)
            if self._stack_pipe is not None:
                for end in self._stack_pipe:
                    os.close(end)
                self._stack_pipe = None

    def _reap_idle(self) -> None:
        """Collect idle workers that died and start replacements, until the pool closes."""
        while not self._closing.wait(REAP_INTERVAL_SECONDS):
            with self._lock:
                if self._closed:
                    return
                dead = [w for w in self._idle if not w.alive()]
                for worker in dead:
                    self._idle.remove(worker)
            for worker in dead:
                self._forget_dead(worker)

    def pids(self) -> list[int]:
        """The workers' processes (the template is not one)."""
        with self._lock:
            return [w.pid for w in self._all]

    def process_groups(self) -> list[int]:
        """Every process group this pool started: its workers' and its template's."""
        zygote = self._zygote
        return self.pids() + ([zygote.pid] if zygote is not None else [])

    def _config(self) -> dict[str, Any]:
        return {
            "function_name": self.spec.name,
            "arn": self.spec.arn,
            "memory_size": self.spec.memory_size,
            "handler": self.spec.handler,
            "code_dir": str(self.spec.code_dir),
            "layer_dirs": [str(d) for d in self.spec.layer_dirs],
        }

    def _command(self) -> list[str]:
        # The function's name as the argument keeps `ps` readable; the rest travels in
        # the environment, which the runtime removes before init.
        return [self.python, "-I", "-u", str(RUNTIME_SCRIPT), self.spec.name]

    def _spawn(self) -> Worker:
        """A new worker: forked from the function's template, or a new process when the
        function cannot be forked from (see zygote.py)."""
        for _ in range(2):  # a template that died is replaced once
            zygote = self._template()
            if zygote is None:
                return self._spawn_process()
            try:
                forked = zygote.fork()
            except TemplateGone:
                self._drop_template(zygote)
                continue
            worker = Worker(forked.process, forked.connection)
            self._register(worker)
            pump(forked.stdout, self.console, self.source)
            pump(forked.stderr, self.console, self.source)
            return worker
        return self._spawn_process()

    def _template(self) -> Zygote | None:
        """The running template, started (its init run) if there is none; None when the
        function's init cannot be forked from. Raises WorkerInitError as a spawn does."""
        with self._templating:
            if self._zygote is not None:
                if self._zygote.alive:
                    return self._zygote
                self._zygote.close(STOP_GRACE_SECONDS)  # died: collect it first
                self._zygote = None
            if not self._forkable:
                return None
            if self._stack_pipe is None:
                self._stack_pipe = os.pipe()
            zygote = Zygote(
                self._command(),
                self.environment,
                {**self._config(), "prime": PRIMED_SERVICES},
                self.spec.code_dir,
                lambda stream: pump(stream, self.console, self.source),
                stack_fd=self._stack_pipe[0],
            )
            with self._lock:
                closed = self._closed
                self._zygote = zygote
            if closed:
                zygote.kill()
                raise PoolClosed
            try:
                hello = zygote.wait_ready(INIT_TIMEOUT_SECONDS)
            except (TimeoutError, EOFError) as exc:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    zygote.process.wait(STOP_GRACE_SECONDS)  # EOF: it is exiting
                error = _init_exit(zygote.process)
                self._zygote = None
                zygote.kill()
                if self._closed:
                    raise PoolClosed from None
                raise WorkerInitError(error) from exc
            if "init_error" in hello:
                self._zygote = None
                zygote.kill()
                raise WorkerInitError(hello["init_error"])
            if not hello.get("forkable"):
                self._forkable = False  # it has exited; every worker is a new process
                self._zygote = None
                zygote.close()
                return None
            return zygote

    def _drop_template(self, zygote: Zygote) -> None:
        with self._templating:
            if self._zygote is zygote:
                self._zygote = None
        zygote.kill()

    def _register(self, worker: Worker) -> None:
        with self._lock:
            closed = self._closed
            self._all.add(worker)
        if closed:  # close() ran while this one started: it must not outlive the pool
            self._discard(worker)
            raise PoolClosed

    def _spawn_process(self) -> Worker:
        parent_end, child_end = socket.socketpair()
        config = {"fd": child_end.fileno(), **self._config()}
        try:
            process = subprocess.Popen(
                self._command(),
                env={**self.environment, CONFIG_VARIABLE: json.dumps(config)},
                cwd=self.spec.code_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                pass_fds=(child_end.fileno(),),
                start_new_session=True,
            )
        finally:
            child_end.close()
        worker = Worker(process, Connection(parent_end.detach()))
        self._register(worker)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                pump(stream, self.console, self.source)
        try:
            hello = self._receive(worker, INIT_TIMEOUT_SECONDS)
        except (TimeoutError, EOFError, OSError):
            error = _init_exit(worker.process)
            self._discard(worker)
            raise WorkerInitError(error) from None
        if "init_error" in hello:
            self._discard(worker)
            raise WorkerInitError(hello["init_error"])
        return worker

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    @staticmethod
    def _receive(worker: Worker, timeout: float) -> dict[str, Any]:
        """The worker's next message other than a request's acknowledgement."""
        deadline = time.monotonic() + timeout
        while True:
            if not worker.connection.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError
            answer: dict[str, Any] = json.loads(worker.connection.recv_bytes())
            if "started" not in answer:
                return answer

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
            return self._spawn()
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
            return _unhandled(_error("Runtime.Unavailable", "the local stack is shutting down"))
        except TimeoutError:
            return _unhandled(
                _error(
                    "Runtime.Throttled",
                    f"no free worker for {self.spec.name} within {QUEUE_TIMEOUT_SECONDS:.0f} s",
                )
            )
        try:
            answer = self._receive(worker, float(self.spec.timeout))
        except TimeoutError:
            self._replace(worker)
            message = f"Task timed out after {self.spec.timeout:.2f} seconds"
            self._report(request_id, started, message)
            return _unhandled(_error("Sandbox.Timedout", message))
        except (EOFError, OSError):
            reason = _reaped(worker)
            self._replace(worker)
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
            self._report(request_id, started, message)
            return _unhandled(_error("Runtime.ExitError", message))
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


def _init_exit(process: Process) -> dict[str, Any]:
    code = process.poll()
    reason = "init timed out" if code is None else _exit_description(code)
    return _error("Runtime.ExitError", f"Runtime exited during init: {reason}")


def _exit_description(code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
        except ValueError:
            return f"signal: {-code}"
    return f"exit status {code}"


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message, "stackTrace": []}


def _unhandled(error: Mapping[str, Any]) -> Invocation:
    return Invocation(json.dumps(dict(error)).encode(), "Unhandled")


class Workers:
    """Every function's pool, by function name; the dispatcher moto's invoke hook calls."""

    def __init__(self, pools: Mapping[str, FunctionPool]) -> None:
        self.pools = dict(pools)  # function name → pool

    def dispatch(self, function_name: str, payload: bytes) -> Invocation:
        pool = self.pools.get(function_name)
        if pool is None:
            # Lambda would refuse before running anything; say which names exist.
            known = ", ".join(sorted(self.pools))
            return _unhandled(
                _error(
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

    def process_groups(self) -> list[int]:
        return [pid for pool in self.pools.values() for pid in pool.process_groups()]
