"""Scratch functions in worker pools, for the tests of the workers (no HTTP, no moto)."""

from __future__ import annotations

import io
import json
import os
import signal
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flow_manager_local.console import Console
from flow_manager_local.moto_lambda import Invocation
from flow_manager_local.root_template import TemplateRoot
from flow_manager_local.template import FunctionSpec
from flow_manager_local.worker_processes import worker_environment
from flow_manager_local.workers import FunctionPool

HANDLER = """
import os, sys, time

def lambda_handler(event, context):
    print("handling", event.get("mode"))
    mode = event.get("mode")
    if mode == "raise":
        raise KeyError("missing thing")
    if mode == "sleep":
        time.sleep(event["seconds"])
    if mode == "exit":
        sys.exit(3)
    return {
        "pid": os.getpid(),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "table": os.environ.get("TABLE"),
        "profile": os.environ.get("AWS_PROFILE"),
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
    }
"""


def pool_maker(tmp_path: Path) -> Iterator[Callable[..., tuple[FunctionPool, io.StringIO]]]:
    """make(source, ...) → a pool of a scratch function and its logs; closed at the end."""
    pools: list[FunctionPool] = []

    def make(
        source: str = HANDLER,
        timeout: int = 2,
        max_workers: int = 2,
        warm: bool = True,
        env: tuple[str, ...] | list[str] = (),
        services: frozenset[str] = frozenset(),
        awaited: bool = False,
        idle_seconds: float = 300.0,
        root: TemplateRoot | None = None,
        files: dict[str, str] | None = None,
        logical_id: str = "ScratchFunction",
    ) -> tuple[FunctionPool, io.StringIO]:
        """`files`: more of the function's code, by path in its directory."""
        code = tmp_path / f"fn{len(pools)}"
        code.mkdir()
        (code / "app.py").write_text(textwrap.dedent(source), encoding="utf-8")
        for name, text in (files or {}).items():
            (code / name).parent.mkdir(parents=True, exist_ok=True)
            (code / name).write_text(text, encoding="utf-8")
        spec = FunctionSpec(
            logical_id=logical_id,
            name="scratch",
            arn="arn:aws:lambda:us-east-1:123456789012:function:scratch",
            code_dir=code,
            handler="app.lambda_handler",
            runtime="python3.13",
            timeout=timeout,
            memory_size=128,
            environment={"TABLE": "from-the-template", **{k: os.environ[k] for k in env}},
            layer_dirs=(),
            role_arn="arn:aws:iam::123456789012:role/scratch",
            services=services,
        )
        logs = io.StringIO()
        environment = worker_environment(
            spec, endpoint_url="http://127.0.0.1:9", region="us-east-1"
        )
        pool = FunctionPool(
            spec,
            environment,
            Console(logs, colour=False),
            max_workers=max_workers,
            awaited=awaited,
            idle_seconds=idle_seconds,
            root=root,
        )
        if warm:
            pool.start()
        pools.append(pool)
        return pool, logs

    yield make
    for pool in pools:
        pool.close()


def call(pool: FunctionPool, event: dict[str, Any]) -> tuple[Invocation, Any]:
    answer = pool.invoke(json.dumps(event).encode())
    return answer, json.loads(answer.payload)


def run_together(pool: FunctionPool, count: int, seconds: float) -> list[Any]:
    """`count` invocations at once, each sleeping `seconds` (the pool grows to `count`)."""
    bodies: list[Any] = []
    threads = [
        threading.Thread(target=lambda: bodies.append(call(pool, {"seconds": seconds})[1]))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return bodies


def kill_and_wait(pid: int) -> None:
    """kill -9 the worker, and wait until the kernel has closed its end (it is dead).
    Already gone (reaped) is dead too: the caller's assertions on the logs say how."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return  # a zombie: dead, not yet collected
        except (FileNotFoundError, ProcessLookupError):
            # Gone: reaped before the open (no file) or between the open and the read.
            return
        time.sleep(0.01)
    raise AssertionError(f"worker {pid} did not die")
