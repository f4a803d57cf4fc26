"""A function's worker processes: how each comes to be, and how it is told apart.

`Spawner` makes a function's workers: forked from its initialised template
(`zygote.py`), so a new worker costs a fork, not an init, or spawned as a new process
running `runtime.py` when the function's init cannot be forked from. `Worker` is one
of them as the pool (`workers.py`) holds it, whichever way it came. Templates are
themselves forked from one root template that has imported the SDK for all functions
(`root_template.py`).

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
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from flow_manager_local.console import Console, pump
from flow_manager_local.policies import ANY_SERVICE
from flow_manager_local.template import FunctionSpec
from flow_manager_local.zygote import TemplateGone, Zygote

if TYPE_CHECKING:
    from flow_manager_local.root_template import TemplateRoot

RUNTIME_SCRIPT = Path(__file__).with_name("runtime.py")
CONFIG_VARIABLE = "_FLOW_MANAGER_LOCAL_WORKER"
INIT_TIMEOUT_SECONDS = 60.0  # imports on a cold, busy machine; Lambda allows 10 s
STOP_GRACE_SECONDS = 2.0
# What a template may load for its workers (see runtime._prime): the services moto
# serves to the local stack's functions, of which each gets those its Policies allow.
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
    # False: forked before its template's snapshot (the API's first worker), so it holds
    # privately what later forks share; the pool replaces it once the snapshot exists.
    restored: bool = True

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
        return exit_description(self.process.poll())


def worker_environment(spec: FunctionSpec, *, endpoint_url: str, region: str) -> dict[str, str]:
    """What a function's process sees: Lambda's variables, the template's, moto's endpoint.

    The developer's own environment is not inherited: a real AWS profile or key in it
    must not reach code that believes it talks to moto.
    """
    return {
        **BASE_ENVIRONMENT,
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
        **forced_environment(endpoint_url, region),
    }


# What every process of the local stack's runtime sees (the root template too).
BASE_ENVIRONMENT = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "LANG": "en_US.UTF-8",
    "TZ": "UTC",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def forced_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """Whatever the template says: the local stack talks to moto only."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


