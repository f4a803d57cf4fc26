"""Every function's template forked from the stack's one root template, which imported
the SDK and parsed its models once for them all (no HTTP: scratch functions' pools)."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flow_manager_local.console import Console
from flow_manager_local.launch import function_of
from flow_manager_local.root_template import TemplateRoot, root_environment
from flow_manager_local.worker_processes import process_title
from flow_manager_local.workers import FunctionPool
from tests.e2e.support import local_only
from tests.e2e.worker_pools import call, run_together

pytestmark = local_only

PROBE = """
import os, sys, time

def lambda_handler(event, context):
    time.sleep(event.get("seconds", 0))
    import boto3
    session = boto3.DEFAULT_SESSION or boto3.Session()
    loader = session._session.get_component("data_loader")
    import pydantic
    return {
        "key": session.get_credentials().access_key,
        "resource_loader_shared": session._loader is loader,
        "pid": os.getpid(),
        "table": os.environ.get("TABLE"),
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "cwd": os.getcwd(),
        "region": session.region_name,
        "models": sorted({key[1] for key in loader._cache if key[0] == "load_service_model"}),
        "pydantic": pydantic.__file__,
    }
"""


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


@pytest.fixture
def root() -> Iterator[TemplateRoot]:
    # Another region and key than the functions' (us-east-1, "testing"): what is the
    # function's shows. (Requested before make_pool: its pools close first.)
    environment = {
        **root_environment(endpoint_url="http://127.0.0.1:9", region="eu-west-1"),
        "AWS_ACCESS_KEY_ID": "the-root-s",
    }
    made = TemplateRoot(sys.executable, environment, Console(io.StringIO(), colour=False))
    yield made
    made.close()


def _template_of(pool: FunctionPool) -> int:
    template = pool._spawner.template_pid
    assert template is not None
    return template


def test_every_function_s_template_is_forked_from_the_one_root_template(
    root: TemplateRoot, make_pool: Callable[..., Any]
) -> None:
    # Given two functions' pools that share the root template
    first, _ = make_pool(PROBE, root=root, logical_id="FirstFunction")
    second, _ = make_pool(PROBE, root=root, logical_id="SecondFunction")
    # When each is invoked
    answers = [call(pool, {})[1] for pool in (first, second)]
    # Then both templates are children of the root, and their workers of them
    assert root.pid is not None
    assert [_parent(_template_of(pool)) for pool in (first, second)] == [root.pid] * 2
    assert [_parent(a["pid"]) for a in answers] == [_template_of(p) for p in (first, second)]
    # And each process is named after its function (its command line is the root's)
    assert [function_of(a["pid"]) for a in answers] == ["First", "Second"]
    assert function_of(_template_of(first)) == process_title("FirstFunction")
    assert function_of(root.pid) is None


def test_a_template_forked_from_the_root_runs_in_its_function_s_environment(
    root: TemplateRoot, make_pool: Callable[..., Any]
) -> None:
    # Given a function forked from a root made in another region
    pool, _ = make_pool(PROBE, root=root)
    # When it is invoked
    _, body = call(pool, {})
    # Then it sees its own variables, directory, region and credentials, not the root's
    # (whose session resolved its own key as it loaded the models)
    assert body["table"] == "from-the-template"
    assert body["function"] == "scratch"
    assert Path(body["cwd"]).name == "fn0"
    assert body["region"] == "us-east-1"
    assert body["key"] == "testing"


def test_a_function_finds_the_models_the_root_loaded_whatever_its_policies_allow(
    root: TemplateRoot, make_pool: Callable[..., Any]
) -> None:
    # Given a function whose policies allow no service its own template would load
    pool, _ = make_pool(PROBE, root=root, services=frozenset({"sqs"}), max_workers=2)
    # When two of its workers answer
    bodies = run_together(pool, 2, 0.5)
    # Then each found the models the root parsed, in its own session's loader, which
    # its resource models come from too
    assert len({body["pid"] for body in bodies}) == 2
    for body in bodies:
        assert {"dynamodb", "s3", "stepfunctions", "scheduler"} <= set(body["models"])
        assert body["resource_loader_shared"]


def test_a_function_that_brings_its_own_copy_of_a_root_package_imports_its_own(
    root: TemplateRoot, make_pool: Callable[..., Any]
) -> None:
    # Given a function whose code vendors a package the root has imported (pydantic)
    vendored = {"pydantic/__init__.py": "VENDORED = True\n"}
    pool, _ = make_pool(PROBE, root=root, files=vendored)
    # When it is invoked
    _, body = call(pool, {})
    # Then it imported its own copy, in a template the root did not fork
    assert body["pydantic"].startswith(str(pool.spec.code_dir))
    assert _parent(_template_of(pool)) == os.getpid()


def test_a_function_that_vendors_an_extension_module_of_a_root_package_gets_its_own_template(
    root: TemplateRoot, make_pool: Callable[..., Any]
) -> None:
    # Given a function whose code has an extension module named as one the root
    # imported (pydantic's typing_inspection; the handler itself never imports it)
    vendored = {"typing_inspection.cpython-313-x86_64-linux-gnu.so": ""}
    pool, _ = make_pool(files=vendored, root=root)
    # When it is invoked
    answer, _ = call(pool, {})
    # Then it answers from a template the root did not fork
    assert answer.function_error is None
    assert _parent(_template_of(pool)) == os.getpid()


SLOW_INIT = """
import os, time
time.sleep(float(os.environ["INIT_SECONDS"]))

