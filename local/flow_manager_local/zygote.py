"""A function's initialised template process, which forks its workers (a zygote).

A new worker used to be a new interpreter: boto3, pydantic, Powertools and the
handler's module imported again (~0.3-0.5 s of CPU each), while the pool grows under
load, which is when CPU is scarce. The template imports the handler once, as Lambda's
init does, then forks each worker from that state, as SnapStart restores a snapshot:
a worker costs a fork, and shares the template's pages until it writes them.

`runtime.py` runs the template's side (`_Template`). Here: starting it, asking it for a
worker, and knowing how each worker ended, which only the template can learn (a
worker is its child, not ours): `ForkedProcess` answers `poll` and `wait` as the
`subprocess.Popen` of a spawned worker does, from the template's reports.

The stack's root template (`runtime._Root`, see root_template.TemplateRoot) is a
Zygote too, one level up: asked with `fork_template`, it forks a function's template,
whose control socket and pipes are made here; the template is then a ForkedProcess of
the root's, as a worker is of its template's.

A template whose init left a thread running or a socket open is not forked from (a
copy has no threads, and would share the socket): it says so, exits, and the pool
spawns every worker as a new process, as before.

Workers outlive a template that dies (they watch the stack, through a pipe whose write
end only the stack holds, not the template), and keep serving; the pool starts another
template for the next ones. How such an orphan ends is not known (`poll()` stays None);
its closed socket still tells the pool it is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

# A fork takes milliseconds, but the first (or the second) waits for the template to prime
# the SDK (~0.5 s, longer on a busy machine): as long as an init may take.
FORK_TIMEOUT_SECONDS = 60.0
MESSAGE_BYTES = 65536


class ForkedProcess:
    """A worker forked by the template: `Popen`'s `pid`, `poll()` and `wait()`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._ended = threading.Event()

    def ended(self, code: int | None) -> None:
        """How it exited (a signal as -N, as Popen says), or None: not known (its
        template died before it could say)."""
        self.returncode = code
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
        return self.returncode


@dataclass
class Forked:
    """What the template answers a fork with: the worker, and our ends of its pipes."""

    process: ForkedProcess
    connection: Connection
    stdout: IO[str]
    stderr: IO[str]
    restored: bool  # forked from the snapshot (after the before-snapshot hooks)


class TemplateGone(Exception):
    """The template exited or stopped answering: start another."""


