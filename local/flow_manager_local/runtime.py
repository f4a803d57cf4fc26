"""The Lambda runtime inside one worker process (run as a script: the standard library,
and the SDK and pydantic when priming them, as below).

`workers.py` starts `python -I -u runtime.py FUNCTION_NAME` with the function's
environment (plus this worker's settings in `_FLOW_MANAGER_LOCAL_WORKER`), and talks
to it over an inherited socket (framed messages from `multiprocessing.connection`),
so that stdout and stderr stay the function's logs alone. Like Lambda's Python
runtime, the handler module is imported once (the init phase), then each request
calls the handler with the event and a context object. Timeouts are enforced by the
parent, which kills this process: nothing in here could interrupt a handler stuck in
C code or a sleep.

Messages (JSON):
  worker → parent, once:  {"ready": true} | {"init_error": ERROR}
  parent → worker:        {"request_id", "payload", "deadline_ms", "invoked_function_arn"}
  worker → parent:        {"started": true}, at once: the request reached the handler
  worker → parent:        {"result": "<JSON text>"} | {"error": ERROR}
where ERROR is Lambda's `{"errorType", "errorMessage", "stackTrace"}`.

Given a `control_fd` instead of an `fd` (and a `stack_fd`: the read end of a pipe only
the stack writes to, which closes when it dies), the process is its function's template
(see `zygote.py`): after init it says `{"ready": true, "forkable": bool}`, and forks a
worker, which then speaks the messages above, each time it is asked. Before the first
fork (or, with `prime_first` false, once idle after it, or at the second fork if that
comes first) it primes the SDK for the workers (`_prime`, when the function has boto3)
and runs the function's SnapStart hooks
(`snapshot_restore_py`, below): the template is the snapshot, a forked worker its
restore.

Given `"root": true`, it is the stack's root template instead (`_Root`): it imports
the SDK and pydantic and primes every service's models once, then forks a template
for each function it is asked for, which runs its init from there.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

PARENT_POLL_SECONDS = 0.5
ROOT_TITLE = "root-template"  # launch.ROOT_TEMPLATE_TITLE
REQUEST_BYTES = 1 << 20  # a template's request to the root: its environment and config
CONFIG_VARIABLE = "_FLOW_MANAGER_LOCAL_WORKER"  # the handler never sees it
STARTED = b'{"started": true}'
# How long a template that forked before its snapshot waits for quiet to take it.
PRIME_IDLE_SECONDS = 2.0
UNFORKABLE_AFTER_HOOKS = (
    "a before-snapshot hook left a thread running or a socket open: "
    "every further worker is a new process, which runs the init itself"
)


class LambdaContext:
    """The attributes and method of Lambda's Python context object that handlers use."""

    def __init__(self, config: dict[str, Any], request: dict[str, Any]) -> None:
        self.function_name: str = config["function_name"]
        self.function_version: str = "$LATEST"
        self.invoked_function_arn: str = request.get("invoked_function_arn") or config["arn"]
        self.memory_limit_in_mb: int = int(config["memory_size"])
        self.aws_request_id: str = request["request_id"]
        self.log_group_name: str = f"/aws/lambda/{self.function_name}"
        self.log_stream_name: str = config.get("log_stream_name", "local")
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline_ms: int = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(
    error_type: str, message: str, tb: TracebackType | None = None, skip: int = 0
) -> dict[str, Any]:
    frames = traceback.extract_tb(tb)[skip:] if tb is not None else []
    return {
        "errorType": error_type,
        "errorMessage": message,
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(error: dict[str, Any]) -> None:
    # Lambda's runtime logs an unhandled error this way too, so it shows in the logs.
    trace = "".join(error.get("stackTrace") or [])
    sys.stderr.write(f"[ERROR] {error['errorType']}: {error['errorMessage']}\n{trace}")
    sys.stderr.flush()


Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class _SnapshotHooks:
    """`snapshot_restore_py` as Lambda's Python runtimes include it: SnapStart's runtime
    hooks, registered by the function's code (as a decorator or a call, with arguments).
    Every worker can import it, as every managed runtime can; only a template runs the
    hooks: the before-snapshot ones before it forks (reverse order of registration, as
    Lambda runs them), the after-restore ones in each forked worker (in order)."""

    def __init__(self) -> None:
        self.before: list[Hook] = []
        self.after: list[Hook] = []

    def install(self) -> None:
        module = types.ModuleType("snapshot_restore_py")
        module.register_before_snapshot = self._register(self.before)  # type: ignore[attr-defined]
        module.register_after_restore = self._register(self.after)  # type: ignore[attr-defined]
        module.get_before_snapshot = lambda: self.before  # type: ignore[attr-defined]
        module.get_after_restore = lambda: self.after  # type: ignore[attr-defined]
        sys.modules[module.__name__] = module

    @staticmethod
    def _register(hooks: list[Hook]) -> Callable[..., Callable[..., Any]]:
        def register(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
            hooks.append((func, args, kwargs))
            return func

        return register

    def before_snapshot(self) -> None:
        """A hook that fails (even by SystemExit) is logged, and the workers are forked
        without what it would have done: under SnapStart the version would not publish."""
        for func, args, kwargs in reversed(self.before):
            try:
                func(*args, **kwargs)
            except BaseException as exc:
                message = f"before-snapshot hook {_name(func)} failed: {type(exc).__name__}: {exc}"
                _log_error(_error("SnapStartException", message, exc.__traceback__))

    def after_restore(self) -> dict[str, Any] | None:
        """None, or the error of the hook that failed: then every request answers it,
        as Lambda answers an invoke whose restore failed (SnapStartException)."""
        for func, args, kwargs in self.after:
            try:
                func(*args, **kwargs)
            except BaseException as exc:
                message = f"after-restore hook {_name(func)} failed: {type(exc).__name__}: {exc}"
                error = _error("SnapStartException", message, exc.__traceback__)
                _log_error(error)
                return error
        return None


def _name(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__qualname__", None) or repr(func))


_HOOKS = _SnapshotHooks()


def _load_handler(config: dict[str, Any]) -> Callable[[Any, Any], Any]:
    module_name, _, function_name = str(config["handler"]).rpartition(".")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError(
            _error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
        ) from None
    except Exception as exc:
        error = _error(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {exc}",
            exc.__traceback__,
        )
        # Only the function's own frames help: drop the runtime's and importlib's.
        error["stackTrace"] = [
            line
            for line in error["stackTrace"]
            if __file__ not in line and "importlib" not in line and "<frozen" not in line
        ]
        raise _InitError(error) from None
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise _InitError(
            _error(
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
            )
        )
    return handler  # type: ignore[no-any-return]


class _InitError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def _watch_parent() -> None:
    """Exit when the parent goes away, even mid-handler: a spawned worker's is the
    local stack, so no worker outlives it. (A template, its workers and the root
    template watch the stack's pipe instead: _watch_stack.)"""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _handle(
    handler: Callable[[Any, Any], Any], config: dict[str, Any], request: dict[str, Any]
) -> dict[str, Any]:
    try:
        event = json.loads(request["payload"] or "null")
    except json.JSONDecodeError as exc:
        return {"error": _error("Runtime.InvalidEventPayload", f"Could not parse event: {exc}")}
    context = LambdaContext(config, request)
    try:
        value = handler(event, context)
    except Exception as exc:
        # skip=1: the frame of this function is the runtime's, not the handler's.
        error = _error(type(exc).__name__, str(exc), exc.__traceback__, skip=1)
        _log_error(error)
        return {"error": error}
    try:
        return {"result": json.dumps(value)}
    except (TypeError, ValueError) as exc:
        error = _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
        _log_error(error)
        return {"error": error}


def _serve(
    handler: Callable[[Any, Any], Any],
    config: dict[str, Any],
    connection: Connection,
    failed: dict[str, Any] | None = None,
) -> int:
    """Answer requests until the pool closes; each with `failed`, if it is given."""
    while True:
        try:
            request = json.loads(connection.recv_bytes())
        except (EOFError, OSError):
            return 0  # the pool closed this worker
        # Said first: a worker that dies before it could say it (killed while idle) lets
        # the pool give the request to another one, as it never reached a handler.
        connection.send_bytes(STARTED)
        answer = {"error": failed} if failed else _handle(handler, config, request)
        sys.stdout.flush()
        sys.stderr.flush()
        connection.send_bytes(json.dumps(answer).encode())


def _forkable(*ours: socket.socket) -> bool:
    """Whether a copy of this process would work: fork copies one thread (a C library's
    counts too: /proc's count, not threading's), and a socket the init opened (a
    connection pool's) would be shared by every copy. `ours`: the runtime's own."""
    if threading.active_count() > 1 or not _one_thread():
        return False
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return False
    own = {sock.fileno() for sock in ours}
    for name in descriptors:
        if int(name) in own:
            continue
        with contextlib.suppress(OSError):  # listdir's own descriptor is gone by now
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                return False
    return True


def _one_thread(settle_seconds: float = 0.2) -> bool:
    """Whether the kernel counts one thread here. A thread just joined may still be
    counted for a moment: one that stays that long is a C library's, running."""
    deadline = time.monotonic() + settle_seconds
    while True:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return False
        counts = [line.split()[1] for line in status.splitlines() if line.startswith("Threads:")]
        if counts == ["1"]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def _watch_stack(stack_fd: int) -> Callable[[], None]:
    """Exit when the local stack goes away: it holds the only write end of this pipe,
    which the kernel closes when it dies (so a worker outlives its template, and a
    template the root template, not the stack). Returns what ends the watch and its
    thread: a template and the root watch so through their init only, as a fork would
    not copy the thread (their loops watch the pipe from then on)."""
    stop_read, stop_write = os.pipe()

    def watch() -> None:
        ready, _, _ = select.select([stack_fd, stop_read], [], [])
        if stack_fd in ready:
            os._exit(1)

    thread = threading.Thread(target=watch, name="watch-stack", daemon=True)
    thread.start()

    def stop() -> None:
        os.write(stop_write, b"x")
        thread.join()
        os.close(stop_read)
        os.close(stop_write)

    return stop


def _prime(services: list[str]) -> None:
    """Pay in the template what each worker's first AWS calls would (SnapStart's
    priming): the SDK's import and each service's models, loaded once, shared by every
    fork. The clients this makes are discarded: the handler's own come from its
    before-snapshot hooks (`_SnapshotHooks`), or its first calls, which now find the
    models loaded (boto3's default session caches them)."""
    if not services:
        return
    try:
        import boto3
    except ImportError:
        return  # a function without the SDK: nothing to prime
    for service in services:
        with contextlib.suppress(Exception):  # one the SDK lacks: its workers load it
            boto3.client(service)  # type: ignore[call-overload]


class _Forker:
    """What a template and the root template share: the control socket the stack asks
    on, the stack's pipe (its end: the stack died), and the children they fork, whose
    ends only they can collect and report (`{"exited": pid, "code": N}`, N < 0: the
    signal). SIGCHLD wakes the loop through a socket pair: no thread, which a fork would
    not copy."""

    def __init__(self, control: socket.socket, stack_fd: int) -> None:
        self.control = control
        self.stack_fd = stack_fd
        self.wake_read, self.wake_write = socket.socketpair()
        self.wake_read.setblocking(False)
        self.wake_write.setblocking(False)

    def _own_sockets(self) -> tuple[socket.socket, ...]:
        return (self.control, self.wake_read, self.wake_write)

    def _listen(self) -> None:
        signal.set_wakeup_fd(self.wake_write.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)

    def _wait(self, timeout: float | None = None) -> bool | None:
        """Until the stack asks (True) or `timeout` passes (False), collecting the
        children that end meanwhile; None once the stack has gone (then this ends)."""
        watched = [self.control.fileno(), self.wake_read.fileno(), self.stack_fd]
        while True:
            ready, _, _ = select.select(watched, [], [], timeout)
            if not ready:
                return False
            if self.stack_fd in ready:
                os._exit(1)  # the local stack died
            if self.wake_read.fileno() in ready:
                with contextlib.suppress(BlockingIOError):
                    while self.wake_read.recv(512):
                        pass
                if not self._collect():
                    return None
            if self.control.fileno() in ready:
                return True

    def _send(self, message: dict[str, Any], fds: list[int] | None = None) -> bool:
        """False once the stack has gone (its socket closed): then this process ends."""
        try:
            socket.send_fds(self.control, [json.dumps(message).encode()], fds or [])
        except OSError:
            return False
        return True

    def _collect(self) -> bool:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return True
            if not self._send({"exited": pid, "code": os.waitstatus_to_exitcode(status)}):
                return False

    def _detach(self) -> None:
        """(In a forked child.) Not a forker any more: its sockets and signals go."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for sock in self._own_sockets():
            sock.close()


class _Template(_Forker):
    """An initialised process that forks workers (a zygote): `workers.py`'s pool asks
    for one with b"fork" on the control socket (SOCK_SEQPACKET) and is answered
    `{"forked": pid}` with the worker's socket, stdout and stderr attached (and reports
    each worker's end: `_Forker`). A copy starts with the module already imported, as
    SnapStart restores a snapshot: a new worker costs a fork, not an init."""

    def __init__(
        self, handler: Callable[[Any, Any], Any], config: dict[str, Any], control: socket.socket
    ) -> None:
        super().__init__(control, int(config["stack_fd"]))
        self.handler = handler
        self.config = config
        self.unprimed = list(config.get("prime", ()))
        self.prime_first = bool(config.get("prime_first", False))
        self.snapshotted = False  # the before-snapshot hooks have run
        self.forked = False

    def run(self) -> int:
        """Fork workers until the pool closes; in a forked worker, its exit code (it
        returns through main, so it exits as any worker does: atexit, thread joins)."""
        self._listen()
        gc.freeze()  # what init made stays shared with the workers: no GC writes to it
        while True:
            # Forked before the snapshot (the API's first worker): take it once idle, so
            # the next fork, when the load comes, does not wait for it.
            pending = self.forked and not self.snapshotted
            asked = self._wait(PRIME_IDLE_SECONDS if pending else None)
            if asked is None:
                return 0
            if not asked:
                if not self._snapshot():
                    return 0
                continue
            try:
                message = self.control.recv(64)
            except OSError:
                return 0
            if not message:
                return 0  # the pool closed: its workers were stopped first
            first = not self.snapshotted and (self.forked or self.prime_first)
            if first and not self._snapshot():
                return 0
            code = self._fork()
            if code is not None:
                return code  # this is the worker, done
            self.forked = True

    def _snapshot(self) -> bool:
        """What the workers would each load and make at their first calls, done once
        here for all of them to share: the SDK's models, the function's before-snapshot
        hooks. The API's first worker, which the start waits for, is forked before (see
        Spawner). False if a hook left what a fork cannot copy: then this process ends,
        having said so, and the pool starts new processes instead."""
        _prime(self.unprimed)
        _HOOKS.before_snapshot()
        self.snapshotted = True
        if not _forkable(*self._own_sockets()):
            sys.stderr.write(f"[WARNING] {UNFORKABLE_AFTER_HOOKS}\n")
            sys.stderr.flush()
            self._send({"unforkable": True})
            return False
        gc.freeze()
        # The pool replaces a worker forked before (the API's first) once it is idle.
        return self._send({"snapshotted": True})

    def _fork(self) -> int | None:
        parent_end, child_end = socket.socketpair()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            for descriptor in (parent_end.detach(), out_read, err_read):
                os.close(descriptor)
            return self._become_worker(child_end, out_write, err_write)
        # Both sides set the group, so the pool can kill it as soon as it knows the pid.
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        child_end.close()
        os.close(out_write)
        os.close(err_write)
        try:
            answer = {"forked": pid, "snapshotted": self.snapshotted}
            self._send(answer, [parent_end.fileno(), out_read, err_read])
        finally:
            parent_end.close()
            os.close(out_read)
            os.close(err_read)
        return None

    def _become_worker(self, connection: socket.socket, out_write: int, err_write: int) -> int:
        os.setpgid(0, 0)
        self._detach()
        os.dup2(out_write, 1)
        os.dup2(err_write, 2)
        os.close(out_write)
        os.close(err_write)
        _watch_stack(self.stack_fd)
        # A restore of what the before-snapshot hooks made: not the first worker of a
        # pool that forks before them (the API's).
        failed = _HOOKS.after_restore() if self.snapshotted else None
        return _serve(self.handler, self.config, Connection(connection.detach()), failed)


class _Root(_Forker):
    """The stack's one process that every function's template is forked from.

    Each template used to be a new interpreter that imported the SDK and parsed its
    models (and the endpoints data) for itself: the same pages made again in each
    function's template, shared with that function's workers only. The root imports
    and parses them once (`_prime` of every service, and pydantic), then forks a
    template for each function it is asked for, which takes on that function's
    environment, directory and logs and runs its init (`_run`) as a new process would;
    so every function's processes share those pages, until they write them. (Not
    Powertools: it reads the environment as it is imported.)

    Asked with `{"template": {"environment", "cwd", "config"}}` and four descriptors
    (the template's control socket, the stack's pipe, its stdout and stderr), it
    answers `{"forked": pid}`, and reports each template's end (`_Forker`). What it
    imported from outside the standard library is said in its hello (`packages`): a
    function whose code brings its own copy of one of them is not forked from here (it
    would get the root's instead).
    """

    def __init__(self, config: dict[str, Any], control: socket.socket) -> None:
        super().__init__(control, int(config["stack_fd"]))
        self.config = config

    def run(self) -> int:
        _retitle(ROOT_TITLE)
        stop_watching = _watch_stack(self.stack_fd)  # through init: an import may hang
        _prime(list(self.config.get("prime", ())))
        with contextlib.suppress(ImportError):
            import pydantic  # noqa: F401  (most functions' models; no environment read)
        stop_watching()
        if not _forkable(*self._own_sockets()):
            self._send({"ready": True, "forkable": False})
            return 0
        self._send({"ready": True, "forkable": True, "packages": _imported_packages()})
        self._listen()
        gc.freeze()  # what it imported stays shared with every template: no GC writes
        while self._wait():
            try:
                data, fds, _, _ = socket.recv_fds(self.control, REQUEST_BYTES, 4)
            except OSError:
                return 0
            if not data:
                return 0  # the stack closed it: its templates were stopped first
            code = self._fork(json.loads(data)["template"], fds)
            if code is not None:
                return code  # this is the template, its workers forked: done
        return 0

    def _fork(self, request: dict[str, Any], fds: list[int]) -> int | None:
        pid = os.fork()
        if pid == 0:
            return self._become_template(request, fds)
        for descriptor in fds:
            os.close(descriptor)
        self._send({"forked": pid})
        return None

    def _become_template(self, request: dict[str, Any], fds: list[int]) -> int:
        os.setsid()  # as the stack starts a template: its own session and group
        self._detach()
        os.close(self.stack_fd)
        control_fd, stack_fd, out_write, err_write = fds
        os.dup2(out_write, 1)
        os.dup2(err_write, 2)
        os.close(out_write)
        os.close(err_write)
        data_path = os.environ.get("AWS_DATA_PATH")
        os.environ.clear()
        os.environ.update(request["environment"])
        time.tzset()
        os.chdir(request["cwd"])
        config = {**request["config"], "control_fd": control_fd, "stack_fd": stack_fd}
        sys.argv[1:] = [str(config["function_name"])]  # as the stack starts a template
        _adopt_sdk(shared_models=os.environ.get("AWS_DATA_PATH") == data_path)
        return _run(config)


def _imported_packages() -> list[str]:
    """The top-level modules imported from outside the standard library (which a
    function's code could bring its own copy of)."""
    ours = {"__main__", "__mp_main__"}  # this script
    names = {name.partition(".")[0] for name in list(sys.modules)}
    return sorted(names - set(sys.stdlib_module_names) - set(sys.builtin_module_names) - ours)


def _retitle(title: str) -> None:
    """Name this process (and the workers it forks) after its function, as `ps` and
    /proc/PID/comm show it: a template forked from the root has the root's command
    line. At most 15 bytes (the kernel's limit)."""
    if title:
        with contextlib.suppress(OSError):
            Path("/proc/self/comm").write_bytes(title.encode()[:15])


def _adopt_sdk(*, shared_models: bool) -> None:
    """A default session of this function's own (its region, its credentials, read from
    its environment when first needed), which reads the models the root parsed: the
    root's session was made with the root's environment."""
    boto3: Any = sys.modules.get("boto3")
    root_session = getattr(boto3, "DEFAULT_SESSION", None)
    if root_session is None:
        return
    boto3.DEFAULT_SESSION = None
    if not shared_models:
        return  # another AWS_DATA_PATH: other models, its session loads its own
    import botocore.session

    session = botocore.session.get_session()
    # Before boto3's Session wraps it: that takes the loader for the resource models.
    # (It also appends boto3's data directory to the loader's search path again: a
    # repeat only, which the root's models do not depend on.)
    session.register_component("data_loader", root_session._session.get_component("data_loader"))
    boto3.setup_default_session(botocore_session=session)


def main(argv: list[str]) -> int:
    config: dict[str, Any] = json.loads(os.environ.pop(CONFIG_VARIABLE))
    if config.get("root"):
        return _Root(config, socket.socket(fileno=int(config["control_fd"]))).run()
    return _run(config)


def _run(config: dict[str, Any]) -> int:
    """A function's process from its init on: a template, or a spawned worker."""
    _retitle(str(config.get("title", "")))
    if "control_fd" in config:
        return _run_template(config)
    return _run_worker(config)


def _run_worker(config: dict[str, Any]) -> int:
    connection = Connection(int(config["fd"]))

    def say(message: dict[str, Any]) -> None:
        connection.send_bytes(json.dumps(message).encode())

    _watch_parent()  # through init too: an import may hang
    handler = _init(config, say)
    if handler is None:
        return 1
    say({"ready": True})
    return _serve(handler, config, connection)


def _run_template(config: dict[str, Any]) -> int:
    control = socket.socket(fileno=int(config["control_fd"]))

    def say(message: dict[str, Any]) -> None:
        control.send(json.dumps(message).encode())

    # Through init too (an import may hang): the stack's pipe, as the parent may be the
    # root template. Stopped before any fork, which would not copy the thread.
    stop_watching = _watch_stack(int(config["stack_fd"]))
    handler = _init(config, say)
    if handler is None:
        return 1
    stop_watching()  # the template watches in its loop from here on
    if not _forkable(control):
        say({"ready": True, "forkable": False})
        return 0
    say({"ready": True, "forkable": True})
    return _Template(handler, config, control).run()


def _init(
    config: dict[str, Any], say: Callable[[dict[str, Any]], None]
) -> Callable[[Any, Any], Any] | None:
    """The handler, imported as Lambda's init does; None (said and logged) if it fails."""
    # The handler's code comes first, then its layers, as in /var/task and /opt/python.
    sys.path[:0] = [config["code_dir"], *config["layer_dirs"]]
    _HOOKS.install()
    try:
        return _load_handler(config)
    except _InitError as exc:
        _log_error(exc.error)
        say({"init_error": exc.error})
        return None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
