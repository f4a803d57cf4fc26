"""Why an execution went where it went (DESIGN §4.8): its decision trace, `path`.

Read from the history in the flow's terms. The translator lays the flow out once more
(`translator.layout`: pure, the same state names as the machine that ran), so every
state a route leads to is known: a task's entry (a for_each task's guard first), or a
terminal state (`end` after a success or a failure, `fail`, `succeed`, per graph).
A step's `next` is the first of its routes' states entered after it, which is exact:
a flow is acyclic, so each of its states is entered at most once, and names are unique
across branches. Several routes of one condition may lead to the same state (a case
and the default, both to `ship`); then the cases are evaluated as the Choice state did
(expressions.evaluate, on the state it read, when the history has it) and the first
consistent one is reported.

Events are attributed to a step through `previousEventId` (Step Functions chains each
event to the one that caused it, inside parallel branches too), so attempts count the
task's own TaskScheduled events even while branches run side by side. The history may
come without data (inputs, outputs) except its newest events: a step's result then
comes from the newest state that has `results`, which accumulates every result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from flow_manager.model import Flow, Task
    from flow_manager.translator.graph import GraphUnit

StepStatus = Literal["success", "failure", "running"]


class ItemCounts(BaseModel):
    """A for_each task's items: succeeded + failed are those done (the rest still run,
    or were stopped when one failed)."""

    total: int | None = Field(
        default=None, description="Items the path gave (None: unknown, or not an array)."
    )
    succeeded: int = Field(default=0, description="Items whose invocation succeeded.")
    failed: int = Field(default=0, description="Items that failed after their retries.")
    first_failed_index: int | None = Field(
        default=None, description="The lowest index (from 0) of a failed item."
    )


class PathStep(BaseModel):
    """One task the execution ran, and where its condition sent the flow."""

    task: str
    status: StepStatus
    attempts: int = Field(default=0, description="Lambda invocations (for_each: of all items).")
    condition: str | None = Field(default=None, description="The condition that decided.")
    case: int | None = Field(default=None, description="The case that held (from 0), or None.")
    when: str | None = Field(default=None, description="That case's `when`.")
    next: str | None = Field(
        default=None,
        description='The task it went to, or "end", "fail", "succeed"; None while undecided.',
    )
    branch: str | None = Field(default=None, description="The parallel branch it ran in.")
    items: ItemCounts | None = Field(default=None, description="A for_each task's items.")


@dataclass(frozen=True)
class _Route:
    case: int | None  # the case's index, or None for the status route
    on: StepStatus  # the status this route is taken on
    target: str  # the flow's name: a task, end, fail or succeed
    state: str  # the state the route enters


class _History:
    def __init__(self, events: Sequence[Mapping[str, Any]], flow_states: set[str]) -> None:
        self.events = sorted(events, key=lambda e: int(e.get("id", 0)))
        self.entered: dict[str, Mapping[str, Any]] = {}
        self.exited: dict[str, Mapping[str, Any]] = {}
        self.owner: dict[int, str] = {}
        self.counts: dict[tuple[str, str], int] = {}  # (owner, event type) → events
        self.results: dict[str, Any] = {}  # each task's result, at the first exit with it
        last: str | None = None
        for event in self.events:
            kind = str(event.get("type", ""))
            event_id = int(event.get("id", 0))
            entered = event.get("stateEnteredEventDetails")
            if kind.endswith("StateEntered") and isinstance(entered, Mapping):
                name = str(entered.get("name"))
                self.entered.setdefault(name, event)
                if name in flow_states:
                    self.owner[event_id] = last = name
                    continue
            exited = event.get("stateExitedEventDetails")
            if kind.endswith("StateExited") and isinstance(exited, Mapping):
                self.exited.setdefault(str(exited.get("name")), event)
                state = _json(exited.get("output"))
                results = state.get("results") if isinstance(state, dict) else None
                for name, result in (results if isinstance(results, dict) else {}).items():
                    self.results.setdefault(name, result)
            previous = int(event.get("previousEventId") or 0)
            owner = self.owner.get(previous, last)
            if owner is not None:
                self.owner[event_id] = owner
                self.counts[owner, kind] = self.counts.get((owner, kind), 0) + 1
        state = latest_state(self.events) or {}
        results = state.get("results")
        self.latest: dict[str, Any] = results if isinstance(results, dict) else {}
        self.latest_context: Any = state.get("context")

    def owned(self, name: str, kind: str) -> list[Mapping[str, Any]]:
        if not self.counts.get((name, kind)):
            return []
        return [
            e
            for e in self.events
            if e.get("type") == kind and self.owner.get(int(e.get("id", 0))) == name
        ]

    def count(self, name: str, kind: str) -> int:
        return self.counts.get((name, kind), 0)

    def first_entered_after(self, after: int, states: set[str]) -> str | None:
        found = [
            (int(e.get("id", 0)), name)
            for name, e in self.entered.items()
            if name in states and int(e.get("id", 0)) > after
        ]
        return min(found)[1] if found else None


def decision_path(
    flow: Flow, events: Sequence[Mapping[str, Any]], *, running: bool
) -> list[PathStep]:
    """The steps of the execution whose history is `events`, in the order they began."""
    from flow_manager.translator import layout

    definition, root = layout(flow)
    history = _History(events, _flow_states(definition))
    steps: list[tuple[int, PathStep]] = []
    for unit, branch in _units(root, None):
        for task in unit.order:
            step = _step(unit, task, branch, history, running)
            if step is not None:
                steps.append(step)
    return [step for _, step in sorted(steps, key=lambda s: s[0])]


def _units(unit: GraphUnit, branch: str | None) -> Iterator[tuple[GraphUnit, str | None]]:
    yield unit, branch
    for subs in unit.branch_units.values():
        for sub in subs:
            name = sub.branch.name if sub.branch is not None else None
            yield from _units(sub, name)


def _flow_states(definition: Mapping[str, Any]) -> set[str]:
    """Every state of the flow and its branches (not the states inside a Map's items)."""
    names: set[str] = set()
    for name, state in definition.get("States", {}).items():
        names.add(name)
        for branch in state.get("Branches", ()):
            names |= _flow_states(branch)
    return names


def _step(
    unit: GraphUnit, task: Task, branch: str | None, history: _History, running: bool
) -> tuple[int, PathStep] | None:
    name, entry = task.name, unit.entry(task.name)
    begun = history.entered.get(entry) or history.entered.get(name)
    if begun is None:
        return None
    routes = _routes(unit, task)
    # Where the step ends: its own state's exit, or (for_each) the "no items" Pass's.
    ends = [history.exited.get(name)]
    ends += [history.exited[s] for s in _no_items_states(unit, task) if s in history.exited]
    ended = max((int(e.get("id", 0)) for e in ends if e is not None), default=None)
    landing = (
        history.first_entered_after(ended, {r.state for r in routes}) if ended is not None else None
    )
    status = _status(task, history, ended, landing, routes, running)
    condition = unit.graph.condition_for(name)
    chosen = _chosen(task, routes, status, landing, history, unit)
    step = PathStep(
        task=name,
        status=status,
        attempts=history.count(name, "TaskScheduled"),
        condition=condition.name if condition is not None else None,
        case=chosen.case if chosen is not None else None,
        when=(
            condition.cases[chosen.case].when
            if chosen is not None and chosen.case is not None and condition and condition.cases
            else None
        ),
        next=chosen.target if chosen is not None else None,
        branch=branch,
        items=_items(task, history) if task.for_each is not None else None,
    )
    return int(begun.get("id", 0)), step


def _routes(unit: GraphUnit, task: Task) -> list[_Route]:
    """Every way out of `task` and the state each enters (names as the translator made
    them: `unit.target` hands back the states it already laid out)."""
    from flow_manager.translator.graph import targets

    condition = unit.graph.condition_for(task.name)
    on_success, on_failure = targets(condition)
    wait = task.task_type == "wait"
    fails = not wait or task.seconds_from is not None  # a wait fails only by its guard
    routes: list[_Route] = []
    # A wait's cases are tested on success; on failure only a guarded wait has any.
    if condition is not None and condition.cases and (fails or condition.outcome == "success"):
        on: StepStatus = "success" if condition.outcome == "success" else "failure"
        for i, case in enumerate(condition.cases):
            state = unit.target(case.target, task.name, succeeded=on == "success")
            routes.append(_Route(i, on, case.target, state))
    routes.append(
        _Route(None, "success", on_success, unit.target(on_success, task.name, succeeded=True))
    )
    if fails:  # a wait without a guard always succeeds: no failure route is laid out
        state = unit.target(on_failure, task.name, succeeded=False)
        routes.append(_Route(None, "failure", on_failure, state))
    return routes


def _no_items_states(unit: GraphUnit, task: Task) -> list[str]:
    """A for_each task whose path is no array, and a wait whose seconds_from is no
    number, end in the Pass after their guard."""
    from flow_manager.translator.common import NO_ITEMS, NO_SECONDS

    if task.for_each is not None:
        return [f"{task.name}{NO_ITEMS}"]
    if task.task_type == "wait" and task.seconds_from is not None:
        return [f"{task.name}{NO_SECONDS}"]
    return []


def _status(
    task: Task,
    history: _History,
    ended: int | None,
    landing: str | None,
    routes: Sequence[_Route],
    running: bool,
) -> StepStatus:
    if ended is None:
        return "running" if running else "failure"
    result = _result(task.name, history)
    if task.task_type == "wait":  # it succeeds, unless its seconds_from guard failed it
        failed = isinstance(result, Mapping) and result.get("status") == "failure"
        return "failure" if failed else "success"
    if isinstance(result, Mapping):
        if result.get("status") in ("success", "failure"):
            return "success" if result["status"] == "success" else "failure"
        if "Error" in result:
            return "failure"
    # No data: the route taken says how it ended, if only one status leads there.
    taken = {r.on for r in routes if r.state == landing}
    return "failure" if taken == {"failure"} else "success"


def _result(name: str, history: _History) -> Any:
    """The task's result: from its exit (or the state after it), else the newest state."""
    return history.results.get(name, history.latest.get(name))


def _chosen(
    task: Task,
    routes: Sequence[_Route],
    status: StepStatus,
    landing: str | None,
    history: _History,
    unit: GraphUnit,
) -> _Route | None:
    if landing is None or status == "running":
        return None
    possible = [r for r in routes if r.on == status and r.state == landing]
    if not possible:
        possible = [r for r in routes if r.state == landing]
    if len(possible) <= 1:
        return possible[0] if possible else None
    holding = _holding_case(task, unit, history)
    for route in possible:
        if route.case == holding:
            return route
    return possible[0]


def _holding_case(task: Task, unit: GraphUnit, history: _History) -> int | None:
    """The first case whose `when` holds on the state the task's condition read (its
    Choice's input if the history has it, else the newest results), as Step Functions
    evaluated it; None if none holds."""
    from flow_manager import expressions
    from flow_manager.model import _lookup

    condition = unit.graph.condition_for(task.name)
    if condition is None or not condition.cases:
        return None
    state = _json(
        (history.entered.get(condition.name) or {}).get("stateEnteredEventDetails", {}).get("input")
    )
    if isinstance(state, dict) and isinstance(state.get("results"), dict):
        context, results = state.get("context"), state["results"]
    else:
        context, results = history.latest_context, history.latest
    lookup = _lookup(task.name, context, results)
    for i, case in enumerate(condition.cases):
        if expressions.evaluate(expressions.parse(case.when), lookup):
            return i
    return None


def _items(task: Task, history: _History) -> ItemCounts:
    started = history.owned(task.name, "MapStateStarted")
    length = (
        (started[0].get("mapStateStartedEventDetails") or {}).get("length") if started else None
    )

    def indexes(kind: str, details: str) -> list[int]:
        return [
            int((e.get(details) or {}).get("index") or 0)
            for e in history.events
            if e.get("type") == kind and (e.get(details) or {}).get("name") == task.name
        ]

    failed = indexes("MapIterationFailed", "mapIterationFailedEventDetails")
    return ItemCounts(
        total=length if isinstance(length, int) else None,
        succeeded=len(indexes("MapIterationSucceeded", "mapIterationSucceededEventDetails")),
        failed=len(failed),
        first_failed_index=min(failed) if failed else None,
    )


def latest_state(events: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The newest flow state (`{context, results}`) an event of the history carries."""
    for event in sorted(events, key=lambda e: int(e.get("id", 0)), reverse=True):
        for key in ("stateExitedEventDetails", "stateEnteredEventDetails"):
            details = event.get(key)
            if not isinstance(details, Mapping):
                continue
            for field in ("output", "input"):
                state = _json(details.get(field))
                if isinstance(state, dict) and isinstance(state.get("results"), dict):
                    return state
    return None


def _json(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
