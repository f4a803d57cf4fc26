"""Properties over many flows.

(a) Any valid flow, compiled and executed by moto's Step Functions interpreter with any
    task outcomes, ends as `predict` (the reference semantics of DESIGN §4) says.
(b) `validate` answers any mutation of a valid document with a Flow or an InvalidFlow
    whose problems each say where and what; it never raises anything else.
"""

from __future__ import annotations

import copy
import json
import pathlib
from collections.abc import Callable
from typing import Any, Literal, cast

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flow_manager.catalog import placeholder_catalog
from flow_manager.errors import InvalidFlow
from flow_manager.model import END, TaskStatus, predict
from flow_manager.translator import compile_flow
from flow_manager.validation import validate
from tests.support.sfn import SfnHarness, catalog_for

Outcome = Literal["success", "failure", "raise"]
Json = Any

# ---- (a) executed flows match predict() ---------------------------------------------------

# "Start" and "Completed" are also generated state names, and the condition names below
# collide with the rest ("After x", "x failed"): the translator must keep all of them apart.
TASK_NAMES = ("a", "b", "c", "d", "e", "f", "g", "task-1", "x_2", "Start", "Completed")


@st.composite
def condition_names(draw: st.DrawFn, source: str, tasks: list[str]) -> str:
    other = draw(st.sampled_from(tasks))
    return draw(
        st.sampled_from(
            [
                f"check {source}",
                "Completed",
                "Start",
                "Set up",
                "Resume",
                "Cannot resume",
                f"After {other}",
                f"{other} failed",
            ]
        )
    )


@st.composite
def generated_flows(draw: st.DrawFn) -> dict[str, Any]:
    """A valid flow document: tasks in a topological order, so conditions only point
    forward (no cycle); then the tasks start_task cannot reach are dropped."""
    names = draw(st.lists(st.sampled_from(TASK_NAMES), min_size=1, max_size=8, unique=True))
    conditions: dict[str, dict[str, Any]] = {}
    used_condition_names: set[str] = set()
    for i, source in enumerate(names):
        if not draw(st.booleans()):
            continue  # no condition: the flow ends after this task
        targets = st.sampled_from([*names[i + 1 :], END])
        name = draw(condition_names(source, names))
        if name in used_condition_names or name in names:
            name = f"check {source}"  # unique: one condition per source
        used_condition_names.add(name)
        conditions[source] = {
            "name": name,
            "source_task": source,
            "outcome": draw(st.sampled_from(["success", "failure"])),
            "target_task_success": draw(targets),
            "target_task_failure": draw(targets),
        }
    reachable, stack = set[str](), [names[0]]
    while stack:
        name = stack.pop()
        if name in reachable or name == END:
            continue
        reachable.add(name)
        if name in conditions:
            stack += [
                conditions[name]["target_task_success"],
                conditions[name]["target_task_failure"],
            ]
    tasks: list[dict[str, Any]] = []
    for name in names:
        if name not in reachable:
            continue
        task: dict[str, Any] = {"name": name}
        attempts = draw(st.none() | st.integers(min_value=1, max_value=3))
        if attempts is not None:
            task["retry"] = {"max_attempts": attempts, "interval_seconds": 1}
        tasks.append(task)
    return {
        "id": "generated",
        "name": "Generated",
        "start_task": names[0],
        "tasks": tasks,
        "conditions": [c for source, c in conditions.items() if source in reachable],
    }


def effective(script: list[Outcome], max_attempts: int) -> tuple[TaskStatus, int]:
    """A scripted task's status after its retries, and how many attempts it took."""
    for attempt in range(max_attempts):
        outcome = script[min(attempt, len(script) - 1)]
        if outcome != "raise":
            return outcome, attempt + 1
    return "failure", max_attempts  # raised every time: a failure (DESIGN §4.2)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=generated_flows(), data=st.data())
