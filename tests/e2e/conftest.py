"""The stack under test: the local stack (`flow-manager serve` on free ports, started
once per session, stopped with Ctrl-C at the end), or a deployed API when
FLOW_MANAGER_URL is set (requests signed with your AWS credentials)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flow_manager_local.client import ApiClient
from flow_manager_local.launch import LocalStackProcess, running_local_stack
from tests.e2e.support import flow_document, json_body, pipeline, unique
from tests.e2e.worker_pools import pool_maker


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess | None]:
    """The running local stack, or None when the tests target a deployed API."""
    if os.environ.get("FLOW_MANAGER_URL"):
        yield None
        return
    with running_local_stack(tmp_path_factory.mktemp("local-stack") / "serve.log") as stack:
        yield stack


@pytest.fixture(scope="session")
def endpoint(local_stack: LocalStackProcess | None) -> str:
    if local_stack is None:
        return os.environ["FLOW_MANAGER_URL"].rstrip("/")
    return local_stack.url


@pytest.fixture(scope="session")
def api(endpoint: str) -> ApiClient:
    return ApiClient.connect(endpoint, timeout=60)


@pytest.fixture
def cleanup(api: ApiClient) -> Iterator[list[str]]:
    """Flow ids to delete after the test (running executions are stopped)."""
    flow_ids: list[str] = []
    yield flow_ids
    for flow_id in flow_ids:
        with contextlib.suppress(Exception):  # best effort: never mask the test's result
            api.delete(f"/flows/{flow_id}", query={"force": "true"})


@pytest.fixture
def create_flow(api: ApiClient, cleanup: list[str]) -> Callable[..., str]:
    """Create a flow (unique id, deleted afterwards) and return its id."""

    def create(
        tasks: list[dict[str, Any]] | None = None,
        conditions: list[dict[str, Any]] | None = None,
        prefix: str = "e2e",
        **extra: Any,
    ) -> str:
        flow_id = unique(prefix)
        document = (
            pipeline(flow_id)
            if tasks is None
            else flow_document(flow_id, tasks, conditions, **extra)
        )
        response = api.post("/flows", document)
        assert response.status == 201, response.error_line()
        cleanup.append(flow_id)
        return str(json_body(response)["flow_id"])

    return create


@pytest.fixture
def flow_file(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write a flow document to a file, for the CLI."""

    def write(document: dict[str, Any]) -> Path:
        import json

        path = tmp_path / "flow.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_pool(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """A scratch function's pool, and its logs (tests.e2e.worker_pools.pool_maker)."""
    yield from pool_maker(tmp_path)