def lambda_handler(event, context):
    return {"pid": os.getpid()}
"""


def test_a_template_whose_init_outlasts_the_root_template_still_serves(
    root: TemplateRoot, make_pool: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function forked from the root whose init takes 2 s (a parent's watcher
    # would notice within runtime.PARENT_POLL_SECONDS)
    monkeypatch.setenv("INIT_SECONDS", "2")
    pool, _ = make_pool(SLOW_INIT, root=root, env=["INIT_SECONDS"], warm=False)
    starting = threading.Thread(target=pool.start)
    starting.start()
    # When the root template is killed while that init runs
    deadline = time.monotonic() + 10
    while pool._spawner.template_pid is None and time.monotonic() < deadline:
        time.sleep(0.01)
    template = pool._spawner.template_pid
    assert root.pid is not None
    assert template is not None
    os.kill(root.pid, signal.SIGKILL)
    starting.join(20)
    # Then that template ends its init and forks the worker that answers (it watches
    # the stack, not the root); templates started from now on are processes of their own
    answer, body = call(pool, {})
    assert answer.function_error is None, body
    assert _parent(body["pid"]) == template
    assert root.zygote() is None


def test_a_function_with_a_locale_of_its_own_gets_a_template_of_its_own(
    root: TemplateRoot, make_pool: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function whose environment sets another locale than the root's (which
    # the interpreter reads as it starts: a fork would keep the root's)
    monkeypatch.setenv("LANG", "C.UTF-8")
    pool, _ = make_pool(PROBE, root=root, env=["LANG"])
    # When it is invoked
    answer, _ = call(pool, {})
    # Then it answers from a template started as a process, not forked from the root
    assert answer.function_error is None
    assert _parent(_template_of(pool)) == os.getpid()


def test_when_the_root_template_cannot_start_each_template_is_a_new_process(
    make_pool: Callable[..., Any],
) -> None:
    # Given a root template whose interpreter exits at once
    environment = root_environment(endpoint_url="http://127.0.0.1:9", region="us-east-1")
    logs = io.StringIO()
    broken = TemplateRoot("/bin/false", environment, Console(logs, colour=False))
    try:
        pool, _ = make_pool(PROBE, root=broken)
        # When the function is invoked
        answer, body = call(pool, {})
        # Then it answers from a template started as a process of its own
        assert answer.function_error is None
        assert body["table"] == "from-the-template"
        assert _parent(_template_of(pool)) == os.getpid()
        assert "cannot be forked from" in logs.getvalue()
    finally:
        broken.close()
