"""A flow, or an execution of one, as a Mermaid flowchart (DESIGN §7).

Pure and deterministic: a `Flow` (and an `ExecutionReport`) in, text out; the same input
gives the same bytes, so the README's embedded diagrams can be checked against it.

What the picture says:

- a task is a node whose shape is its type: a function task a rectangle, a for_each task
  a subroutine `[[ ]]` ("for each PATH"), a wait a stadium `([ ])`, an approval a
  hexagon `{{ }}`; a parallel task is a subgraph holding one subgraph per branch;
- a condition is edges labelled with the status that takes them (success / failure)
  or, for a case, its `when` text; the edge a condition takes when no case matches says
  "otherwise"; a task without a condition has an unlabelled edge to end;
- start, end, fail and succeed are round terminal nodes (one set per graph; inside a
  branch only the terminals the branch names: a branch simply ends after its last task);
- a task no path reaches (a validation warning; left out of the state machine) is drawn
  dashed, with dotted edges;
- an execution's diagram adds classes: done (succeeded), failed, active (running or
  waiting for an approval or a timer), and draws the edges the run took thicker
  (`linkStyle` by edge index).

Client text (names, `when`, paths) only ever appears inside quoted labels, escaped with
Mermaid's entity codes, so it can neither end a label nor start a directive (`%%{`),
markup (`<`), a markdown string (a backtick) or a new statement (a newline). Node ids
are ours (`t0`, `t1`, ...), never a task's name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from flow_manager.model import END, FAIL, SUCCEED, TERMINALS, Branch, Flow, Task
from flow_manager.reports import ExecutionReport

MEDIA_TYPE = "text/vnd.mermaid"
MAX_LABEL = 60  # characters of client text in one label line; longer text is cut with …

Graph = Flow | Branch
NodeState = Literal["done", "failed", "active"]

CLASS_DEFS: Mapping[str, str] = {
    "done": "fill:#e8f5e9,stroke:#2e7d32,color:#1b5e20",
    "failed": "fill:#ffebee,stroke:#c62828,color:#b71c1c,stroke-width:2px",
    "active": "fill:#fff8e1,stroke:#f9a825,color:#5d4037,stroke-width:3px",
    "unreachable": "fill:#fafafa,stroke:#9e9e9e,color:#757575,stroke-dasharray:5 5",
}
TAKEN_STYLE = "stroke:#1565c0,stroke-width:3px"

_ESCAPES = {
    "#": "#35;",  # first: the other codes start with it
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
    "%": "#37;",  # no %%{init}%% directive, no %% comment
    ";": "#59;",
    "|": "#124;",  # an edge label is written between pipes
    "\\": "#92;",
}


def escape(text: str, limit: int = MAX_LABEL) -> str:
    """Client text as the inside of a quoted Mermaid label: one line, no special character."""
    flat = " ".join(text.split())  # newlines, tabs and other whitespace runs: one space
    flat = "".join(c if c.isprintable() else " " for c in flat)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return "".join(_ESCAPES.get(c, c) for c in flat)


def flow_diagram(flow: Flow) -> str:
    """The flow's flowchart."""
    return _Drawing(flow, None).render()


def execution_diagram(flow: Flow, report: ExecutionReport) -> str:
    """The flowchart of the version `report` ran, with the path it took marked."""
    return _Drawing(flow, report).render()


# ---- the drawing -----------------------------------------------------------------------


@dataclass
class _Edge:
    source: str  # node ids
    target: str
    labels: list[str] = field(default_factory=list)
    dotted: bool = False


@dataclass
class _Scope:
    """One graph: the flow, or a branch of a parallel task."""

    graph: Graph
    prefix: str  # "" for the flow, "t3_b0_" for branch 0 of task t3
    top: bool
    reachable: set[str]
    terminals: list[str] = field(default_factory=list)  # used, in first-use order

    def terminal_id(self, name: str) -> str:
        if name not in self.terminals:
            self.terminals.append(name)
        return f"{self.prefix or 'f_'}{name}_node"


