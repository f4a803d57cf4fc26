"""The local stack under load: N executions of the 3-task sample from C concurrent clients.

    .venv/bin/python benchmarks/throughput.py [-n 200] [-c 20] [--soak 1000]

Starts its own local stack (`flow-manager serve` on free loopback ports), creates the
sample flow (events/flows/data_pipeline.json), then each of C client threads starts an
execution (POST /flows/data_pipeline/executions) and polls GET /executions/{id} until
it reports a final status, then starts the next, until N have ended. Prints:

- throughput: executions ended / (first start → last end);
- start latency (the POST) p50 / p95 / p99 / max;
- end to end (POST → first GET that reports a final status) p50 / p95; polled every
  `--poll` seconds (0.05), so a figure may be up to that much late. Every poll is a
  request the stack serves, so the interval is part of the load;
- how many responses were 5xx, and how many executions did not end `completed`;
- the stack's CPU time during the load (all its processes), in total and per
  execution: on a shared machine the one figure that does not depend on the others;
- the stack's memory (the serve process and all its children: workers, their templates
  and, when it runs apart, moto) before and after: PSS, which counts a page shared by
  several processes (a forked worker's, with its template) once in all, and the RSS
  summed over the processes, which counts it in each.

`--rate R` makes the load open: an execution starts every 1/R s, each from a client of
its own, whether or not the earlier ones have ended, as a service's users arrive. With
closed-loop clients (the default) the stack is always saturated, whatever its speed:
each client's next start waits for its last execution, so by Little's law a start's
latency is about its share of a client's cycle (C / throughput). At a rate the stack
sustains, the figures say what a start costs under that traffic.

`--soak M` runs M executions in rounds of 100 and prints the memory after each round.
`--profile DIR` records the serve process (and its children) with py-spy into DIR
while the load runs (py-spy must be installed: `pip install py-spy`). `--warm W` runs W
executions from all the clients before measuring: the worker pools have grown to their
size by then, so the figures (and a profile) leave out the workers' cold starts.

Nothing here asserts: figures depend on the machine (and on what else runs on it).
Every wait has a deadline; only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flow_manager_local.client import ApiClient, ApiResponse, ApiUnavailable
from flow_manager_local.launch import (
    ROOT,
    ROOT_TEMPLATE_TITLE,
    LocalStackProcess,
    descendants,
    runtime_title,
    start_local_stack,
)

FLOW_FILE = ROOT / "events" / "flows" / "data_pipeline.json"
POLL_SECONDS = 0.05  # --poll; `flow-manager run` polls every 0.2 s growing to 0.5 s
EXECUTION_DEADLINE_SECONDS = 120.0
ROUND = 100  # executions between two memory readings in --soak
TERMINAL = ("completed", "failed", "aborted", "timed_out")


@dataclass
class Results:
    start_latencies: list[float] = field(default_factory=list)
    end_to_end: list[float] = field(default_factory=list)
    first_start: float = float("inf")
    last_end: float = 0.0
    server_errors: int = 0  # 5xx responses, starts and reads
    reads: int = 0  # GETs of an execution, until it reported a final status
    failed: list[str] = field(default_factory=list)  # what went wrong, one line each
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note_status(self, response: ApiResponse) -> None:
        if response.status >= 500:
            with self.lock:
                self.server_errors += 1


@dataclass(frozen=True)
class Memory:
    """The stack's memory: `pss` shares each page among the processes that map it (what
    the stack costs the machine); `rss` sums each process's resident set, so a page the
    workers share with their template counts once per process."""

    pss: int
    rss: int
    processes: int

    def __str__(self) -> str:
        return f"{_mb(self.pss)} PSS ({_mb(self.rss)} RSS summed over {self.processes} processes)"


def memory(pid: int) -> Memory:
    """Memory of `pid` and every process below it (Linux /proc)."""
    pss = rss = processes = 0
    for each in (pid, *descendants(pid)):
        try:
            rollup = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue  # it ended while we looked
        processes += 1
        for line in rollup.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) * 1024
    return Memory(pss, rss, processes)


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time (user + system) used so far by `pid` and its children, by process kind:
    "serve" (with the children it reaped), the root template (with the templates that
    ended, and their workers), and each function's template and workers by name."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for each in (pid, *descendants(pid)):
        try:
            stat = Path(f"/proc/{each}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the name.
        used = sum(int(f) for f in fields[11:15]) / ticks
        title = None if each == pid else runtime_title(each)
        kind = "root template" if title == ROOT_TEMPLATE_TITLE else (title or "serve")
        totals[kind] = totals.get(kind, 0.0) + used
    return totals


def ensure_flow(api: ApiClient) -> str:
    document = json.loads(FLOW_FILE.read_text(encoding="utf-8"))
    flow_id = str(document["flow"]["id"])
    created = api.post("/flows", document)
    if created.status not in (200, 201, 409):
        raise SystemExit(f"creating {flow_id}: {created.error_line()}")
    return flow_id


def one_execution(
    api: ApiClient, flow_id: str, results: Results, poll: float, due: float | None = None
) -> None:
    """Start one execution and poll it to its end, noting the figures in `results`.
    `due` (perf_counter): when an open load meant to start it; its latencies count
    from then, so a start the load sent late is not measured as quick."""
    try:
        _start_and_poll(api, flow_id, results, poll, time.perf_counter() if due is None else due)
    except ApiUnavailable as exc:
        with results.lock:
            results.failed.append(f"unavailable: {exc}")


def _start_and_poll(
    api: ApiClient, flow_id: str, results: Results, poll: float, started: float
) -> None:
    with results.lock:
        results.first_start = min(results.first_start, started)
    response = api.post(f"/flows/{flow_id}/executions", {"context": {"batch_id": "bench"}})
    accepted = time.perf_counter()
    results.note_status(response)
    if not response.ok:
        with results.lock:
            results.failed.append(f"start: {response.error_line()}")
        return
    with results.lock:
        results.start_latencies.append(accepted - started)
    execution_id = str(response.body["execution_id"])
    deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        report = api.get(f"/executions/{execution_id}")
        results.note_status(report)
        with results.lock:
            results.reads += 1
        status = str(report.body.get("status")) if isinstance(report.body, dict) else ""
        if report.ok and status in TERMINAL:
            ended = time.perf_counter()
            with results.lock:
                results.end_to_end.append(ended - started)
                results.last_end = max(results.last_end, ended)
                if status != "completed":
                    results.failed.append(f"{execution_id} ended {status}")
            return
        time.sleep(poll)
    with results.lock:
        results.failed.append(f"{execution_id} did not end in {EXECUTION_DEADLINE_SECONDS:.0f} s")


def run_load(
    api: ApiClient, flow_id: str, executions: int, clients: int, poll: float = POLL_SECONDS
) -> Results:
    """`executions` runs from `clients` threads; each thread runs one at a time."""
    results = Results()
    remaining = [executions]
    counter = threading.Lock()

    def client() -> None:
        while True:
            with counter:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            one_execution(api, flow_id, results, poll)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(max(1, clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(EXECUTION_DEADLINE_SECONDS * (executions // max(1, clients) + 2))
    return results


def run_open_load(
    api: ApiClient, flow_id: str, executions: int, rate: float, poll: float = POLL_SECONDS
) -> Results:
    """`executions` runs started `rate` per second on schedule, each on its own thread;
    each one's latencies count from when it was due."""
    results = Results()

    threads: list[threading.Thread] = []
    begin = time.perf_counter()
    for index in range(executions):
        due = begin + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(
            target=one_execution, args=(api, flow_id, results, poll, due), daemon=True
        )
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS  # one for all: they overlap
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return results


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.0f} MB"


