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


def v2(groups: int) -> dict[str, Any]:
    """`groups` x 6 tasks (+2): a task with two cases, a wait, a for_each task and a
    parallel task of two one-task branches, chained; 83 groups make 500 tasks."""
    tasks: list[dict[str, Any]] = []
    order: list[str] = []
    for g in range(groups):
        branches = [
            {
                "name": "left",
                "start_task": f"l{g}",
                "tasks": [{"name": f"l{g}", "function": "fetch_data"}],
            },
            {
                "name": "right",
                "start_task": f"r{g}",
                "tasks": [{"name": f"r{g}", "function": "store_data"}],
            },
        ]
        tasks += [
            {"name": f"t{g}", "function": KINDS[g % 3]},
            {"name": f"w{g}", "type": "wait", "seconds": 1},
            {"name": f"f{g}", "function": "process_data", "for_each": f"results.t{g}.data.records"},
            {"name": f"p{g}", "type": "parallel", "branches": branches},
        ]
        order += [f"t{g}", f"w{g}", f"f{g}", f"p{g}"]
    tasks += [
        {"name": "last", "function": "store_data"},
        {"name": "undo", "function": "store_data"},
    ]
    order.append("last")
    conditions: list[dict[str, Any]] = []
    for i, name in enumerate(order[:-1]):
        condition: dict[str, Any] = {
            "name": f"after {name}",
            "source_task": name,
            "outcome": "success",
            "target_task_success": order[i + 1],
            "target_task_failure": "undo" if i % 2 else "fail",
        }
        if name.startswith("t"):
            condition["cases"] = [
                {"when": "data.count > 100 and context.region != 'eu'", "target": order[i + 2]},
                {"when": "data.mode in ['fast', 'skip']", "target": order[i + 3]},
            ]
        conditions.append(condition)
    conditions.append(
        {
            "name": "undone",
            "source_task": "undo",
            "outcome": "success",
            "target_task_success": "fail",
            "target_task_failure": "fail",
        }
    )
    flow = {"id": "v2bench", "name": "bench v2", "start_task": "t0", "tasks": tasks}
    return {"flow": {**flow, "conditions": conditions}}


def main() -> None:
    catalog = placeholder_catalog()
    print(f"{'tasks':>6} {'validate ms':>12} {'compile ms':>11} {'total ms':>9} {'ASL KiB':>8}")
    cases: list[tuple[str, int, dict[str, Any]]] = [(str(n), n, chain(n)) for n in (10, 100, 500)]
    cases.append(("500 v2", 500, v2(83)))
    for label, size, document in cases:
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
        print(f"{label:>6} {check:>12.2f} {build:>11.2f} {check + build:>9.2f} {size_kib:>8.0f}")


if __name__ == "__main__":
    main()