class _Drawing:
    def __init__(self, flow: Flow, report: ExecutionReport | None) -> None:
        self.flow = flow
        self.report = report
        self.ids: dict[str, str] = {t.name: f"t{i}" for i, t in enumerate(flow.all_tasks())}
        self.tasks: dict[str, Task] = {t.name: t for t in flow.all_tasks()}
        self.edges: list[_Edge] = []
        self.edge_at: dict[tuple[str, str], int] = {}
        self.states: dict[str, NodeState] = {}  # node id → class
        self.taken: set[int] = set()
        self.unreachable: list[str] = []
        self.declared: list[str] = []  # node and subgraph ids, in the order of the text
        self.scope_of: dict[str, _Scope] = {}  # task → the graph it is drawn in

    def render(self) -> str:
        top = _Scope(self.flow, "", True, _reachable(self.flow))
        lines = ["flowchart TD"]
        lines += self._scope_lines(top, "  ")
        if self.report is not None and self.report.path:
            _Trace(self, self.report).run(top)
        elif self.report is not None:
            _Replay(self, self.report).run(top)
        lines += self._edge_lines()
        lines += self._class_lines()
        return "\n".join(lines) + "\n"

    # ---- nodes -----------------------------------------------------------------------

    def _scope_lines(self, scope: _Scope, indent: str) -> list[str]:
        graph = scope.graph
        lines: list[str] = []
        if scope.top:
            start = f"{scope.prefix or 'f_'}start_node"
            lines.append(f'{indent}{start}(("start"))')
            self.declared.append(start)
            self._edge(start, self.ids[graph.start_task], [])
        for task in graph.tasks:
            self.scope_of[task.name] = scope
            lines += self._task_lines(task, scope, indent)
        for task in graph.tasks:
            self._condition_edges(task, scope)
        for name in scope.terminals:
            node = scope.terminal_id(name)
            shape = f'(("{name}"))' if name == END else f'((("{name}")))'
            lines.append(f"{indent}{node}{shape}")
            self.declared.append(node)
        return lines

    def _task_lines(self, task: Task, scope: _Scope, indent: str) -> list[str]:
        node = self.ids[task.name]
        self.declared.append(node)
        if task.name not in scope.reachable:
            self.unreachable.append(node)
        name = escape(task.name)
        kind = task.task_type
        if kind == "parallel":
            lines = [f'{indent}subgraph {node} ["{name} (parallel)"]']
            for j, branch in enumerate(task.branches or ()):
                prefix = f"{node}_b{j}_"
                inner = _Scope(branch, prefix, False, _reachable(branch))
                lines.append(f'{indent}  subgraph {node}_b{j} ["{escape(branch.name)}"]')
                lines += self._scope_lines(inner, indent + "    ")
                lines.append(f"{indent}  end")
            lines.append(f"{indent}end")
            return lines
        if kind == "wait":
            return [f'{indent}{node}(["{name}<br/>{_wait_text(task)}"])']
        if kind == "approval":
            return [f'{indent}{node}{{{{"{name}<br/>approval"}}}}']
        detail = "" if task.kind == task.name else f"<br/>{escape(task.kind)}"
        if task.for_each is not None:
            each = escape(task.for_each)
            return [f'{indent}{node}[["{name}<br/>for each {each}{detail}"]]']
        return [f'{indent}{node}["{name}{detail}"]']

    # ---- edges -----------------------------------------------------------------------

    def _condition_edges(self, task: Task, scope: _Scope) -> None:
        source = self.ids[task.name]
        dotted = task.name not in scope.reachable
        for target, label in _exits(scope.graph, task):
            if target in TERMINALS:
                if not scope.top and target == END and not label:
                    continue  # a branch ends after its last task: no node for that
                node = scope.terminal_id(target)
            else:
                node = self.ids[target]
            self._edge(source, node, [label] if label else [], dotted)

    def _edge(self, source: str, target: str, labels: list[str], dotted: bool = False) -> None:
        """One edge per (source, target): the labels of parallel exits are joined."""
        at = self.edge_at.get((source, target))
        if at is None:
            self.edge_at[(source, target)] = len(self.edges)
            self.edges.append(_Edge(source, target, list(labels), dotted))
            return
        for label in labels:
            if label not in self.edges[at].labels:
                self.edges[at].labels.append(label)

    def edge_index(self, source: str, target: str) -> int | None:
        return self.edge_at.get((source, target))

    def _edge_lines(self) -> list[str]:
        lines = []
        for edge in self.edges:
            arrow = "-.->" if edge.dotted else "-->"
            label = f'|"{" / ".join(edge.labels)}"|' if edge.labels else ""
            lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
        return lines

    def _class_lines(self) -> list[str]:
        members: dict[str, list[str]] = {"unreachable": list(self.unreachable)}
        for node in self.declared:  # in the order of the text, whatever the walk's order
            if node in self.states:
                members.setdefault(self.states[node], []).append(node)
        lines = []
        for name, style in CLASS_DEFS.items():
            if members.get(name):
                lines.append(f"  classDef {name} {style}")
        for name in CLASS_DEFS:
            if members.get(name):
                lines.append(f"  class {','.join(members[name])} {name}")
        if self.taken:
            taken = ",".join(str(i) for i in sorted(self.taken))
            lines.append(f"  linkStyle {taken} {TAKEN_STYLE}")
        return lines