def report(results: Results, executions: int, load: str, poll: float) -> None:
    """`load`: who sent it ("20 clients", "starts at 20/s")."""
    ended = len(results.end_to_end)
    span = results.last_end - results.first_start if ended else 0.0
    rate = ended / span if span > 0 else 0.0
    starts = results.start_latencies
    print(
        f"throughput: {ended}/{executions} executions ended in {span:.1f} s from "
        f"{load}: {rate:.1f} executions/s"
    )
    print(
        f"start latency: p50 {_ms(percentile(starts, 0.5))}, p95 {_ms(percentile(starts, 0.95))}, "
        f"p99 {_ms(percentile(starts, 0.99))}, max {_ms(max(starts, default=0.0))}"
    )
    print(
        f"end to end: p50 {_ms(percentile(results.end_to_end, 0.5))}, "
        f"p95 {_ms(percentile(results.end_to_end, 0.95))} (polled every {_ms(poll)}: "
        f"{results.reads / max(1, ended):.1f} GETs per execution)"
    )
    print(f"5xx responses: {results.server_errors}; not completed: {len(results.failed)}")
    for line in results.failed[:5]:
        print(f"  {line}")


def _profile(pid: int, directory: Path, seconds: int) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).is_file():
        print("--profile: py-spy is not installed (pip install py-spy)", file=sys.stderr)
        return None
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / "serve.speedscope.json"
    print(f"profiling pid {pid} and its children for {seconds} s into {output}")
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--gil",  # only the thread holding the GIL: where the CPU goes, not who waits
            "--duration",
            str(seconds),
            "--format",
            "speedscope",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(api: ApiClient, flow_id: str, pid: int, args: argparse.Namespace) -> None:
    """The load the arguments describe, with the stack's CPU and memory around it."""
    profiler = None
    if args.profile:
        profiler = _profile(pid, args.profile, max(5, args.executions // 10))
        time.sleep(1.0)  # py-spy attaches
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    if args.rate is not None:
        results = run_open_load(api, flow_id, args.executions, args.rate, args.poll)
        load = f"starts at {args.rate:g}/s"
    else:
        results = run_load(api, flow_id, args.executions, args.clients, args.poll)
        load = f"{args.clients} clients"
    cpu_after = cpu_seconds(pid)
    by_kind = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_after.items()}
    cpu = sum(by_kind.values())
    wall = time.monotonic() - wall_before
    if profiler is not None:
        profiler.wait(timeout=EXECUTION_DEADLINE_SECONDS)
    report(results, args.executions, load, args.poll)
    cores = f"{cpu / wall:.2f} cores of {os.cpu_count()}"
    per = cpu / max(1, len(results.end_to_end)) * 1000
    print(f"stack CPU: {cpu:.1f} s in {wall:.1f} s ({cores}), {per:.0f} ms per execution")
    shares = ", ".join(
        f"{kind} {100 * used / max(cpu, 1e-9):.0f}%"
        for kind, used in sorted(by_kind.items(), key=lambda kv: -kv[1])
    )
    print(f"  by process: {shares}")
    print(f"stack memory after: {memory(pid)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--executions", type=int, default=200, help="executions (200)")
    parser.add_argument("-c", "--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument(
        "--poll", type=float, default=POLL_SECONDS, help="seconds between GETs (0.05)"
    )
    parser.add_argument(
        "--rate", type=float, metavar="R", help="open load: R starts per second, not C clients"
    )
    parser.add_argument("--soak", type=int, metavar="M", help="M executions, memory every 100")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy the load into DIR")
    parser.add_argument(
        "--warm", type=int, default=1, metavar="W", help="W executions first, not counted (1)"
    )
    args = parser.parse_args()
    if args.rate is not None and (args.rate <= 0 or args.soak):
        parser.error("--rate takes starts per second above 0, and not with --soak")
    with tempfile.TemporaryDirectory(prefix="flow-manager-bench-") as scratch:
        stack: LocalStackProcess | None = None
        try:
            stack = start_local_stack(Path(scratch) / "serve.log")
            pid = stack.process.pid
            api = ApiClient(stack.url)
            flow_id = ensure_flow(api)
            # Not counted: warms moto's and the workers' paths; with --warm W from all the
            # clients, the pools also grow to their size first (steady state).
            run_load(api, flow_id, max(1, args.warm), args.clients if args.warm > 1 else 1)
            before = memory(pid)
            print(f"stack memory before: {before} (serve pid {pid} and children)")
            if args.soak:
                for done in range(0, args.soak, ROUND):
                    batch = min(ROUND, args.soak - done)
                    results = run_load(api, flow_id, batch, args.clients, args.poll)
                    span = max(1e-9, results.last_end - results.first_start)
                    print(
                        f"after {done + batch} executions: {memory(pid)}; "
                        f"{len(results.end_to_end) / span:.1f} executions/s; "
                        f"5xx {results.server_errors}; "
                        f"not completed {len(results.failed)}",
                        flush=True,
                    )
                return 0
            measure(api, flow_id, pid, args)
        finally:
            if stack is not None:
                stack.interrupt()
    return 0


if __name__ == "__main__":
    sys.exit(main())
