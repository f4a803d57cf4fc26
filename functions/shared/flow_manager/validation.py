"""Every rule of the flow language (DESIGN §3), every problem reported at once.

Two passes over the same document: Pydantic checks shape (types, ranges, patterns,
unknown fields) and the rules below check what relates one part to another
(references, the catalog, reachability, cycles). The rules read the raw document
leniently, skipping what the shape pass already rejected, so one response lists a
misspelt field and a dangling target together.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from flow_manager.catalog import Catalog
from flow_manager.catalog import describe as describe_catalog
from flow_manager.demo_switches import DEMO_DISABLED, DEMO_SWITCHES, demo_switch_problem
from flow_manager.errors import InvalidContext, InvalidFlow, Problem
from flow_manager.expressions import ExpressionError, parse, parse_path
from flow_manager.locations import with_names
from flow_manager.model import (
    APPROVAL_KIND,
    MAX_BRANCHES,
    MAX_CASES,
    MAX_EXPRESS_TIMEOUT_SECONDS,
    MAX_NESTING,
    MAX_PAYLOAD_BYTES,
    MAX_TASK_TIMEOUT_SECONDS,
    MAX_TASKS,
    MIN_BRANCHES,
    TERMINALS,
    Branch,
    Case,
    Condition,
    Flow,
    RetryPolicy,
    Task,
)

RESUME_KEY = "flow_manager_resume"  # = translator.RESUME_KEY (DESIGN §5)

# Seed 000 wraps the flow: {"flow_data": {"flow": {...}}}. Its clients must work as they are.
_WRAPPERS = ("flow_data",)
_TARGET_FIELDS = ("target_task_success", "target_task_failure")


@dataclass(frozen=True)
class Validated:
    """A valid flow and what is worth saying about it without refusing it."""

    flow: Flow
    warnings: tuple[Problem, ...] = ()


def validate(document: object, catalog: Catalog, *, strict: bool = False) -> Flow:
    """The flow of `document` ({"flow": {...}}), or InvalidFlow listing every problem."""
    return check_flow(document, catalog, strict=strict).flow


def check_flow(document: object, catalog: Catalog, *, strict: bool = False) -> Validated:
    """The flow of `document` with its warnings (DESIGN §3: an unreachable task), or
    InvalidFlow listing every problem; `strict` makes each warning a problem too."""
    flow_raw, where = _unwrap(document)
    if flow_raw is None:
        raise InvalidFlow(
            [Problem("flow", 'required field is missing: wrap the flow as {"flow": {...}}')]
        )
    problems = list(_shape_problems(flow_raw, where))
    warnings: list[Problem] = []
    if isinstance(flow_raw, dict):
        found, warnings = _rule_problems(flow_raw, where, catalog)
        problems += found
    if strict:
        problems += warnings
    if problems:
        raise InvalidFlow(with_names(_unique(problems), document))
    return Validated(Flow.model_validate(flow_raw), tuple(with_names(_unique(warnings), document)))


def check_context(context: object) -> None:
    """An execution's context: a JSON object within Step Functions' payload limit."""
    if not isinstance(context, dict):
        raise InvalidContext(
            f"the context must be a JSON object, got {_json_type(context)}", "context"
        )
    if RESUME_KEY in context:
        raise InvalidContext(
            f"'{RESUME_KEY}' is reserved: only the retry route resumes an execution at a "
            "task (so no start can skip a task by claiming its result)",
            f"context.{RESUME_KEY}",
        )
    size = len(json.dumps(context, separators=(",", ":")).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidContext(
            f"the context is {size} bytes; at most {MAX_PAYLOAD_BYTES} are accepted "
            "(Step Functions' payload limit): pass references to large data instead",
            "context",
        )


def check_demo(context: object, task_names: Sequence[str], *, enabled: bool) -> None:
    """`context.demo` (the sample tasks' demo switches, DESIGN §11), before a start:
    refused when the stack disables the switches; else every task name, switch and
    value must be one that acts, so a typo is not silently a normal run."""
    if not isinstance(context, Mapping) or "demo" not in context:
        return
    if not enabled:
        raise InvalidContext(
            f"{DEMO_DISABLED}: start without context.demo, or deploy with DemoSwitches=enabled",
            "context.demo",
        )
    problems = demo_problems(context["demo"], task_names)
    if problems:
        error = InvalidContext(
            f"context.demo is invalid: {'; '.join(map(str, problems))}", problems[0].location
        )
        error.details = list(problems)
        raise error


def demo_problems(demo: object, task_names: Sequence[str]) -> list[Problem]:
    where = "context.demo"
    if not isinstance(demo, Mapping):
        return [
            Problem(where, f"must be an object of task name → switches, got {_json_type(demo)}")
        ]
    problems: list[Problem] = []
    for task, switches in demo.items():
        location = f"{where}.{task}"
        if task not in task_names:
            hint = (
                did_you_mean(str(task), task_names)
                or f" (the flow's tasks: {', '.join(task_names)})"
            )
            problems.append(Problem(location, f"unknown task{hint}"))
            continue
        if not isinstance(switches, Mapping):
            problems.append(
                Problem(location, f"must be an object of switches, got {_json_type(switches)}")
            )
            continue
        for switch, value in switches.items():
            problem = demo_switch_problem(str(switch), value)
            if problem == "unknown switch":
                hint = did_you_mean(str(switch), DEMO_SWITCHES) or (
                    f" (switches: {', '.join(DEMO_SWITCHES)})"
                )
                problem += hint
            if problem is not None:
                problems.append(Problem(f"{location}.{switch}", problem))
    return problems


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest candidate, or ''."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# ---- the document ---------------------------------------------------------------------


def _unwrap(document: object) -> tuple[object, str]:
    if not isinstance(document, dict):
        raise InvalidFlow(
            [
                Problem(
                    "flow",
                    f'expected a JSON object {{"flow": {{...}}}}, got {_json_type(document)}',
                )
            ]
        )
    for wrapper in _WRAPPERS:
        if set(document) == {wrapper}:
            inner = document[wrapper]
            if isinstance(inner, dict) and set(inner) == {"flow"}:
                return inner["flow"], f"{wrapper}.flow"
    if "flow" not in document and set(document) & set(Flow.model_fields):
        # A bare flow: one message that says what to do, not one per field.
        return None, "flow"
    extra = sorted(set(document) - {"flow"})
    problems = [
        Problem(key, f"unknown field '{key}'{did_you_mean(key, ['flow'])}") for key in extra
    ]
    if "flow" not in document:
        problems.append(Problem("flow", 'required field is missing: the body is {"flow": {...}}'))
    if problems:
        raise InvalidFlow(problems)
    return document["flow"], "flow"


# ---- shape (Pydantic) -----------------------------------------------------------------

_FRIENDLY_PATTERNS = {
    "id": "a flow id is 1-48 letters, digits, '_' or '-', starting with a letter or digit",
    "name": "a task name is 1-64 letters, digits, '_' or '-', starting with a letter",
    "function": "a task kind is 1-64 letters, digits, '_' or '-', starting with a letter",
}


def _shape_problems(flow_raw: object, where: str) -> Iterator[Problem]:
    try:
        Flow.model_validate(flow_raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            yield Problem(_location(where, loc), _shape_message(error, loc))


def _location(where: str, loc: Sequence[int | str]) -> str:
    text = where
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _model_at(loc: Sequence[int | str]) -> type[BaseModel]:
    """The model whose field `loc` names (for did-you-mean on unknown fields)."""
    model: type[BaseModel] = Flow
    for part in loc[:-1]:
        if part == "tasks":
            model = Task
        elif part == "conditions":
            model = Condition
        elif part == "retry":
            model = RetryPolicy
        elif part == "branches":
            model = Branch
        elif part == "cases":
            model = Case
    return model


_EXPECTED = {
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "dict_type": "a JSON object",
    "list_type": "an array",
    "string_type": "a string",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
}


def _shape_message(error: Any, loc: Sequence[int | str]) -> str:
    kind, field, value = error["type"], loc[-1] if loc else "", error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        known = list(_model_at(loc).model_fields)
        return f"unknown field '{field}'{did_you_mean(str(field), known)}"
    if kind == "string_pattern_mismatch" and field in _FRIENDLY_PATTERNS:
        return f"{value!r} is not valid: {_FRIENDLY_PATTERNS[str(field)]}"
    if kind == "too_long" and field == "tasks":
        return f"a flow has at most {MAX_TASKS} tasks, this one has {len(value)}"
    if kind == "too_short" and field == "tasks":
        return "a flow needs at least one task"
    if kind in ("too_short", "too_long") and field == "branches":
        return (
            f"a parallel task has {MIN_BRANCHES} to {MAX_BRANCHES} branches, "
            f"this one has {len(value)}"
        )
    if kind == "too_long" and field == "cases":
        return f"a condition has at most {MAX_CASES} cases, this one has {len(value)}"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        return f"expected {expected}, got {_json_type(value)}"
    message = str(error["msg"])
    if not isinstance(value, dict | list):
        message = f"{message}, got {_short(value)}"
    return message[0].lower() + message[1:]


# ---- rules ------------------------------------------------------------------------------


_FIELDS_BY_TYPE: Mapping[str, frozenset[str]] = {
    "task": frozenset(
        {"function", "parameters", "timeout_seconds", "retry", "for_each", "max_concurrency"}
    ),
    "wait": frozenset({"seconds", "until", "seconds_from"}),
    "parallel": frozenset({"branches"}),
    "approval": frozenset({"parameters", "timeout_seconds"}),
}
_COMMON_FIELDS = frozenset({"name", "description", "type"})
_WAIT_FIELDS = ("seconds", "until", "seconds_from")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


@dataclass
class _Scope:
    """What every graph of one flow shares: names are unique across all of them."""

    catalog: Catalog
    task_names: frozenset[str]
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    task_at: dict[str, str] = field(default_factory=dict)  # name → location
    condition_at: dict[str, str] = field(default_factory=dict)


def _rule_problems(
    flow: dict[str, Any], where: str, catalog: Catalog
) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of the rules that relate one part of the flow to another."""
    scope = _Scope(catalog, frozenset(_all_task_names(flow)))
    # Condition names are state names: unique, and not a task's, across every branch.
    total = sum(1 for _ in _all_task_names(flow))
    if total > MAX_TASKS and len(_named_items(flow.get("tasks"))) <= MAX_TASKS:
        scope.problems.append(
            Problem(
                f"{where}.tasks",
                f"a flow has at most {MAX_TASKS} tasks, branches included; this one has {total}",
            )
        )
    _graph_rules(flow, where, scope, depth=0)
    scope.problems += _timeout_problems(flow, where)
    return scope.problems, scope.warnings


def _all_task_names(graph: Mapping[str, Any]) -> Iterator[str]:
    for _, name, task in _named_items(graph.get("tasks")):
        yield name
        branches = task.get("branches")
        if isinstance(branches, list):
            for branch in branches:
                if isinstance(branch, dict):
                    yield from _all_task_names(branch)


def _graph_rules(graph: Mapping[str, Any], where: str, scope: _Scope, depth: int) -> None:
    """The rules of one graph (the flow, or a branch), its branches' recursively."""
    problems = scope.problems
    task_at: dict[str, int] = {}
    for i, name, task in _named_items(graph.get("tasks")):
        at = f"{where}.tasks[{i}]"
        if name in TERMINALS:
            problems.append(
                Problem(f"{at}.name", f"'{name}' is reserved: a target '{name}' ends the flow")
            )
        elif name in scope.task_at:
            problems.append(
                Problem(f"{at}.name", f"duplicate task name '{name}' (also {scope.task_at[name]})")
            )
        else:
            scope.task_at[name] = at
            task_at[name] = i
        _task_rules(task, at, name, scope, depth)

    task_names = list(task_at)
    start = graph.get("start_task")
    if isinstance(start, str) and start not in task_at:
        problems.append(
            Problem(f"{where}.start_task", _unknown_task(start, task_names, allow_end=False))
        )

    condition_of: dict[str, int] = {}
    edges: dict[str, list[tuple[str, str]]] = {}  # source → [(target, location)]
    dangling = False
    for i, name, condition in _named_items(graph.get("conditions")):
        at = f"{where}.conditions[{i}]"
        if name in scope.condition_at:
            problems.append(
                Problem(
                    f"{at}.name",
                    f"duplicate condition name '{name}' (also {scope.condition_at[name]})",
                )
            )
        else:
            scope.condition_at[name] = at
        if name in scope.task_names:
            problems.append(
                Problem(
                    f"{at}.name",
                    f"'{name}' is also a task's name: a condition names its Choice state, "
                    "so the two must differ",
                )
            )
        source = condition.get("source_task")
        owns = False
        if isinstance(source, str):
            if source not in task_at:
                dangling = True
                problems.append(
                    Problem(f"{at}.source_task", _unknown_here(source, task_names, scope))
                )
            elif source in condition_of:
                problems.append(
                    Problem(
                        f"{at}.source_task",
                        f"task '{source}' already has a condition "
                        f"({where}.conditions[{condition_of[source]}]); "
                        "a task has at most one",
                    )
                )
            else:
                condition_of[source] = i
                owns = True
        for target, location in _condition_targets(condition, at, name, scope):
            if not isinstance(target, str) or target in TERMINALS:
                continue
            if target not in task_at:
                dangling = True
                problems.append(Problem(location, _unknown_here(target, task_names, scope, True)))
            elif owns and isinstance(source, str):
                edges.setdefault(source, []).append((target, location))

    # A dangling reference would make tasks look unreachable too: report the cause only.
    if isinstance(start, str) and start in task_at and not dangling:
        scope.warnings += _reachability_warnings(start, task_at, edges, where)
        problems += _cycle_problems(task_at, edges)


def _condition_targets(
    condition: Mapping[str, Any], at: str, name: str, scope: _Scope
) -> list[tuple[object, str]]:
    """(target, location) of every target of a condition, its cases' included; checks
    each case's `when` on the way."""
    targets: list[tuple[object, str]] = [(condition.get(f), f"{at}.{f}") for f in _TARGET_FIELDS]
    cases = condition.get("cases")
    for j, case in enumerate(cases if isinstance(cases, list) else []):
        if not isinstance(case, dict):
            continue
        targets.append((case.get("target"), f"{at}.cases[{j}].target"))
        when = case.get("when")
        if isinstance(when, str) and when:
            try:
                parse(when, scope.task_names)
            except ExpressionError as exc:
                scope.problems.append(
                    Problem(f"{at}.cases[{j}].when", f"{exc} in condition '{name}'")
                )
    return targets


def _unknown_here(name: str, task_names: Sequence[str], scope: _Scope, target: bool = False) -> str:
    if name in scope.task_names and name not in task_names:
        return (
            f"task '{name}' is in another branch or outside this one: conditions and "
            "their targets stay inside their own flow or branch"
        )
    return _unknown_task(name, task_names, allow_end=target)


def _task_rules(task: Mapping[str, Any], at: str, name: str, scope: _Scope, depth: int) -> None:
    problems = scope.problems
    kind = task.get("type") or "task"
    if not isinstance(kind, str) or kind not in _FIELDS_BY_TYPE:
        return  # the shape pass says what the types are (a list is not hashable)
    allowed = _FIELDS_BY_TYPE[kind] | _COMMON_FIELDS
    for key, value in task.items():
        if value is None or key in allowed or key not in Task.model_fields:
            continue
        owners = [t for t, fields in _FIELDS_BY_TYPE.items() if key in fields]
        problems.append(
            Problem(
                f"{at}.{key}",
                f"'{key}' does not apply to {kind} tasks (task '{name}'); it is for "
                f"{' and '.join(f'{t} tasks' for t in owners)}",
            )
        )
    if kind == "task":
        problems.extend(_catalog_problems(task, at, name, scope.catalog))
        timeout = task.get("timeout_seconds")
        if isinstance(timeout, int) and timeout > MAX_TASK_TIMEOUT_SECONDS:
            problems.append(
                Problem(
                    f"{at}.timeout_seconds",
                    f"input should be less than or equal to {MAX_TASK_TIMEOUT_SECONDS}, "
                    f"got {timeout}",
                )
            )
        for_each = task.get("for_each")
        if isinstance(for_each, str):
            _path_rule(for_each, f"{at}.for_each", name, scope)
        elif task.get("max_concurrency") is not None:
            problems.append(
                Problem(f"{at}.max_concurrency", f"max_concurrency needs for_each (task '{name}')")
            )
    elif kind == "wait":
        given = [f for f in _WAIT_FIELDS if task.get(f) is not None]
        if not given:
            problems.append(
                Problem(at, f"wait task '{name}' needs one of seconds, until or seconds_from")
            )
        for extra in given[1:]:
            problems.append(
                Problem(
                    f"{at}.{extra}",
                    f"wait task '{name}' takes one of seconds, until or seconds_from, "
                    f"not both {given[0]} and {extra}",
                )
            )
        until = task.get("until")
        if isinstance(until, str) and not _is_timestamp(until):
            problems.append(
                Problem(
                    f"{at}.until",
                    f"{until!r} is not an RFC 3339 timestamp such as '2026-12-24T09:00:00Z'",
                )
            )
        seconds_from = task.get("seconds_from")
        if isinstance(seconds_from, str):
            _path_rule(seconds_from, f"{at}.seconds_from", name, scope)
    elif kind == "parallel":
        _parallel_rules(task, at, name, scope, depth)
    elif kind == "approval" and APPROVAL_KIND not in scope.catalog:
        problems.append(
            Problem(
                f"{at}.type",
                f"approval task '{name}' needs the catalog's internal kind '{APPROVAL_KIND}' "
                "(the ApprovalFunction), which this catalog does not have",
            )
        )
    if kind in ("task", "approval"):
        problems.extend(_parameter_problems(task.get("parameters"), f"{at}.parameters"))


def _parallel_rules(task: Mapping[str, Any], at: str, name: str, scope: _Scope, depth: int) -> None:
    branches = task.get("branches")
    if branches is None:
        scope.problems.append(
            Problem(
                at,
                f"parallel task '{name}' needs branches ({MIN_BRANCHES} to {MAX_BRANCHES} "
                "sub-flows)",
            )
        )
        return
    if depth + 1 > MAX_NESTING:
        scope.problems.append(
            Problem(
                f"{at}.branches",
                f"parallel tasks nest at most {MAX_NESTING} deep; '{name}' is at depth {depth + 1}",
            )
        )
        return
    seen: dict[str, int] = {}
    for i, branch_name, _ in _named_items(branches):
        if branch_name in seen:
            first = f"{at}.branches[{seen[branch_name]}]"
            scope.problems.append(
                Problem(
                    f"{at}.branches[{i}].name",
                    f"duplicate branch name '{branch_name}' (also {first})",
                )
            )
        seen.setdefault(branch_name, i)
    for i, branch in enumerate(branches if isinstance(branches, list) else []):
        if isinstance(branch, dict):
            _graph_rules(branch, f"{at}.branches[{i}]", scope, depth + 1)


def _path_rule(text: str, at: str, name: str, scope: _Scope) -> None:
    try:
        parse_path(text, scope.task_names)
    except ExpressionError as exc:
        scope.problems.append(Problem(at, f"{exc} in task '{name}'"))


def _is_timestamp(text: str) -> bool:
    if _RFC3339.fullmatch(text) is None:
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _named_items(raw: object) -> list[tuple[int, str, dict[str, Any]]]:
    """(index, name, item) of the list's objects that have a string name."""
    if not isinstance(raw, list):
        return []
    return [
        (i, item["name"], item)
        for i, item in enumerate(raw)
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]


def _catalog_problems(
    task: Mapping[str, Any], at: str, name: str, catalog: Catalog
) -> list[Problem]:
    function = task.get("function")
    if function is None and name in TERMINALS:
        return []  # reported as reserved already
    kind, field = (function, "function") if function is not None else (name, "name")
    if kind == APPROVAL_KIND:
        return [
            Problem(
                f"{at}.{field}",
                f'\'{APPROVAL_KIND}\' is an internal kind: write "type": "approval" instead',
            )
        ]
    if not isinstance(kind, str) or kind in catalog:
        return []
    known = sorted(k for k in catalog if k != APPROVAL_KIND)
    hint = "" if function is not None else "; set 'function' to one of the catalog's kinds"
    return [
        Problem(
            f"{at}.{field}",
            f"unknown task kind '{kind}'{did_you_mean(kind, known)}{hint} "
            f"({describe_catalog(catalog)})",
        )
    ]


def _parameter_problems(value: object, at: str) -> list[Problem]:
    """Parameters are data (DESIGN §3): Step Functions evaluates a key ending in `.$` in
    a Parameters template as a path or an intrinsic function, at any depth, so a flow
    author could read the execution's role ARN or other state. Refuse them all."""
    problems: list[Problem] = []
    if isinstance(value, dict):
        for key, child in value.items():
            here = f"{at}.{key}"
            if isinstance(key, str) and key.endswith(".$"):
                problems.append(
                    Problem(
                        here,
                        f"a parameter key must not end in '.$': Step Functions would evaluate "
                        f"{key!r} as a path or intrinsic function; parameters are data "
                        f"(rename the key, e.g. {key[:-2]!r})",
                    )
                )
            problems += _parameter_problems(child, here)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            problems += _parameter_problems(child, f"{at}[{i}]")
    return problems


def _unknown_task(name: str, task_names: Sequence[str], *, allow_end: bool) -> str:
    if name in TERMINALS and not allow_end:
        return f"'{name}' is not a task here: it can only be a condition's target"
    candidates = [*task_names, *TERMINALS] if allow_end else task_names
    return f"unknown task '{name}'{did_you_mean(name, candidates)}"


def _reachability_warnings(
    start: str,
    task_at: Mapping[str, int],
    edges: Mapping[str, list[tuple[str, str]]],
    where: str,
) -> list[Problem]:
    """A task no path reaches is left out of the state machine: a warning (DESIGN §3)."""
    problems: list[Problem] = []
    reachable: set[str] = set()
    stack = [start]
    while stack:
        name = stack.pop()
        if name not in reachable:
            reachable.add(name)
            stack += [target for target, _ in edges.get(name, [])]
    for name, i in task_at.items():
        if name not in reachable:
            problems.append(
                Problem(
                    f"{where}.tasks[{i}]",
                    f"task '{name}' is not reachable from start_task '{start}'; "
                    "it is left out of the state machine",
                )
            )
    return problems


def _cycle_problems(
    task_at: Mapping[str, int], edges: Mapping[str, list[tuple[str, str]]]
) -> list[Problem]:
    """One problem per edge that closes a cycle, located at that edge, with the cycle's path."""
    problems: list[Problem] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> None:
        # Iterative DFS would be longer; recursion depth is bounded by MAX_TASKS (500).
        state[name] = 1
        path.append(name)
        for target, location in edges.get(name, []):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                problems.append(
                    Problem(
                        location, f"this makes a cycle: {' → '.join(cycle)}; a flow must not loop"
                    )
                )
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in task_at:
        if name not in state:
            visit(name)
    return problems


def _timeout_problems(flow: Mapping[str, Any], where: str) -> list[Problem]:
    timeout = flow.get("timeout_seconds")
    if (
        flow.get("type") == "EXPRESS"
        and isinstance(timeout, int)
        and timeout > MAX_EXPRESS_TIMEOUT_SECONDS
    ):
        return [
            Problem(
                f"{where}.timeout_seconds",
                f"an EXPRESS flow runs at most {MAX_EXPRESS_TIMEOUT_SECONDS} seconds, "
                f"got {timeout}",
            )
        ]
    return []


# ---- helpers for messages ---------------------------------------------------------------


def _json_type(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
    return type(value).__name__


def _short(value: object) -> str:
    text = (
        json.dumps(value)
        if value is None or isinstance(value, bool | int | float | str)
        else repr(value)
    )
    return text if len(text) <= 60 else text[:57] + "..."


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