class Spawner:
    """How one function's workers come to be: its template (started, replaced, closed)
    and the workers it forks, or new processes. `register` and `discard` are the pool's:
    a worker is the pool's from its first moment, so that closing the pool stops it."""

    def __init__(
        self,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        console: Console,
        *,
        python: str,
        register: Callable[[Worker], None],
        discard: Callable[[Worker], None],
        awaited: bool = False,
        root: TemplateRoot | None = None,
    ) -> None:
        """`root`: the stack's root template, which this function's template is forked
        from when it suits the function (see TemplateRoot.for_function)."""
        self.spec = spec
        self.root = root
        self.awaited = awaited
        self.environment = dict(environment)
        self.console = console
        self.python = python
        self._register = register
        self._discard = discard
        self._state = threading.Lock()  # _closed and _zygote, as close() sees them
        self._closed = False
        self._templating = threading.Lock()  # one template starts at a time
        self._zygote: Zygote | None = None
        self._forkable = True  # until a template says its init cannot be forked from
        # Its read end goes to every template, and from them to their workers: they exit
        # when it closes, which the kernel does if this process dies (see runtime.py).
        self._stack_pipe: tuple[int, int] | None = None

    @property
    def source(self) -> str:
        return self.spec.logical_id

    @property
    def template_pid(self) -> int | None:
        zygote = self._zygote
        return None if zygote is None else zygote.pid

    @property
    def snapshotted(self) -> bool:
        """The running template has taken its snapshot: a fork now is a restore of it."""
        zygote = self._zygote
        return zygote is not None and zygote.alive and zygote.snapshotted

    def close(self) -> None:
        """Stop the template (the pool has stopped the workers first)."""
        with self._state:
            self._closed = True
            zygote = self._zygote
        if zygote is not None:
            zygote.close(STOP_GRACE_SECONDS)
        with self._templating:  # not while a template starts with it (it ends at once)
            if self._stack_pipe is not None:
                for end in self._stack_pipe:
                    os.close(end)
                self._stack_pipe = None

    def _config(self) -> dict[str, Any]:
        return {
            "function_name": self.spec.name,
            "title": process_title(self.spec.logical_id),
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

    def spawn(self) -> Worker:
        """A new worker, registered with the pool: forked from the function's template,
        or a new process when the function cannot be forked from (see zygote.py)."""
        for _ in range(2):  # a template that died is replaced once
            zygote = self._template()
            if zygote is None:
                return self._spawn_process()
            try:
                forked = zygote.fork()
            except TemplateGone:
                self._drop_template(zygote)
                continue
            worker = Worker(forked.process, forked.connection, restored=forked.restored)
            self._register(worker)
            pump(forked.stdout, self.console, self.source)
            pump(forked.stderr, self.console, self.source)
            return worker
        return self._spawn_process()

    def _priming(self) -> dict[str, Any]:
        """What the template loads for its workers (the services its policies allow),
        and when: before its first fork, so that the first worker shares the models too;
        but when the stack's start waits for that worker (the API's: /health needs no
        SDK), after it, once the template is idle or the pool grows past it."""
        allowed = self.spec.services
        services = [name for name in PRIMED_SERVICES if ANY_SERVICE in allowed or name in allowed]
        return {"prime": services, "prime_first": not self.awaited}

    def _template(self) -> Zygote | None:
        """The running template, started (its init run) if there is none; None when the
        function's init cannot be forked from. Raises WorkerInitError as a spawn does."""
        with self._templating:
            if self._zygote is not None:
                if self._zygote.alive:
                    return self._zygote
                zygote = self._zygote
                self._forget(zygote)
                zygote.close(STOP_GRACE_SECONDS)  # died: collect it first
            if not self._forkable:
                return None
            if self._stack_pipe is None:
                self._stack_pipe = os.pipe()
            zygote = self._start_template(self._stack_pipe[0])
            with self._state:
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
                error = init_exit(zygote.process)
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

    def _start_template(self, stack_fd: int) -> Zygote:
        """Forked from the root when there is one that suits this function, else a new
        process (as when the root cannot fork it)."""
        args = (
            self._command(),
            self.environment,
            {**self._config(), **self._priming()},
            self.spec.code_dir,
            lambda stream: pump(stream, self.console, self.source),
            stack_fd,
        )
        root = None if self.root is None else self.root.for_function(self.spec, self.environment)
        if root is not None:
            with contextlib.suppress(TemplateGone):
                return Zygote(*args, root=root)
        return Zygote(*args)

    def _drop_template(self, zygote: Zygote) -> None:
        with self._templating:
            self._forget(zygote)
        zygote.kill()

    def _forget(self, zygote: Zygote) -> None:
        """(Holding `_templating`.) No longer the template; and if its hooks left what a
        fork cannot copy, no other template would do better: new processes from now on."""
        if self._zygote is zygote:
            self._zygote = None
        if zygote.unforkable:
            self._forkable = False

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
            hello = receive(worker, INIT_TIMEOUT_SECONDS)
        except (TimeoutError, EOFError, OSError):
            error = init_exit(worker.process)
            self._discard(worker)
            raise WorkerInitError(error) from None
        if "init_error" in hello:
            self._discard(worker)
            raise WorkerInitError(hello["init_error"])
        return worker


def receive(worker: Worker, timeout: float) -> dict[str, Any]:
    """The worker's next message other than a request's acknowledgement."""
    deadline = time.monotonic() + timeout
    while True:
        if not worker.connection.poll(max(0.0, deadline - time.monotonic())):
            raise TimeoutError
        answer: dict[str, Any] = json.loads(worker.connection.recv_bytes())
        if "started" not in answer:
            return answer


def process_title(logical_id: str) -> str:
    """The name (proc(5) `comm`) of a function's template and workers, however they
    started: its logical id without "Function", cut to the kernel's 15 bytes."""
    return logical_id.removesuffix("Function")[:15]


def init_exit(process: Process) -> dict[str, Any]:
    code = process.poll()
    reason = "init timed out" if code is None else exit_description(code)
    return error("Runtime.ExitError", f"Runtime exited during init: {reason}")


def exit_description(code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
        except ValueError:
            return f"signal: {-code}"
    return f"exit status {code}"


def error(error_type: str, message: str) -> dict[str, Any]:
    """Lambda's error shape, for errors of the runtime itself (no handler frames)."""
    return {"errorType": error_type, "errorMessage": message, "stackTrace": []}