class Zygote:
    """One running template of one function; `hello` is its first message (its init's
    outcome: `{"ready": true, "forkable": bool}` or `{"init_error": ...}`)."""

    def __init__(
        self,
        command: Sequence[str],
        environment: Mapping[str, str],
        config: Mapping[str, Any],
        cwd: Path,
        pump: Callable[[IO[str]], object],
        stack_fd: int,
        *,
        root: Zygote | None = None,
    ) -> None:
        """`stack_fd`: the read end of a pipe whose write end only the stack holds; the
        template and its workers exit when it closes (the stack is gone). With `root`
        (the stack's root template, see runtime._Root), forked from it rather than
        started as `command`. Raises TemplateGone if the root
        cannot fork it."""
        self._control, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process: subprocess.Popen[str] | ForkedProcess
        try:
            if root is None:
                settings = {**config, "control_fd": child_end.fileno(), "stack_fd": stack_fd}
                self.process = subprocess.Popen(
                    list(command),
                    env={**environment, "_FLOW_MANAGER_LOCAL_WORKER": json.dumps(settings)},
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    errors="replace",
                    pass_fds=(child_end.fileno(), stack_fd),
                    start_new_session=True,
                )
                streams = [self.process.stdout, self.process.stderr]
            else:
                self.process, streams = self._fork_from(
                    root, environment, config, cwd, child_end, stack_fd
                )
        except BaseException:
            self._control.close()
            raise
        finally:
            child_end.close()
        for stream in streams:
            if stream is not None:
                pump(stream)
        self._answers: queue.Queue[Forked | ForkedProcess | None] = queue.Queue()
        self._forking = threading.Lock()  # one fork at a time: answers come in order
        self._workers: dict[int, ForkedProcess] = {}
        self._lock = threading.Lock()
        self._gone = False
        self._read_all = threading.Event()  # its last message (and its end) is known
        self._unforkable = False
        self._snapshotted = False
        self.hello: dict[str, Any] = {}

    @staticmethod
    def _fork_from(
        root: Zygote,
        environment: Mapping[str, str],
        config: Mapping[str, Any],
        cwd: Path,
        control: socket.socket,
        stack_fd: int,
    ) -> tuple[ForkedProcess, list[IO[str] | None]]:
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        request = {
            "template": {
                "environment": dict(environment),
                "cwd": str(cwd),
                "config": dict(config),
            }
        }
        try:
            process = root.fork_template(
                json.dumps(request).encode(), [control.fileno(), stack_fd, out_write, err_write]
            )
        except BaseException:
            os.close(out_read)
            os.close(err_read)
            raise
        finally:
            os.close(out_write)
            os.close(err_write)
        streams: list[IO[str] | None] = [
            os.fdopen(out_read, "r", errors="replace"),
            os.fdopen(err_read, "r", errors="replace"),
        ]
        return process, streams

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return not self._gone

    @property
    def snapshotted(self) -> bool:
        """It has taken its snapshot: a worker forked before (the API's first) is not a
        restore of it, and holds privately what the snapshot would share."""
        return self._snapshotted

    @property
    def unforkable(self) -> bool:
        """It said it can no longer be forked from (then it exits)."""
        return self._unforkable

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Its init's outcome; raises TimeoutError, or EOFError if it exited first.
        Then a thread reads what it says from here on."""
        self._control.settimeout(timeout)
        try:
            message = self._control.recv(MESSAGE_BYTES)
        except TimeoutError:
            raise
        except OSError:
            message = b""
        finally:
            self._control.settimeout(None)
        if not message:
            raise EOFError
        self.hello = json.loads(message)
        if self.hello.get("forkable"):
            threading.Thread(target=self._read, name=f"zygote-{self.pid}", daemon=True).start()
        else:
            self._read_all.set()  # nothing more to read: it exits
        return self.hello

    def fork(self) -> Forked:
        """A worker; TemplateGone if the template has gone."""
        answer = self._ask(b"fork")
        if not isinstance(answer, Forked):
            raise TemplateGone
        return answer

    def fork_template(self, request: bytes, fds: Sequence[int]) -> ForkedProcess:
        """(The root.) A function's template forked with `request`; TemplateGone if the
        root has gone."""
        answer = self._ask(request, fds)
        if not isinstance(answer, ForkedProcess):
            raise TemplateGone
        return answer

    def _ask(self, request: bytes, fds: Sequence[int] = ()) -> Forked | ForkedProcess | None:
        with self._forking:
            if self._gone:
                raise TemplateGone
            try:
                socket.send_fds(self._control, [request], list(fds))
            except OSError:
                # It has gone: what it said last (that it cannot be forked from) decides
                # what replaces it, so let the reader take that in first.
                self._read_all.wait(FORK_TIMEOUT_SECONDS)
                raise TemplateGone from None
            try:
                return self._answers.get(timeout=FORK_TIMEOUT_SECONDS)
            except queue.Empty:
                self._gone = True  # a late answer would go to the next fork: no next
                raise TemplateGone from None

    def _read(self) -> None:
        try:
            while True:
                try:
                    data, fds, _, _ = socket.recv_fds(self._control, MESSAGE_BYTES, 3)
                except OSError:
                    return
                for fd in fds:  # ours alone: no process we start may inherit them
                    os.set_inheritable(fd, False)
                if not data:
                    return
                try:
                    self._dispatch(json.loads(data), fds)
                except (ValueError, KeyError, TypeError):  # not what a template says
                    for fd in fds:
                        os.close(fd)
                    return
        finally:
            with self._lock:
                self._gone = True
                orphans = list(self._workers.values())
                self._workers.clear()
            for process in orphans:
                # Still running, and still the pool's (they watch the stack, not the
                # template), but how they end is no longer known.
                process.ended(None)
            self._read_all.set()
            self._answers.put(None)

    def _dispatch(self, message: dict[str, Any], fds: list[int]) -> None:
        if "forked" in message and not fds:  # the root: a template, its pipes are ours
            process = ForkedProcess(int(message["forked"]))
            with self._lock:
                self._workers[process.pid] = process
            self._answers.put(process)
        elif "forked" in message:
            if len(fds) != 3:
                raise ValueError("a forked worker comes with 3 descriptors")
            restored = bool(message.get("snapshotted"))
            self._answers.put(self._forked(int(message["forked"]), fds, restored))
        elif "snapshotted" in message:
            self._snapshotted = True
        elif "unforkable" in message:  # then it exits: the fork's answer is None
            self._unforkable = True
        elif "exited" in message:
            with self._lock:
                ended = self._workers.pop(int(message["exited"]), None)
            if ended is not None:
                ended.ended(int(message["code"]))

    def _forked(self, pid: int, fds: list[int], restored: bool) -> Forked:
        process = ForkedProcess(pid)
        with self._lock:
            self._workers[pid] = process
        connection, stdout, stderr = fds
        return Forked(
            process,
            Connection(connection),
            os.fdopen(stdout, "r", errors="replace"),
            os.fdopen(stderr, "r", errors="replace"),
            restored,
        )

    def kill(self) -> None:
        _kill_group(self.process.pid, running=self.process.poll() is None)
        self.close()

    def close(self, grace: float = 2.0) -> None:
        """Ends it (closing its control socket), killing it if it lingers."""
        self._gone = True
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        if self.process.poll() is None:
            _kill_group(self.process.pid, running=True)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        self._control.close()


def _kill_group(pid: int, *, running: bool) -> None:
    """SIGKILL the template's process group; if there is none but the template still
    runs, the template alone: one the root has just forked may not have made its own
    session yet. (Not once it has ended: its pid may be another process's by now.)"""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        if running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    except PermissionError:
        pass