def test_an_executed_flow_ends_as_predicted(
    module_sfn: SfnHarness, document: dict[str, Any], data: st.DataObject
) -> None:
    # Given a valid flow and, per task, a script of outcomes (raises included)
    catalog = catalog_for(t["name"] for t in document["tasks"])
    flow = validate({"flow": document}, catalog)  # so validate accepts every valid flow too
    outcome = st.sampled_from(cast(list[Outcome], ["success", "failure", "raise"]))
    scripts = {
        t.name: data.draw(st.lists(outcome, min_size=1, max_size=3), label=t.name)
        for t in flow.tasks
    }
    expected = {
        t.name: effective(scripts[t.name], t.retry.max_attempts if t.retry else 1)
        for t in flow.tasks
    }
    predicted = predict(flow, {name: status for name, (status, _) in expected.items()})
    module_sfn.script(scripts)
    # When it runs in Step Functions
    run = module_sfn.run(compile_flow(flow, catalog).json, {"example": True})
    # Then path, status and failed task are the predicted ones
    assert run.executed_tasks == predicted.executed_tasks
    assert run.status == {"completed": "SUCCEEDED", "failed": "FAILED"}[predicted.status]
    failed_task = run.executed_tasks[-1] if run.status == "FAILED" else None
    assert failed_task == predicted.failed_task
    if failed_task is not None:
        assert run.cause is not None
        assert f"'{failed_task}'" in run.cause
    # And every task ran as often as its retry policy allows, and no more
    assert run.attempts == {name: expected[name][1] for name in run.executed_tasks}
    assert len(run.entered_states) <= 2 * len(run.executed_tasks) + 3


# ---- (b) validate() on mutated documents ---------------------------------------------------

CATALOG = placeholder_catalog()  # the approval kind included

VALID: dict[str, Any] = {
    "flow": {
        "id": "data_pipeline",
        "name": "Data processing flow",
        "description": "Fetch, process, store",
        "type": "STANDARD",
        "timeout_seconds": 300,
        "start_task": "task1",
        "tasks": [
            {
                "name": "task1",
                "description": "Fetch data",
                "parameters": {"source": "context", "limit": 10},
                "timeout_seconds": 30,
                "retry": {"max_attempts": 2, "interval_seconds": 1, "backoff_rate": 2.0},
            },
            {"name": "task2", "function": "process_data"},
            {"name": "task3", "description": "Store data"},
        ],
        "conditions": [
            {
                "name": "condition_task1_result",
                "description": "Evaluate the result of task1",
                "source_task": "task1",
                "outcome": "success",
                "target_task_success": "task2",
                "target_task_failure": "end",
            },
            {
                "name": "condition_task2_result",
                "source_task": "task2",
                "outcome": "failure",
                "target_task_success": "end",
                "target_task_failure": "task3",
            },
        ],
    }
}

Path = tuple[str | int, ...]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)

# Near misses of real names and references: typos, case, whitespace, reserved, too long.
names = st.sampled_from(
    [
        "task1",
        "task2",
        "task3",
        "taks3",
        "Task1",
        "task1 ",
        "end",
        "END",
        "",
        "é",
        "x" * 90,
        "fail",
        "succeed",
        "wait",
        "parallel",
        "approval",
        "data.x > 1",
        "context.items",
        "results.load_order.data.records",
        "dta.x == (",
        "lambda: 1",
        "__import__('os')",
    ]
) | st.text(max_size=10)


