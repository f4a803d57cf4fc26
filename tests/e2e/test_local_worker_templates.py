"""A function's workers forked from its template: init once, what cannot be forked
from, a template that dies, a stack that dies, the primed SDK (no HTTP: the workers
alone, on scratch functions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flow_manager_local.zygote import TemplateGone, Zygote
from tests.e2e.support import local_only
from tests.e2e.worker_pools import call, kill_and_wait, run_together

pytestmark = local_only


COUNTED_INIT = """
import os, pathlib, threading
INITS = pathlib.Path(os.environ["INITS_FILE"])
with INITS.open("a") as inits:
    inits.write(f"{os.getpid()}\\n")
{extra}

def lambda_handler(event, context):
    import time
    time.sleep(event.get("seconds", 0))
    return {"pid": os.getpid(), "inits": INITS.read_text().split()}
"""


def test_new_workers_are_forked_from_the_initialised_function_not_initialised_again(
    make_pool: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function whose init records each time it runs, allowed three workers
    monkeypatch.setenv("INITS_FILE", str(tmp_path / "inits"))
    pool, _ = make_pool(COUNTED_INIT.replace("{extra}", ""), max_workers=3, env=["INITS_FILE"])
    # When three invocations run at once (the pool grows to three workers)
    bodies = run_together(pool, 3, 0.3)
    # Then three processes answered, and the init ran once, in none of them
    assert len({b["pid"] for b in bodies}) == 3
    (inits,) = {tuple(b["inits"]) for b in bodies}
    assert len(inits) == 1
    assert int(inits[0]) not in {b["pid"] for b in bodies}


def test_a_function_whose_init_leaves_a_thread_running_gets_new_processes(
    make_pool: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function whose init starts a thread (a fork would not copy it)
    monkeypatch.setenv("INITS_FILE", str(tmp_path / "inits"))
    extra = "threading.Thread(target=threading.Event().wait, daemon=True).start()"
    pool, _ = make_pool(COUNTED_INIT.replace("{extra}", extra), max_workers=2, env=["INITS_FILE"])
    # When two invocations run at once
    bodies = run_together(pool, 2, 0.3)
    # Then each worker ran the init itself (plus the template that found it unforkable)
    pids = {b["pid"] for b in bodies}
    assert len(pids) == 2
    inits = {int(pid) for pid in (tmp_path / "inits").read_text().split()}
    assert pids <= inits
    assert len(inits) == 3


def test_a_killed_template_is_replaced_and_its_workers_keep_serving(
    make_pool: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a warm function (a template and one worker) running a request
    monkeypatch.setenv("INITS_FILE", str(tmp_path / "inits"))
    pool, _ = make_pool(COUNTED_INIT.replace("{extra}", ""), max_workers=2, env=["INITS_FILE"])
    (template,) = set(pool.process_groups()) - set(pool.pids())
    running: list[Any] = []
    thread = threading.Thread(target=lambda: running.append(call(pool, {"seconds": 1.5})))
    thread.start()
    time.sleep(0.3)
    # When the template is killed under it
    kill_and_wait(template)
    thread.join(10)
    # Then that request still succeeds (its worker watches the stack, not the template)
    (answer, body) = running[0]
    assert answer.function_error is None, body
    # And concurrent invocations succeed, a new template forking the second worker
    bodies = run_together(pool, 2, 0.3)
    assert len({b["pid"] for b in bodies}) == 2
    assert template not in pool.process_groups()
    assert len((tmp_path / "inits").read_text().split()) == 2  # the first init, the new one


STACK = """
import io, json, sys, threading, time
from pathlib import Path
from flow_manager_local.console import Console
from flow_manager_local.template import FunctionSpec
from flow_manager_local.root_template import TemplateRoot, root_environment
from flow_manager_local.worker_processes import worker_environment
from flow_manager_local.workers import FunctionPool

code = Path(sys.argv[1])
root = None
if sys.argv[2:] == ["root"]:
    root_env = root_environment(endpoint_url="http://127.0.0.1:9", region="us-east-1")
    root = TemplateRoot(sys.executable, root_env, Console(io.StringIO(), colour=False))
spec = FunctionSpec(
    logical_id="ScratchFunction", name="scratch",
    arn="arn:aws:lambda:us-east-1:123456789012:function:scratch", code_dir=code,
    handler="app.lambda_handler", runtime="python3.13", timeout=5, memory_size=128,
    environment={}, layer_dirs=(), role_arn="arn:aws:iam::123456789012:role/scratch",
)
environment = worker_environment(spec, endpoint_url="http://127.0.0.1:9", region="us-east-1")
console = Console(io.StringIO(), colour=False)
pool = FunctionPool(spec, environment, console, max_workers=2, root=root)
pool.start()
calls = [threading.Thread(target=pool.invoke, args=(b'{"seconds": 0.3}',)) for _ in range(2)]
for each in calls:
    each.start()
