"""`flow-manager serve` in a child process, for the e2e tests and the benchmark.

Free loopback ports, a deadline on every wait, and no process left behind: `kill()`
also kills the stack's own children, found through /proc (Linux).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project (editable install)
START_DEADLINE_SECONDS = 120.0
STOP_DEADLINE_SECONDS = 30.0
HEALTH_POLL_SECONDS = 0.02  # a refused connection costs little; a coarse poll hid ~0.1 s


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def flow_manager_command() -> list[str]:
    """The installed `flow-manager` script of this virtualenv, else the module."""
    script = Path(sys.executable).with_name("flow-manager")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "flow_manager_local.cli"]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        # The command name is in parentheses and may hold spaces: parse after it.
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


ROOT_TEMPLATE_TITLE = "root-template"  # runtime._Root's process name


def runtime_title(pid: int) -> str | None:
    """The name a process of the local stack's runtime gives itself: its function's
    (worker_processes.process_title) for a template or a worker, ROOT_TEMPLATE_TITLE
    for the root template; None for any other process. (A template forked from the
    root template keeps the root's command line: the name is what tells them apart.)"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        title = Path(f"/proc/{pid}/comm").read_text(errors="replace").rstrip("\n")
    except OSError:
        return None
    return title if any(arg.endswith(b"runtime.py") for arg in argv) else None


def function_of(pid: int) -> str | None:
    """The function a process of the local stack runs (a template or a worker), by its
    name (see runtime_title); None for any other process."""
    title = runtime_title(pid)
    return None if title == ROOT_TEMPLATE_TITLE else title


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie has exited already


@dataclass
class LocalStackProcess:
    process: subprocess.Popen[bytes]
    url: str
    moto_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, deadline: float = START_DEADLINE_SECONDS) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"flow-manager serve exited with {self.process.returncode}:\n{self.output()}"
                )
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.url}/health", timeout=5) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(HEALTH_POLL_SECONDS)
        self.kill()
        raise RuntimeError(f"/health not OK within {deadline:.0f} s:\n{self.output()}")

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it; the exit code (killed if it overruns).

        Whatever the stack does, none of its processes outlives this call: a child it
        failed to stop is killed here (the e2e test of Ctrl-C checks it never has to be).
        """
        children = descendants(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        finally:
            for pid in children:
                if alive(pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        for pid in descendants(self.process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_DEADLINE_SECONDS)


def start_local_stack(log: Path, template: Path | None = None) -> LocalStackProcess:
    """`flow-manager serve` on free loopback ports, healthy, its output in `log`."""
    port, moto_port = free_port(), free_port()
    environment = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    environment.pop("FLOW_MANAGER_URL", None)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                *flow_manager_command(),
                "serve",
                "--port",
                str(port),
                "--moto-port",
                str(moto_port),
                "--template",
                str(template or ROOT / "template.yaml"),
            ],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    stack = LocalStackProcess(
        process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{moto_port}", log
    )
    stack.wait_healthy()
    return stack


@contextlib.contextmanager
def running_local_stack(log: Path, template: Path | None = None) -> Iterator[LocalStackProcess]:
    """start_local_stack, stopped with Ctrl-C (interrupt) when the block ends."""
    stack = start_local_stack(log, template)
    try:
        yield stack
    finally:
        stack.interrupt()
