"""A parallel task: a Parallel state of sub-flows, then a Pass that merges every
branch task's result (and the parallel task's own) into `results`."""

from __future__ import annotations

from flow_manager.model import Task
from flow_manager.translator.common import State, result_path
from flow_manager.translator.graph import GraphUnit
from flow_manager.translator.task import case_choice


def parallel(unit: GraphUnit, task: Task) -> dict[str, State]:
    """Each branch is a sub-flow whose terminal success hands over its results; the
    Parallel state merges them (States.JsonMerge over States.ArrayGetItem: moto reads
    `$[1].results` as a list), and a Pass puts them into `results` with the parallel
    task's own result."""
    on_success, on_failure = unit.routes(task)
    merge = unit.names.fresh(f"{task.name} results")
    branches = []
    unit.branch_units[task.name] = []
    for branch in task.branches or ():
        sub = GraphUnit(branch, task.name, unit.context)
        unit.branch_units[task.name].append(sub)
        branch_states = sub.states()
        branches.append(
            {
                "Comment": branch.description or f"Branch '{branch.name}'",
                "StartAt": sub.entry(branch.start_task),
                "States": branch_states,
            }
        )
    merged = "States.ArrayGetItem($, 0)"
    for i in range(1, len(branches)):
        merged = f"States.JsonMerge({merged}, States.ArrayGetItem($, {i}), false)"
    parallel: State = {"Type": "Parallel"}
    if task.description:
        parallel["Comment"] = task.description
    parallel |= {
        "Branches": branches,
        "ResultSelector": {
            "branches.$": merged,
            "own": {task.name: {"status": "success", "data": None, "error": None}},
        },
        "ResultPath": _SCRATCH,
        "Catch": [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": result_path(task.name),
                "Next": on_failure,
            }
        ],
        "Next": merge,
    }
    scratch = _SCRATCH
    return {
        task.name: parallel,
        merge: {
            "Type": "Pass",
            "Comment": f"Every branch task's result, and {task.name}'s own, into results.",
            "Parameters": {
                "context.$": "$.context",
                "results.$": f"States.JsonMerge(States.JsonMerge($.results, {scratch}.branches, "
                f"false), {scratch}.own, false)",
            },
            "Next": on_success,
        },
    } | case_choice(unit, task)


_SCRATCH = "$.parallel"
"""Where a Parallel state leaves its merged branch results for the Pass after it."""