def _wait_text(task: Task) -> str:
    if task.seconds is not None:
        return f"wait {task.seconds} s"
    if task.until is not None:
        return f"wait until {escape(task.until)}"
    return f"wait seconds from {escape(task.seconds_from or '')}"


def _exits(graph: Graph, task: Task) -> Iterator[tuple[str, str]]:
    """(target, label) of every way out of `task`, in the order Step Functions tries them."""
    condition = graph.condition_for(task.name)
    if condition is None:
        yield END, ""
        return
    matched = condition.outcome
    other = "failure" if matched == "success" else "success"
    for case in condition.cases or ():
        yield case.target, escape(case.when)
    yield condition.target_task_success, f"{matched}, otherwise" if condition.cases else matched
    yield condition.target_task_failure, other


def _reachable(graph: Graph) -> set[str]:
    seen: set[str] = set()
    stack = [graph.start_task]
    while stack:
        name = stack.pop()
        if name in seen or name in TERMINALS:
            continue
        seen.add(name)
        task = next((t for t in graph.tasks if t.name == name), None)
        if task is not None:
            stack += [target for target, _ in _exits(graph, task)]
    return seen


# ---- the path an execution took ------------------------------------------------------

WalkEnd = Literal["completed", "failed", "running", "unknown"]
_STATE_OF: Mapping[str, NodeState] = {"success": "done", "failure": "failed"}


class _Trace:
    """Marks the path from the report's decision trace (`path`, read from the history
    by trace.py): each step's task by its status, and the edge to its `next`. Exact
    where `_Replay` has to guess (a case into a terminal beside another)."""

    def __init__(self, drawing: _Drawing, report: ExecutionReport) -> None:
        self.d = drawing
        self.report = report
        self.waiting = report.waiting_for.task if report.waiting_for else None

    def run(self, top: _Scope) -> None:
        self._take(f"{top.prefix or 'f_'}start_node", self.d.ids[top.graph.start_task])
        for step in self.report.path:
            node = self.d.ids.get(step.task)
            scope = self.d.scope_of.get(step.task)
            if node is None or scope is None:  # not this version's task: nothing to mark
                continue
            running = step.status == "running" or self.waiting == step.task
            self.d.states[node] = "active" if running else _STATE_OF[step.status]
            if step.next is None:
                continue
            if step.next not in TERMINALS:
                if step.next in self.d.ids:
                    self._take(node, self.d.ids[step.next])
            elif step.next in scope.terminals:  # a branch's implicit end has no node
                terminal = scope.terminal_id(step.next)
                self._take(node, terminal)
                ok = step.next == SUCCEED or (step.next == END and step.status == "success")
                self.d.states[terminal] = "done" if ok else "failed"

    def _take(self, source: str, target: str) -> None:
        index = self.d.edge_index(source, target)
        if index is not None:
            self.d.taken.add(index)