def paths(value: Json, prefix: Path = ()) -> list[Path]:
    """Every path in a JSON value, the root () included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths(child, (*prefix, i))
    return found


def get(value: Json, path: Path) -> Json:
    for part in path:
        value = value[part]
    return value


def put(document: Json, path: Path, new: Json) -> Json:
    if not path:
        return new
    get(document, path[:-1])[path[-1]] = new
    return document


def drop_field(data: st.DataObject, document: Json) -> Json:
    candidates = [p for p in paths(document) if p]
    if not candidates:
        return document
    path = data.draw(st.sampled_from(candidates), label="drop")
    del get(document, path[:-1])[path[-1]]
    return document


def change_type(data: st.DataObject, document: Json) -> Json:
    path = data.draw(st.sampled_from(paths(document)), label="retype")
    return put(document, path, data.draw(json_values, label="value"))


def rename_reference(data: st.DataObject, document: Json) -> Json:
    references = [
        p
        for p in paths(document)
        if p
        and p[-1]
        in {
            "start_task",
            "source_task",
            "target_task_success",
            "target_task_failure",
            "name",
            "target",
            "when",
            "for_each",
            "seconds_from",
            "type",
        }
    ] + [p for p in paths(document) if p and p[-1] == "function"]
    if not references:
        return document
    path = data.draw(st.sampled_from(references), label="reference")
    return put(document, path, data.draw(names, label="name"))


def add_unknown_field(data: st.DataObject, document: Json) -> Json:
    objects = [p for p in paths(document) if isinstance(get(document, p), dict)]
    if not objects:
        return document
    path = data.draw(st.sampled_from(objects), label="object")
    key = data.draw(
        st.sampled_from(["nmae", "retries", "target", "flow", "Flow", "tasks"])
        | st.text(min_size=1, max_size=8),
        label="key",
    )
    get(document, path)[key] = data.draw(json_values, label="value")
    return document


def duplicate_item(data: st.DataObject, document: Json) -> Json:
    lists = [p for p in paths(document) if isinstance(get(document, p), list) and get(document, p)]
    if not lists:
        return document
    items = get(document, data.draw(st.sampled_from(lists), label="list"))
    items.append(copy.deepcopy(data.draw(st.sampled_from(items), label="item")))
    return document


def wrap_or_unwrap(data: st.DataObject, document: Json) -> Json:
    # Seed 000's clients send {"flow_data": {"flow": ...}}; validate accepts both.
    if isinstance(document, dict) and "flow" in document:
        return data.draw(st.sampled_from([{"flow_data": document}, document["flow"]]))
    return document


MUTATIONS: tuple[Callable[[st.DataObject, Json], Json], ...] = (
    drop_field,
    change_type,
    rename_reference,
    add_unknown_field,
    duplicate_item,
    wrap_or_unwrap,
)


def test_the_unmutated_document_is_valid() -> None:
    # Given the document the mutations start from / When validated / Then it is a Flow
    assert validate(copy.deepcopy(VALID), CATALOG).name == "Data processing flow"


ORDER_FLOW: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parents[2] / "events" / "flows" / "order_flow.json").read_text()
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_validate_answers_any_mutation_with_a_flow_or_located_problems(
    data: st.DataObject,
) -> None:
    # Given a valid document (v1, or the v2 order sample) with 1-3 random mutations
    base = data.draw(st.sampled_from([VALID, ORDER_FLOW]), label="base")
    document: Json = copy.deepcopy(base)
    for mutation in data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        document = mutation(data, document)
    # When it is validated
    try:
        flow = validate(document, CATALOG)
    except InvalidFlow as exc:
        invalid = exc
    else:
        # Then either it is a flow, and a valid flow always compiles
        compile_flow(flow, CATALOG, flow_id="fallback-id")
        return
    # Or every problem says where (a path into the flow) and what
    assert invalid.problems
    assert len(invalid.problems) == len(invalid.details)
    for problem in invalid.problems:
        # a path into the flow, or an unknown top-level field's own name
        top_level = set(document) if isinstance(document, dict) else set()
        assert problem.location.startswith("flow") or problem.location in top_level, problem
        assert problem.message.strip(), problem


# ---- (c) v2 flows: cases, waits, for_each, parallel ------------------------------------------

V2_NAMES = ("t0", "t1", "t2", "t3", "t4", "t5")


@st.composite
def v2_flows(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(flow document, per function task: (status, n)). Tasks t0..tk in topological
    order; each is a plain task, a wait, a for_each over context.items, or a parallel
    task of two one- or two-task branches; conditions point forward or to a terminal,
    with cases on data.n."""
    size = draw(st.integers(min_value=1, max_value=len(V2_NAMES)))
    names = list(V2_NAMES[:size])
    tasks: list[dict[str, Any]] = []
    scripts: dict[str, Any] = {}
    outcome = st.sampled_from(["success", "failure"])
    for name in names:
        kind = draw(st.sampled_from(["task", "task", "wait", "for_each", "parallel"]))
        if kind == "wait":
            tasks.append({"name": name, "type": "wait", "seconds": 0})
        elif kind == "for_each":
            tasks.append({"name": name, "for_each": "context.items", "max_concurrency": 2})
            scripts[name] = (draw(outcome), draw(st.integers(0, 9)))
        elif kind == "parallel":
            branches = []
            for b in ("l", "r"):
                inner = [f"{name}{b}{i}" for i in range(draw(st.integers(1, 2)))]
                conditions = []
                if len(inner) == 2:
                    conditions.append(
                        {
                            "name": f"c_{inner[0]}",
                            "source_task": inner[0],
                            "outcome": "success",
                            "target_task_success": inner[1],
                            "target_task_failure": draw(
                                st.sampled_from(["end", "fail", "succeed"])
                            ),
                        }
                    )
                for task_name in inner:
                    scripts[task_name] = (draw(outcome), draw(st.integers(0, 9)))
                branches.append(
                    {
                        "name": f"{name}_{b}",
                        "start_task": inner[0],
                        "tasks": [{"name": n} for n in inner],
                        "conditions": conditions,
                    }
                )
            tasks.append({"name": name, "type": "parallel", "branches": branches})
        else:
            tasks.append({"name": name})
            scripts[name] = (draw(outcome), draw(st.integers(0, 9)))
    conditions = []
    for i, name in enumerate(names):
        if not draw(st.booleans()):
            continue
        targets = st.sampled_from([*names[i + 1 :], "end", "fail", "succeed"])
        condition: dict[str, Any] = {
            "name": f"c_{name}",
            "source_task": name,
            "outcome": draw(st.sampled_from(["success", "failure"])),
            "target_task_success": draw(targets),
            "target_task_failure": draw(targets),
        }
        if name in scripts or tasks[i].get("type") == "wait":
            cases = draw(
                st.lists(
                    st.builds(
                        lambda k, op, t: {"when": f"data.n {op} {k}", "target": t},
                        st.integers(0, 9),
                        st.sampled_from(["<", ">=", "==", "!="]),
                        targets,
                    ),
                    max_size=2,
                )
            )
            if cases:
                condition["cases"] = cases
        conditions.append(condition)
    document = {
        "id": "v2gen",
        "name": "v2",
        "start_task": names[0],
        "tasks": tasks,
        "conditions": conditions,
    }
    return document, scripts


