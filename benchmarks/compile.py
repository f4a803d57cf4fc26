"""Time to validate + compile flows of 10, 100 and 500 tasks (median of repeated runs).

.venv/bin/python benchmarks/compile.py
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from flow_manager.catalog import placeholder_catalog
from flow_manager.translator import compile_flow
from flow_manager.validation import validate

KINDS = ("fetch_data", "process_data", "store_data")


def chain(size: int) -> dict[str, Any]:
    """A chain whose every third task routes its failure to a recovery branch."""
    tasks = [
        {"name": f"t{i}", "function": KINDS[i % 3], "description": f"step {i}"} for i in range(size)
    ]
    conditions = [
        {
            "name": f"after t{i}",
            "source_task": f"t{i}",
            "outcome": "success",
            "target_task_success": f"t{i + 1}",
            "target_task_failure": f"t{i + 1}" if i % 3 else "end",
        }
        for i in range(size - 1)
    ]
    return {
        "flow": {
            "id": f"chain{size}",
            "name": "bench",
            "start_task": "t0",
            "tasks": tasks,
            "conditions": conditions,
        }
    }


def main() -> None:
    catalog = placeholder_catalog()
    print(f"{'tasks':>6} {'validate ms':>12} {'compile ms':>11} {'total ms':>9} {'ASL KiB':>8}")
    for size in (10, 100, 500):
        document = chain(size)
        runs = 50 if size < 500 else 15
        checks, builds = [], []
        size_kib = 0.0
        for _ in range(runs):
            start = time.perf_counter()
            flow = validate(document, catalog)
            middle = time.perf_counter()
            compiled = compile_flow(flow, catalog)
            checks.append(middle - start)
            builds.append(time.perf_counter() - middle)
            size_kib = len(compiled.json.encode()) / 1024
        check, build = statistics.median(checks) * 1e3, statistics.median(builds) * 1e3
        print(f"{size:>6} {check:>12.2f} {build:>11.2f} {check + build:>9.2f} {size_kib:>8.0f}")


if __name__ == "__main__":
    main()
