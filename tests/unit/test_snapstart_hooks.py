"""Before SnapStart's snapshot (and the local stack's fork) a function makes what its
requests would make on first use: its AWS clients, and the API's routers and services
(flow_manager/snapstart.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import botocore.session
import pytest
from moto import mock_aws

from flow_manager import snapstart
from tests.support.fresh_api import LAMBDA_EVENTS, run_fresh
from tests.support.task_apps import load_task_app
from tests.support.template import create_tables, load_template

REGION = "us-east-1"


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], Any]]:
    """A `snapshot_restore_py` as Lambda's runtime has it; the hooks registered with it."""
    registered: list[Callable[[], Any]] = []
    module = ModuleType("snapshot_restore_py")
    module.register_before_snapshot = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return registered


@pytest.fixture
def clients_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The service of every botocore client made from now on."""
    made: list[str] = []
    original = botocore.session.Session.create_client

    def counting(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service_name)
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    return made


def test_without_snapstart_s_module_a_hook_is_not_registered_nor_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no snapshot_restore_py (tests, the CLI: no SnapStart runtime)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    ran: list[str] = []
    # When a hook is registered / Then nothing fails and the hook does not run
    snapstart.before_snapshot(lambda: ran.append("ran"))
    assert ran == []


def test_a_hook_is_registered_with_snapstart_s_module(hooks: list[Callable[[], Any]]) -> None:
    # Given Lambda's snapshot_restore_py / When a hook is registered
    def hook() -> None:
        pass

    snapstart.before_snapshot(hook)
    # Then Lambda will run it before the snapshot
    assert hooks == [hook]


# A cold ApiFunction, with (argv[1] == "hooks") or without a SnapStart runtime: runs the
# hooks its import registered, then answers requests (moto, no table: each fails at its
# first call, the same way in both) and prints which clients and modules they made.
CHILD = (
    r"""
import json, sys, types
import botocore.session
from moto import mock_aws

hooks = []
if sys.argv[1] == "hooks":
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = lambda f, *a, **k: hooks.append((f, a, k)) or f
    sys.modules["snapshot_restore_py"] = module

"""
    + LAMBDA_EVENTS
    + r"""
with mock_aws():
    import app
    for hook, args, kwargs in reversed(hooks):
        hook(*args, **kwargs)
    made = []
    create = botocore.session.Session.create_client
    def counting(self, service_name, *args, **kwargs):
        made.append(service_name)
        return create(self, service_name, *args, **kwargs)
    botocore.session.Session.create_client = counting
    before = set(sys.modules)
    statuses = [
        app.lambda_handler(event(m, p, b), Context())["statusCode"]
        for m, p, b in [("GET", "/executions/e-1", None),
                        ("POST", "/flows/f/executions", '{"context": {}}'),
                        ("GET", "/flows/f/schedules", None)]
    ]
imported = sorted(m for m in set(sys.modules) - before
                  if m.startswith(("routes", "flow_manager")))
print(json.dumps({"hooks": len(hooks), "made": made, "imported": imported,
                  "statuses": statuses}))
"""
)


def test_under_snapstart_the_api_s_first_requests_make_no_client_and_import_no_route() -> None:
    # Given a cold ApiFunction whose before-snapshot hooks ran (SnapStart)
    # When its first requests come (an execution's report, a start, schedules)
    primed = run_fresh(CHILD, "hooks")
    # Then they made no AWS client and imported none of the API's modules
    assert primed["hooks"] == 1
    assert primed["made"] == []
    assert primed["imported"] == []
    # And without SnapStart the same requests make them (the check can fail)
    cold = run_fresh(CHILD, "none")
    assert cold["hooks"] == 0
    assert "dynamodb" in cold["made"]
    assert "routes.executions" in cold["imported"]
    assert primed["statuses"] == cold["statuses"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto with the template's tables and a results bucket, named in the environment."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        names = create_tables(boto3.client("dynamodb", region_name=REGION), load_template())
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="results")
        monkeypatch.setenv("DATA_TABLE", names["DataTable"])
        monkeypatch.setenv("RESULTS_BUCKET", "results")
        yield names


@pytest.mark.parametrize("kind", ["fetch_data", "store_data"])
def test_a_task_function_s_hooks_make_the_clients_its_invocation_uses(
    kind: str,
    aws: dict[str, str],
    hooks: list[Callable[[], Any]],
    clients_made: list[str],
) -> None:
    # Given a task function loaded under SnapStart, its hooks run (the results bucket's
    # client; store_data's table too)
    app = load_task_app(kind, prefix="snapstart")
    for hook in reversed(hooks):
        hook()
    made_by_hooks = list(clients_made)
    # When it is invoked with records enough to be a large result (kept in S3)
    records = [{"id": i, "value": "x" * 40} for i in range(20)]
    event = {
        "flow_id": "f",
        "flow_version": 1,
        "execution_id": "e-1",
        "task": "t",
        "retry_count": 0,
        "parameters": {"records": records} if kind == "fetch_data" else {},
        "context": {},
        "results": {"t0": {"status": "success", "data": {"records": records}, "error": None}},
    }
    answer = app.lambda_handler(json.loads(json.dumps(event)), None)
    # Then it succeeded, kept its result in S3, and made no client the hooks had not
    assert answer["status"] == "success", answer
    assert "$ref" in json.dumps(answer["data"])
    assert "s3" in made_by_hooks
    assert clients_made == made_by_hooks
