"""Flow → Amazon States Language (DESIGN §4-§5). Pure: no AWS calls, no clock.

Shape of the compiled state machine, for a flow whose tasks are A → B:

    Start (Choice)      input carries flow_manager_resume → Resume; else → Set up
    Set up (Pass)       input is the client's context; state becomes {context, results: {}}
    Resume (Choice)     restores {context, results} (OutputPath) and jumps to `from`
    A (Task)            lambda:invoke; result → $.results.A = {status, data, error};
                        Lambda's transient errors retried with full jitter, then the
                        task's own retry; any error caught → $.results.A = {Error, Cause}
    <condition> (Choice) cases first (each rule's Comment is the case), then
                        status == outcome → target_task_success, else target_task_failure
    B (Task) ...
    Completed (Succeed) / "<task> failed" (Fail): `end` after a success / a failure;
    "Fail after <task>" / "Succeed after <task>": the `fail` / `succeed` targets

Each construct of DESIGN §3.1 has its unit, a module of this package: `task` (a task
or an approval: Task + Choice, cases first), `wait` (Wait), `for_each` (a guard Choice
+ Map), `parallel` (Parallel + a Pass that merges the branches' results); `graph`
lays out a flow or a branch and its terminal states. A construct whose condition has
no cases goes straight to its targets (Next / Catch).

Cost (DESIGN §5): an executed task costs at most two transitions, plus three fixed per
execution (Start, Set up or Resume, the terminal state). A case-free wait costs one
(a seconds_from wait two: its guard);
a for_each task two plus three per item; a parallel task its branches' own plus two;
cases on a wait, for_each or parallel task add their Choice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flow_manager.catalog import Catalog
from flow_manager.errors import InvalidFlow, Problem
from flow_manager.model import MAX_DEFINITION_BYTES, Flow
from flow_manager.results_store import inline_data_bytes
from flow_manager.translator.common import (
    CANNOT_RESUME_STATE,
    FLOW_FAILED,
    INVALID_RESUME,
    ITEM_FAILED,
    LAMBDA_TRANSIENT_ERRORS,
    RESUME_KEY,
    RESUME_STATE,
    SET_UP_STATE,
    START_STATE,
    SUCCEED_STATE,
    State,
    after_state_name,
    failed_state_name,
    result_path,
)
from flow_manager.translator.graph import (
    Context,
    GraphUnit,
    Names,
    iterated_values,
    results_copies,
)

__all__ = [
    "CANNOT_RESUME_STATE",
    "FLOW_FAILED",
    "INVALID_RESUME",
    "ITEM_FAILED",
    "LAMBDA_TRANSIENT_ERRORS",
    "RESUME_KEY",
    "RESUME_STATE",
    "SET_UP_STATE",
    "START_STATE",
    "SUCCEED_STATE",
    "CompiledFlow",
    "after_state_name",
    "compile_flow",
    "failed_state_name",
    "layout",
    "render",
    "render_compact",
    "result_path",
    "translate",
]


@dataclass(frozen=True)
class CompiledFlow:
    definition: dict[str, Any]
    json: str  # byte-identical for the same flow, catalog and version


def compile_flow(
    flow: Flow, catalog: Catalog, *, flow_id: str | None = None, version: int = 1
) -> CompiledFlow:
    """Translate a *validated* flow; raise InvalidFlow if the result is too large."""
    definition = translate(flow, catalog, flow_id=flow_id, version=version)
    rendered = render(definition)
    if len(rendered.encode()) >= MAX_DEFINITION_BYTES:
        # Indentation is for people; a large flow is still deterministic without it.
        rendered = render_compact(definition)
    size = len(rendered.encode())
    if size >= MAX_DEFINITION_BYTES:
        raise InvalidFlow(
            [
                Problem(
                    "flow",
                    f"the compiled state machine is {size} bytes; Step Functions accepts "
                    f"less than {MAX_DEFINITION_BYTES} (use fewer tasks or smaller parameters)",
                )
            ]
        )
    return CompiledFlow(definition, rendered)


def render(definition: dict[str, Any]) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def render_compact(definition: dict[str, Any]) -> str:
    return json.dumps(definition, separators=(",", ":"), ensure_ascii=False) + "\n"


def translate(
    flow: Flow, catalog: Catalog, *, flow_id: str | None = None, version: int = 1
) -> dict[str, Any]:
    return _translate(flow, catalog, flow_id, version)[0]


def layout(flow: Flow) -> tuple[dict[str, Any], GraphUnit]:
    """The compiled definition and the flow's laid-out graph (its units know every
    state a target leads to): what reports need to read a history in the flow's terms.
    ARNs are placeholders; state names are exactly those `translate` gives."""
    return _translate(flow, _AnyKind(), flow.id or "flow", 1)


class _AnyKind(dict[str, str]):
    def __missing__(self, kind: str) -> str:
        return f"arn:aws:lambda:::function:{kind}"


def _translate(
    flow: Flow, catalog: Catalog, flow_id: str | None, version: int
) -> tuple[dict[str, Any], GraphUnit]:
    resolved_id = flow_id or flow.id
    if resolved_id is None:
        raise ValueError("a flow without an id needs flow_id")
    names = Names(flow)
    context = Context(
        catalog,
        resolved_id,
        version,
        names,
        iterated_values(flow),
        # A parallel's output holds its branches' copies of the results: each counts.
        inline_data_bytes(sum(1 for _ in flow.all_tasks()) * results_copies(flow)),
    )
    start, set_up, resume = (names.fresh(n) for n in (START_STATE, SET_UP_STATE, RESUME_STATE))
    cannot_resume = names.fresh(CANNOT_RESUME_STATE)
    graph = GraphUnit(flow, None, context)
    body = graph.states()
    resumable = [t for t in graph.order]
    states: dict[str, State] = {
        start: {
            "Type": "Choice",
            "Comment": f"Input with {RESUME_KEY} resumes at a task (the retry route); "
            "any other input is the context.",
            "Choices": [{"Variable": f"$.{RESUME_KEY}.from", "IsPresent": True, "Next": resume}],
            "Default": set_up,
        },
        set_up: {
            "Type": "Pass",
            "Comment": "The execution's input is the context; every task adds its result.",
            "Parameters": {"context.$": "$", "results": {}},
            "Next": graph.entry(flow.start_task),
        },
        resume: {
            "Type": "Choice",
            "Comment": f"Restore {RESUME_KEY}'s context and results, then run its task.",
            "Choices": [
                {
                    "Variable": f"$.{RESUME_KEY}.from",
                    "StringEquals": task.name,
                    "Next": graph.entry(task.name),
                }
                for task in resumable
            ],
            "Default": cannot_resume,
            "OutputPath": f"$.{RESUME_KEY}",
        },
        **body,
        cannot_resume: {
            "Type": "Fail",
            "Comment": f"{RESUME_KEY}.from names no task of this flow.",
            "Error": INVALID_RESUME,
            "Cause": f"{RESUME_KEY}.from must name a top-level task of this flow",
        },
    }
    definition: dict[str, Any] = {
        "Comment": _comment(flow, resolved_id, version),
        "StartAt": start,
        "States": states,
    }
    if flow.timeout_seconds is not None:
        definition["TimeoutSeconds"] = flow.timeout_seconds
    return definition, graph


def _comment(flow: Flow, flow_id: str, version: int) -> str:
    text = f"Flow Manager: {flow.name} ({flow_id} v{version})"
    return text if flow.description is None else f"{text}. {flow.description}"
