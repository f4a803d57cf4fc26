"""Large flows on the local stack (issue 7, item 12): create, run and read 300 and 500 tasks.

    .venv/bin/python benchmarks/large_flows.py [--sizes 300 500] [--kind fetch_data]

For each size N it starts nothing new (one local stack, started here on free ports),
creates a linear flow of N sample tasks (`fetch_data`: 10 generated records, ~1 KiB of
data each, so every result goes to the ResultsBucket), and prints
- create: POST /flows status and time (API Gateway allows 29 s);
- run: the execution's final status, how many tasks ran, and its time (start to stop
  as Step Functions recorded them);
- report: GET /executions/{id} status and size of the answer; the time of the first GET
  after the end (which builds the report from the history and stores it) and the
  median of the next ones (which read the stored report).
Nothing here asserts: figures depend on the machine. Every wait has a deadline.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from flow_manager_local.client import ApiClient
from flow_manager_local.launch import LocalStackProcess, start_local_stack

RUN_DEADLINE_SECONDS = 1800.0
POLL_SECONDS = 1.0
STORED_READS = 5
TERMINAL = ("completed", "failed", "aborted", "timed_out")


def linear(size: int, kind: str) -> dict[str, Any]:
    names = [f"t{i:03d}" for i in range(size)]
    return {
        "flow": {
            "id": f"large_{size}",
            "name": f"{size} tasks in a line",
            "start_task": names[0],
            "tasks": [{"name": n, "function": kind} for n in names],
            "conditions": [
                {
                    "name": f"after_{a}",
                    "source_task": a,
                    "outcome": "success",
                    "target_task_success": b,
                    "target_task_failure": "end",
                }
                for a, b in itertools.pairwise(names)
            ],
        }
    }


def one_size(api: ApiClient, size: int, kind: str) -> None:
    started = time.perf_counter()
    created = api.post("/flows", linear(size, kind))
    took = time.perf_counter() - started
    print(f"{size} tasks: create {created.status} in {took:.1f} s", flush=True)
    if created.status not in (200, 201):
        print(f"  {created.error_line()}")
        return
    started = time.perf_counter()
    answer = api.post(f"/flows/large_{size}/executions", {"context": {"batch_id": "bench"}})
    if answer.status != 202:
        print(f"  start {answer.status}: {answer.error_line()}")
        return
    execution_id = answer.body["execution_id"]
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    status = "running"
    built_took = 0.0
    while time.monotonic() < deadline:
        asked = time.perf_counter()
        report = api.get(f"/executions/{execution_id}")
        built_took = time.perf_counter() - asked
        status = str(report.body.get("status")) if report.ok else "?"
        if status in TERMINAL:
            break
        time.sleep(POLL_SECONDS)
    run_took = time.perf_counter() - started
    # The GET that first saw the end built the report from the history (and stored it);
    # the next ones read the stored report (flow_manager/stored_reports.py).
    reads: list[float] = []
    for _ in range(STORED_READS):
        asked = time.perf_counter()
        report = api.get(f"/executions/{execution_id}")
        reads.append(time.perf_counter() - asked)
    get_took = statistics.median(reads)
    body = report.body if isinstance(report.body, dict) else {}
    size_bytes = len(json.dumps(body).encode())
    if body.get("start_time") and body.get("end_time"):  # the engine's own figure
        run_took = (_moment(body["end_time"]) - _moment(body["start_time"])).total_seconds()
    failed = body.get("failed_task")
    detail = f", failed_task {failed}: {body.get('error')}" if failed else ""
    print(
        f"{size} tasks: run {status}, {len(body.get('executed_tasks') or [])} tasks ran, "
        f"in {run_took:.0f} s{detail}",
        flush=True,
    )
    print(
        f"{size} tasks: GET /executions/{{id}} {report.status}, {size_bytes / 1000:.0f} kB: "
        f"first after the end (built from the history) {built_took:.2f} s, "
        f"later (stored report, median of {STORED_READS}) {get_took:.2f} s",
        flush=True,
    )


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 500])
    parser.add_argument("--kind", default="fetch_data", help="the sample task kind to chain")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flow-manager-large-") as scratch:
        stack: LocalStackProcess | None = None
        try:
            stack = start_local_stack(Path(scratch) / "serve.log")
            api = ApiClient(stack.url, timeout=60)
            for size in args.sizes:
                one_size(api, size, args.kind)
        finally:
            if stack is not None:
                stack.interrupt()
    return 0


if __name__ == "__main__":
    sys.exit(main())