def _scripted_v2(status: str, n: int) -> Callable[..., Any]:
    def handler(event: dict[str, Any], context: Any) -> Any:
        return {"status": status, "data": {"n": n}, "error": None if status == "success" else "no"}

    return handler


EMPTY_FOR_EACH_THEN_CASES = (  # CI's seed 278046159937868100110854206989664506091
    {
        "id": "v2gen",
        "name": "v2",
        "start_task": "t0",
        "tasks": [{"name": "t0", "for_each": "context.items"}, {"name": "t1"}],
        "conditions": [
            {
                "name": "c_t0",
                "source_task": "t0",
                "outcome": "success",
                "target_task_success": "succeed",
                "target_task_failure": "t1",
                "cases": [{"when": "data.n >= 3", "target": "fail"}],
            }
        ],
    },
    {"t0": ("failure", 8), "t1": ("failure", 1)},
)


# Found by the test on a run of its own: a failed for_each keeps no data, so `!=` on it
# holds (the prediction used to give it the failing item's data).
FAILED_FOR_EACH_THEN_NEGATION = (
    {
        "id": "v2gen",
        "name": "v2",
        "start_task": "t0",
        "tasks": [{"name": "t0", "for_each": "context.items"}, {"name": "t1"}, {"name": "t2"}],
        "conditions": [
            {
                "name": "c_t0",
                "source_task": "t0",
                "outcome": "failure",
                "target_task_success": "t1",
                "target_task_failure": "t1",
                "cases": [{"when": "data.n != 6", "target": "t2"}],
            }
        ],
    },
    {"t0": ("failure", 6), "t1": ("success", 0), "t2": ("success", 0)},
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=v2_flows(), items=st.lists(st.integers(0, 3), max_size=2))
@example(generated=EMPTY_FOR_EACH_THEN_CASES, items=[])  # its data is [], not an item's
@example(generated=FAILED_FOR_EACH_THEN_NEGATION, items=[0])
def test_an_executed_v2_flow_ends_as_predicted(
    module_sfn: SfnHarness, generated: tuple[dict[str, Any], dict[str, Any]], items: list[int]
) -> None:
    # Given a random v2 flow and each function task's outcome and data
    document, scripts = generated
    catalog = catalog_for(scripts)
    flow = validate({"flow": document}, catalog)
    for name, (status, n) in scripts.items():
        module_sfn.register(name, _scripted_v2(status, n))
    context = {"items": items}
    predicted = predict(
        flow,
        {name: status for name, (status, _) in scripts.items()},
        data={name: {"n": n} for name, (_, n) in scripts.items()},
        context=context,
    )
    # When it runs in Step Functions
    run = module_sfn.run(compile_flow(flow, catalog).json, context)
    # Then the flow's own tasks ran in the predicted order, and it ended as predicted
    top = {t.name for t in flow.tasks}
    assert tuple(s for s in run.entered_states if s in top) == predicted.executed_tasks
    assert run.status == {"completed": "SUCCEEDED", "failed": "FAILED"}[predicted.status]
