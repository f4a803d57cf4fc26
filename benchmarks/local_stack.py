"""How fast the local stack starts, and how long one data-pipeline execution takes.

    .venv/bin/python benchmarks/local_stack.py [--starts 3] [--runs 20]

Prints:
- start: from launching `flow-manager serve` to the first 200 from GET /health
  (template read, moto up, resources created, the API's workers warm), each start and
  the median; /health is polled every 20 ms (launch.HEALTH_POLL_SECONDS);
- first: right after the last start, POST /flows of the sample, then one execution
  (to its final status): what a user's first request pays (the tasks' workers warm
  after /health is healthy, moto parses the new definition);
- execution: from POST /flows/data_pipeline/executions to the first GET
  /executions/{id} that reports a final status, median / p90 / min / max of N runs.
  Polled every 10 ms, so a figure may be up to ~10 ms late;
- moto: one AWS call from a boto3 client to the stack's moto (DynamoDB GetItem of a
  missing item, Step Functions ListStateMachines), median of MOTO_CALLS each: what
  every call of a function or of the CLI pays on top of its own work.

Nothing here asserts: figures depend on the machine. Every wait has a deadline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flow_manager_local.client import ApiClient, ApiResponse
from flow_manager_local.launch import ROOT, LocalStackProcess, start_local_stack

FLOW_FILE = ROOT / "events" / "flows" / "data_pipeline.json"
POLL_SECONDS = 0.01
EXECUTION_DEADLINE_SECONDS = 60.0
TERMINAL = ("completed", "failed", "aborted", "timed_out")
MOTO_CALLS = 50


def measure_start(log: Path) -> tuple[float, LocalStackProcess]:
    started = time.perf_counter()
    stack = start_local_stack(log)
    return time.perf_counter() - started, stack


def ensure_flow(api: ApiClient) -> str:
    document = json.loads(FLOW_FILE.read_text(encoding="utf-8"))
    flow_id = str(document["flow"]["id"])
    created = api.post("/flows", document)
    if created.status not in (200, 201, 409):
        raise SystemExit(f"creating {flow_id}: {created.error_line()}")
    return flow_id


def one_execution(api: ApiClient, flow_id: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = api.post(f"/flows/{flow_id}/executions", {"context": {"batch_id": "bench"}})
    _check(response, "starting an execution")
    execution_id = str(response.body["execution_id"])
    deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        report = api.get(f"/executions/{execution_id}")
        _check(report, "reading the execution")
        status = str(report.body.get("status"))
        if status in TERMINAL:
            return time.perf_counter() - started, status
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"execution {execution_id} did not end within {EXECUTION_DEADLINE_SECONDS} s")


def moto_calls(stack: LocalStackProcess) -> dict[str, float]:
    """Median seconds of MOTO_CALLS calls of each kind, one client, nothing else running."""
    from flow_manager_local.provision import Clients

    clients = Clients(stack.moto_url, "us-east-1")
    dynamodb, sfn = clients.dynamodb, clients.sfn
    table = dynamodb.list_tables()["TableNames"][0]
    key = {"pk": {"S": "benchmark"}, "sk": {"S": "missing"}}
    calls: dict[str, Callable[[], object]] = {
        "DynamoDB GetItem": lambda: dynamodb.get_item(TableName=table, Key=key),
        "ListStateMachines": lambda: sfn.list_state_machines(maxResults=10),
    }
    medians: dict[str, float] = {}
    for name, call in calls.items():
        times = []
        for _ in range(MOTO_CALLS):
            began = time.perf_counter()
            call()
            times.append(time.perf_counter() - began)
        medians[name] = statistics.median(times)
    return medians


def _check(response: ApiResponse, doing: str) -> None:
    if not response.ok:
        raise SystemExit(f"{doing}: {response.error_line()}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="stack starts to time (3)")
    parser.add_argument("--runs", type=int, default=20, help="executions to time (20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flow-manager-bench-") as scratch:
        start_times: list[float] = []
        stack: LocalStackProcess | None = None
        try:
            for i in range(max(1, args.starts)):
                elapsed, stack = measure_start(Path(scratch) / f"serve-{i}.log")
                start_times.append(elapsed)
                print(f"start {i + 1}: serve → healthy /health in {_ms(elapsed)}", flush=True)
                if i < args.starts - 1:
                    stack.interrupt()
            print(f"start: median {_ms(statistics.median(start_times))} of {len(start_times)}")
            assert stack is not None
            api = ApiClient(stack.url)
            began = time.perf_counter()
            flow_id = ensure_flow(api)
            created = time.perf_counter() - began
            first, _ = one_execution(api, flow_id)  # the first invokes warm moto's paths
            print(
                f"first, at once after the start: POST /flows in {_ms(created)}, "
                f"then an execution in {_ms(first)} (the task workers may still be warming)"
            )
            latencies: list[float] = []
            for _ in range(max(1, args.runs)):
                elapsed, status = one_execution(api, flow_id)
                if status != "completed":
                    raise SystemExit(f"an execution ended {status}")
                latencies.append(elapsed)
            latencies.sort()
            p90 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.9))]
            print(
                f"execution ({flow_id}, 3 tasks, start → final status over HTTP): "
                f"median {_ms(statistics.median(latencies))}, p90 {_ms(p90)}, "
                f"min {_ms(latencies[0])}, max {_ms(latencies[-1])} of {len(latencies)}"
            )
            figures = [f"{name} median {_ms(s)}" for name, s in moto_calls(stack).items()]
            print(f"moto (one boto3 call, idle): {', '.join(figures)} of {MOTO_CALLS} each")
        finally:
            if stack is not None:
                stack.interrupt()
    return 0


if __name__ == "__main__":
    sys.exit(main())