for each in calls:
    each.join()
print(json.dumps(pool.process_groups() + ([root.pid] if root else [])), flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("root", [[], ["root"]], ids=["own template", "root template"])
def test_a_function_s_template_and_workers_exit_when_the_stack_dies(
    tmp_path: Path, root: list[str]
) -> None:
    # Given a stack process whose function has a template (of its own, or forked from
    # the root template) and two forked workers
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text(
        "import time\ndef lambda_handler(event, context):\n"
        "    time.sleep(event['seconds'])\n    return {}\n",
        encoding="utf-8",
    )
    stack = subprocess.Popen(
        [sys.executable, "-c", STACK, str(code), *root], stdout=subprocess.PIPE, text=True
    )
    try:
        assert stack.stdout is not None
        pids = json.loads(stack.stdout.readline())
        assert len(pids) == 3 + len(root)
        # When the stack is killed (no chance to stop anything)
        stack.kill()
        stack.wait(10)
        # Then the template, both workers (and the root) exit by themselves, at once
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.05)
        assert not [pid for pid in pids if alive(pid)]
    finally:
        stack.kill()


def alive(pid: int) -> bool:
    """Running (a zombie, or gone, is not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


SDK_PROBE = (
    "import sys, time\n"
    "def lambda_handler(event, context):\n"
    "    loaded = 'boto3' in sys.modules\n"
    "    import boto3\n"
    "    session = boto3.DEFAULT_SESSION is not None\n"
    "    time.sleep(event.get('seconds', 0))\n"
    "    return {'loaded': loaded, 'session': session}\n"
)


def test_every_worker_finds_the_sdk_its_policies_allow_loaded_by_the_template(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function that imports nothing of the SDK at init, whose policies allow
    # DynamoDB, allowed two workers
    pool, _ = make_pool(SDK_PROBE, max_workers=2, services=frozenset({"dynamodb"}))
    # When two invocations run at once (the warm worker, and one forked for the second)
    bodies = run_together(pool, 2, 0.5)
    # Then both found boto3 and a default session (with the service's models) there
    assert [(b["loaded"], b["session"]) for b in bodies] == [(True, True), (True, True)]


def test_a_first_worker_the_start_waits_for_is_forked_before_the_sdk_is_loaded(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose first worker the stack's start waits for (the API's)
    pool, _ = make_pool(SDK_PROBE, max_workers=2, services=frozenset({"dynamodb"}), awaited=True)
    # When two invocations run at once
    bodies = run_together(pool, 2, 0.5)
    # Then the first worker, forked at once, had to load it; the second found it loaded
    assert sorted((b["loaded"], b["session"]) for b in bodies) == [(False, False), (True, True)]


def test_a_function_whose_policies_allow_no_service_moto_serves_gets_no_sdk_loaded(
    make_pool: Callable[..., Any],
) -> None:
    # Given a function whose policies allow only a service the local stack does not serve
    pool, _ = make_pool(SDK_PROBE, max_workers=2, services=frozenset({"sqs"}))
    # When two invocations run at once
    bodies = run_together(pool, 2, 0.5)
    # Then neither worker found the SDK loaded: nothing was loaded for them
    assert [b["loaded"] for b in bodies] == [False, False]


UNFORKABLE_AND_GONE = """
import json, os, socket
config = json.loads(os.environ.pop("_FLOW_MANAGER_LOCAL_WORKER"))
control = socket.socket(fileno=config["control_fd"])
control.send(json.dumps({"ready": True, "forkable": True}).encode())
control.send(json.dumps({"unforkable": True}).encode())
"""


def test_a_fork_asked_of_a_template_that_has_gone_knows_what_it_said_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a template that said it cannot be forked from and exited, whose last
    # message the stack's reader takes in slowly (a busy stack)
    original = Zygote._dispatch

    def slow(zygote: Zygote, message: dict[str, Any], fds: list[int]) -> None:
        if "unforkable" in message:
            time.sleep(0.5)
        original(zygote, message, fds)

    monkeypatch.setattr(Zygote, "_dispatch", slow)
    stack_read, stack_write = os.pipe()
    try:
        command = [sys.executable, "-c", UNFORKABLE_AND_GONE]
        zygote = Zygote(command, {}, {}, tmp_path, lambda stream: None, stack_fd=stack_read)
        assert zygote.wait_ready(10)["forkable"]
        zygote.process.wait(10)  # gone: a request cannot reach it
        # When a worker is asked of it
        with pytest.raises(TemplateGone):
            zygote.fork()
        # Then it is known by then that it could not be forked from (so the pool spawns
        # processes, rather than starting another template to run its hooks again)
        assert zygote.unforkable
        zygote.close()
    finally:
        os.close(stack_read)
        os.close(stack_write)
