"""Cold start of ApiFunction against the same routes on FastAPI.

Each run is a fresh Python process that imports the app and answers GET /health, then
POST /flows/validate (the seeds' flow), as a new Lambda execution environment would.
Times are taken inside the process (the interpreter's own start-up is the same for
both and not counted); the figure is the median of N runs (default 10).

    .venv/bin/python benchmarks/cold_start.py [N] [--no-bytecode]

Compiled bytecode decides much of a cold start, so each run states where it comes from
rather than depending on which `__pycache__` directories happen to exist: by default
every module (the project's and the libraries') is compiled once into a cache of this
benchmark's own (PYTHONPYCACHEPREFIX) before the timed runs, as on a machine that ran
the code before. `--no-bytecode` compiles everything in every run (a fresh, empty
cache each time), as Lambda does with what `sam build` makes: its artifacts hold no
`.pyc`, and /opt and /var/task are read-only, so nothing is ever cached there.

ApiFunction answers API Gateway proxy events through `lambda_handler`; FastAPI answers
the same requests through its ASGI interface, as a Lambda adapter (Mangum) drives it.
FastAPI is not a project dependency: `pip install fastapi` into the venv to compare.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOW = json.loads((ROOT / "events" / "flows" / "data_pipeline.json").read_text())
CATALOG = {
    kind: f"arn:aws:lambda:us-east-1:123456789012:function:flow-manager-{kind}"
    for kind in ("fetch_data", "process_data", "store_data", "task1", "task2", "task3")
}
ENVIRONMENT = {
    "FLOWS_TABLE": "FlowsTable",
    "STATE_MACHINE_ROLE_ARN": "arn:aws:iam::123456789012:role/flow-manager",
    "STATE_MACHINE_PREFIX": "flow-manager_",
    "TASK_CATALOG": json.dumps(CATALOG),
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "flow-manager",
    "POWERTOOLS_METRICS_NAMESPACE": "FlowManager",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / "shared"), str(ROOT / "benchmarks")]),
}

# Both children print {"import": s, "health": s, "validate": s, "cpu": s}: seconds since
# start, after the import, after the first answer, after the second; and the CPU time
# the process used for all of it (steadier than wall time when other work shares the
# machine's cores).
POWERTOOLS_CHILD = r"""
import json, sys, time
start, cpu = time.perf_counter(), time.process_time()
sys.path.insert(0, sys.argv[1])
import app
imported = time.perf_counter()

class Context:
    function_name = "ApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    aws_request_id = "benchmark"
    def get_remaining_time_in_millis(self):
        return 30_000

def event(method, path, body=None):
    return {"resource": "/{proxy+}", "path": path, "httpMethod": method,
            "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": {"proxy": path[1:]}, "stageVariables": None,
            "requestContext": {"stage": "v1", "path": "/v1" + path, "httpMethod": method,
                               "requestId": "benchmark", "resourcePath": "/{proxy+}"},
            "body": None if body is None else json.dumps(body), "isBase64Encoded": False}

assert app.lambda_handler(event("GET", "/health"), Context())["statusCode"] == 200
health = time.perf_counter()
answer = app.lambda_handler(event("POST", "/flows/validate", json.loads(sys.argv[2])), Context())
assert answer["statusCode"] == 200 and json.loads(answer["body"])["valid"], answer
done = time.perf_counter()
print(json.dumps({"import": imported - start, "health": health - start, "validate": done - start,
                  "cpu": time.process_time() - cpu}))
"""

FASTAPI_CHILD = r"""
import asyncio, json, sys, time
start, cpu = time.perf_counter(), time.process_time()
import fastapi_app
imported = time.perf_counter()

def call(method, path, body=None):
    raw = b"" if body is None else json.dumps(body).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "https", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "server": ("localhost", 443),
             "client": ("127.0.0.1", 1), "headers": [(b"content-type", b"application/json")]}
    sent, received = [], [{"type": "http.request", "body": raw, "more_body": False}]
    async def receive():
        return received.pop() if received else {"type": "http.disconnect"}
    async def send(message):
        sent.append(message)
    asyncio.run(fastapi_app.app(scope, receive, send))
    status = sent[0]["status"]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(payload)

assert call("GET", "/health")[0] == 200
health = time.perf_counter()
status, body = call("POST", "/flows/validate", json.loads(sys.argv[2]))
assert status == 200 and body["valid"], body
done = time.perf_counter()
print(json.dumps({"import": imported - start, "health": health - start, "validate": done - start,
                  "cpu": time.process_time() - cpu}))
"""


def run_once(child: str, cache: str, *, write: bool) -> dict[str, float]:
    """One fresh process; bytecode read from (and, if `write`, written to) `cache`."""
    bytecode = {"PYTHONPYCACHEPREFIX": cache, "PYTHONDONTWRITEBYTECODE": "" if write else "1"}
    finished = subprocess.run(
        [sys.executable, "-c", child, str(ROOT / "functions" / "api"), json.dumps(FLOW)],
        env={**os.environ, **ENVIRONMENT, **bytecode},
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise SystemExit(finished.stderr[-2000:])
    times: dict[str, float] = json.loads(finished.stdout.strip().splitlines()[-1])
    return times


def measure(children: dict[str, str], runs: int, *, bytecode: bool) -> dict[str, dict[str, float]]:
    """Median figures of each child; the children take turns, so a burst of other work
    on the machine weighs on both alike."""
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in children}
    with tempfile.TemporaryDirectory(prefix="cold-start-pycache-") as scratch:
        cached = os.path.join(scratch, "cached")
        if bytecode:
            for child in children.values():  # compile everything once, untimed
                run_once(child, cached, write=True)
        for _ in range(runs):
            for name, child in children.items():
                cache = cached if bytecode else os.path.join(scratch, "empty")
                for key, value in run_once(child, cache, write=False).items():
                    figures[name].setdefault(key, []).append(value)
    return {
        name: {key: statistics.median(values) for key, values in times.items()}
        for name, times in figures.items()
    }


def main() -> None:
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    bytecode = "--no-bytecode" not in sys.argv[1:]
    runs = int(arguments[0]) if arguments else 10
    children = {"ApiFunction (Powertools)": POWERTOOLS_CHILD}
    try:
        import fastapi  # noqa: F401 (only to know whether the comparison can run)
    except ImportError:
        print("fastapi is not installed: `pip install fastapi` to compare", file=sys.stderr)
    else:
        children["FastAPI, same routes"] = FASTAPI_CHILD
    rows = list(measure(children, runs, bytecode=bytecode).items())
    where = "compiled once before" if bytecode else "compiled in every run, as in Lambda"
    print(
        f"cold start, median of {runs} fresh processes (ms since the import began; "
        f"bytecode {where})"
    )
    print(f"{'':28} {'import':>8} {'GET /health':>12} {'+ POST /flows/validate':>24} {'CPU':>6}")
    for name, figures in rows:
        print(
            f"{name:28} {figures['import'] * 1000:8.0f} {figures['health'] * 1000:12.0f}"
            f" {figures['validate'] * 1000:24.0f} {figures['cpu'] * 1000:6.0f}"
        )
    if len(rows) == 2:
        (_, ours), (_, theirs) = rows
        print(
            f"ratio ApiFunction / FastAPI: {ours['validate'] / theirs['validate']:.2f} (wall, "
            f"import + both requests), {ours['cpu'] / theirs['cpu']:.2f} (CPU)"
        )


if __name__ == "__main__":
    main()