class _Replay:
    """Without a decision trace (a report that has none): walks each graph as the
    execution did, from the results alone: a task's status says which exit it took;
    among cases, the one whose target ran. What the results cannot tell (a case into a
    terminal beside another) is left unmarked."""

    def __init__(self, drawing: _Drawing, report: ExecutionReport) -> None:
        self.d = drawing
        self.report = report
        self.results = report.task_results
        self.running = report.status == "running"
        self.waiting = report.waiting_for.task if report.waiting_for else None

    def run(self, top: _Scope) -> None:
        start = f"{top.prefix or 'f_'}start_node"
        self._take(start, self.d.ids[top.graph.start_task])
        end = self._walk(top.graph, top)
        if end in ("completed", "failed") or not self.running:
            for name in top.terminals:
                node = top.terminal_id(name)
                if any(self.d.edges[i].target == node for i in self.d.taken):
                    self.d.states[node] = "failed" if self.report.status != "completed" else "done"

    def _walk(self, graph: Graph, scope: _Scope) -> WalkEnd:
        current = graph.start_task
        for _ in range(len(graph.tasks) + 1):  # acyclic: each task at most once
            task = self.d.tasks[current]
            status = self._status(task)
            if status is None:
                return "unknown"
            node = self.d.ids[task.name]
            self.d.states[node] = _STATE_OF.get(status, "active")
            if status == "running":
                return "running"
            target = self._exit(graph, task, status)
            if target is None:
                return "unknown"
            if target in TERMINALS:
                self._take(node, scope.terminal_id(target))  # a branch's implicit end: no edge
                failed = target == FAIL or (target == END and status == "failure")
                return "failed" if failed else "completed"
            self._take(node, self.d.ids[target])
            current = target
        return "unknown"

    def _take(self, source: str, target: str) -> None:
        index = self.d.edge_index(source, target)
        if index is not None:
            self.d.taken.add(index)

    def _exit(self, graph: Graph, task: Task, status: str) -> str | None:
        condition = graph.condition_for(task.name)
        if condition is None:
            return END
        if status != condition.outcome:
            return condition.target_task_failure
        candidates = [c.target for c in condition.cases or ()] + [condition.target_task_success]
        unique = list(dict.fromkeys(candidates))
        if len(unique) == 1:
            return unique[0]
        # A task in the report ran for sure; a wait or Map only "ran" because what follows
        # it did, which paths that join again cannot tell apart: evidence first.
        # Reports list waits and for_each tasks too: of the candidates that ran, the
        # first to begin is the one taken (the others, if any, came later through it).
        recorded = [t for t in unique if t in self.results]
        if len(recorded) == 1:
            return recorded[0]
        order = {t: i for i, t in enumerate(self.report.executed_tasks)}
        if recorded and all(t in order for t in recorded):
            return min(recorded, key=order.__getitem__)
        ran = [t for t in unique if t not in TERMINALS and self._reached(t)]
        if len(ran) == 1:
            return ran[0]
        if not ran and not self.running:
            terminals = [t for t in unique if t in TERMINALS]
            if len(terminals) == 1:
                return terminals[0]
        return None

    def _status(self, task: Task) -> str | None:
        """success, failure, running (or waiting), or None: the run did not get here."""
        kind = task.task_type
        if kind == "parallel":
            node = self.d.ids[task.name]
            ends = [
                self._walk(branch, _Scope(branch, f"{node}_b{j}_", False, set()))
                for j, branch in enumerate(task.branches or ())
            ]
            if "failed" in ends:
                return "failure"
            if "running" in ends:
                return "running"
            if all(e == "completed" for e in ends):
                return "success"
            if all(e == "unknown" for e in ends):
                return None
            return "running" if self.running else None
        if kind == "wait" or (task.for_each is not None and task.name not in self.results):
            # Wait and Map states are not Task states: the report may not list them.
            if self._after_reached(task):
                return "success"
            return "running" if self.running else None
        result = self.results.get(task.name)
        if result is None:
            return None
        if self.waiting == task.name:
            return "running"
        return result.status

    def _reached(self, name: str) -> bool:
        task = self.d.tasks[name]
        if task.task_type == "parallel":
            return any(self._reached(t.name) for b in task.branches or () for t in b.tasks)
        if task.task_type == "wait":
            return self._after_reached(task) or (
                self.running and not any(r.status == "running" for r in self.results.values())
            )
        if task.for_each is not None and name not in self.results:
            return self._after_reached(task)
        return name in self.results

    def _after_reached(self, task: Task) -> bool:
        """A wait ran when what follows it ran, or the run ended after it."""
        graph = self._graph_of(task.name)
        target = graph.next_task(task.name, "success")
        if target in TERMINALS:
            return not self.running
        return self._reached(target)

    def _graph_of(self, name: str) -> Graph:
        def find(graph: Graph) -> Graph | None:
            for task in graph.tasks:
                if task.name == name:
                    return graph
                for branch in task.branches or ():
                    found = find(branch)
                    if found is not None:
                        return found
            return None

        return find(self.d.flow) or self.d.flow


__all__ = ["MEDIA_TYPE", "SUCCEED", "escape", "execution_diagram", "flow_diagram"]
