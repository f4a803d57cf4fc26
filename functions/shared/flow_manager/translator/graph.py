"""A graph (the flow, or a branch of a parallel task): its states' names, the order
its tasks are laid out in, where targets lead, and the terminal states it uses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from flow_manager import expressions
from flow_manager.catalog import Catalog
from flow_manager.model import END, FAIL, SUCCEED, Branch, Condition, Flow, Task
from flow_manager.results_store import INLINE_DATA_BYTES, pointer_to
from flow_manager.translator.common import (
    FLOW_FAILED,
    SUCCEED_STATE,
    Graph,
    State,
    after_state_name,
    failed_state_name,
)

# ---- names --------------------------------------------------------------------------------


class Names:
    """Readable, unique state names across the whole machine (branches included: Step
    Functions wants every state name unique). Task states are named after their tasks,
    Choice states after their conditions; generated names give way to those."""

    def __init__(self, flow: Flow) -> None:
        self._taken: set[str] = set()
        self._add(flow)

    def _add(self, graph: Graph) -> None:
        self._taken |= {t.name for t in graph.tasks} | {c.name for c in graph.conditions}
        for task in graph.tasks:
            for branch in task.branches or ():
                self._add(branch)

    def fresh(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self._taken:
            name, n = f"{wanted} ({n})", n + 1
        self._taken.add(name)
        return name


@dataclass
class Context:
    catalog: Catalog
    flow_id: str
    version: int
    names: Names
    # task → JSON pointers into its data that a later for_each iterates (results_store)
    keep_inline: dict[str, list[str]] = field(default_factory=dict)
    # the largest data a task keeps whole in the state (results_store.inline_data_bytes)
    inline_bytes: int = INLINE_DATA_BYTES


def iterated_values(flow: Flow) -> dict[str, list[str]]:
    """Which values of which tasks' data a for_each reads: `results.T.data.records` is
    T's "/records", `results.T.data` (or `results.T.data[0]`) all of T's data ("")."""
    found: dict[str, set[str]] = {}
    for task in flow.all_tasks():
        if task.for_each is None:
            continue
        operand = expressions.parse_path(task.for_each)
        if operand.root != "results" or operand.task is None:
            continue
        first = operand.segments[0] if operand.segments else None
        pointer = pointer_to(first) if isinstance(first, str) else ""
        found.setdefault(operand.task, set()).add(pointer)
    return {name: sorted(pointers) for name, pointers in found.items()}


def results_copies(graph: Flow | Branch) -> int:
    """How many copies of the results one state may hold: each branch of a parallel task
    hands all of them back (its OutputPath is `$.results`), and the Parallel state's
    output holds every branch's before they are merged. An inner parallel's copies are
    merged before its branch hands back, so the most is the widest parallel's."""
    most = 1
    for task in graph.tasks:
        if task.branches:
            inner = max(results_copies(branch) for branch in task.branches)
            most = max(most, len(task.branches), inner)
    return most


# ---- a graph: the flow, or a branch -------------------------------------------------------


@dataclass
class Ends:
    """The terminal states one graph uses, made on demand."""

    succeed: str | None = None
    failed: dict[str, str] = field(default_factory=dict)  # task → "<task> failed"
    fail_after: dict[str, str] = field(default_factory=dict)  # task → "Fail after <task>"
    succeed_after: dict[str, str] = field(default_factory=dict)


class GraphUnit:
    def __init__(self, graph: Graph, parent: str | None, context: Context) -> None:
        self.graph = graph
        self.parent = parent  # the parallel task a branch belongs to
        self.context = context
        self.names = context.names
        self.order = list(in_order(graph))
        self.ends = Ends()
        self.entries: dict[str, str] = {}
        self.choice: dict[str, str] = {}
        self.branch_units: dict[str, list[GraphUnit]] = {}  # parallel task → its branches
        for task in self.order:
            condition = graph.condition_for(task.name)
            if task.for_each is not None:
                self.entries[task.name] = self.names.fresh(f"{task.name} items?")
            elif task.task_type == "wait" and task.seconds_from is not None:
                self.entries[task.name] = self.names.fresh(f"{task.name} seconds?")
            if condition is not None:
                self.choice[task.name] = condition.name
            elif task.task_type in ("task", "approval") and task.for_each is None:
                self.choice[task.name] = self.names.fresh(after_state_name(task.name))

    @property
    def branch(self) -> Branch | None:
        return self.graph if isinstance(self.graph, Branch) else None

    def entry(self, task: str) -> str:
        """The state a transition to `task` goes to (a for_each task's or a
        seconds_from wait's guard first)."""
        return self.entries.get(task, task)

    def states(self) -> dict[str, State]:
        states: dict[str, State] = {}
        for task in self.order:
            states.update(self._task(task))
        states.update(self._terminal_states())
        return states

    def _task(self, task: Task) -> dict[str, State]:
        # The construct units import this module: import them when first used.
        from flow_manager.translator.for_each import for_each
        from flow_manager.translator.parallel import parallel
        from flow_manager.translator.task import choice, invoke
        from flow_manager.translator.wait import wait

        kind = task.task_type
        if kind == "wait":
            return wait(self, task)
        if kind == "parallel":
            return parallel(self, task)
        if task.for_each is not None:
            return for_each(self, task)
        states = {task.name: invoke(self, task)}
        states[self.choice[task.name]] = choice(self, task)
        return states

    # ---- where a construct goes --------------------------------------------------------

    def routes(self, task: Task) -> tuple[str, str]:
        """(after a success, after a failure) for a construct that routes by itself:
        straight to the targets, or to its condition's Choice when it has cases."""
        condition = self.graph.condition_for(task.name)
        if condition is not None and condition.cases:
            return condition.name, condition.name
        on_success, on_failure = targets(condition)
        return (
            self.target(on_success, task.name, succeeded=True),
            self.target(on_failure, task.name, succeeded=False),
        )

    def target(self, target: str, source: str, *, succeeded: bool) -> str:
        """The state a target names: a task's entry, or a terminal state."""
        if target == FAIL:
            if source not in self.ends.fail_after:
                self.ends.fail_after[source] = self.names.fresh(f"Fail after {source}")
            return self.ends.fail_after[source]
        if target == SUCCEED:
            if source not in self.ends.succeed_after:
                self.ends.succeed_after[source] = self.names.fresh(f"Succeed after {source}")
            return self.ends.succeed_after[source]
        if target != END:
            return self.entry(target)
        if succeeded:
            if self.ends.succeed is None:
                wanted = SUCCEED_STATE if self.branch is None else f"{self.branch.name} completed"
                self.ends.succeed = self.names.fresh(wanted)
            return self.ends.succeed
        if source not in self.ends.failed:
            self.ends.failed[source] = self.names.fresh(failed_state_name(source))
        return self.ends.failed[source]

    def _terminal_states(self) -> dict[str, State]:
        states: dict[str, State] = {}
        where = "" if self.branch is None else f"Branch '{self.branch.name}' of '{self.parent}': "
        # A branch hands its results to the parallel task, which merges them.
        output = {} if self.branch is None else {"OutputPath": "$.results"}
        if self.ends.succeed is not None:
            comment = "The last task succeeded." if self.branch is None else "The branch is done."
            states[self.ends.succeed] = {"Type": "Succeed", "Comment": comment, **output}
        for task in self.order:
            if task.name in self.ends.failed:
                states[self.ends.failed[task.name]] = {
                    "Type": "Fail",
                    "Comment": f"The flow ends after {task.name} failed.",
                    "Error": "TaskFailed",
                    "Cause": f"{where}Task '{task.name}' failed; its result is "
                    f"results.{task.name}.",
                }
        for task in self.order:
            condition = self.graph.condition_for(task.name)
            if task.name in self.ends.fail_after:
                states[self.ends.fail_after[task.name]] = {
                    "Type": "Fail",
                    "Comment": f"A condition sent the flow to 'fail' after {task.name}.",
                    "Error": FLOW_FAILED,
                    "Cause": f"{where}Condition '{condition.name if condition else ''}' "
                    f"ended the flow with 'fail' after task '{task.name}'.",
                }
            if task.name in self.ends.succeed_after:
                states[self.ends.succeed_after[task.name]] = {
                    "Type": "Succeed",
                    "Comment": f"A condition sent the flow to 'succeed' after {task.name}.",
                    **output,
                }
        return states


def in_order(graph: Graph) -> Iterator[Task]:
    """Tasks in breadth-first order from start_task: the console lists states that way.
    A task no path reaches is a validation warning: it is left out (DESIGN §3)."""
    seen: set[str] = set()
    queue = [graph.start_task]
    by_name = {t.name: t for t in graph.tasks}
    while queue:
        name = queue.pop(0)
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        yield by_name[name]
        condition = graph.condition_for(name)
        if condition is not None:
            queue += [c.target for c in condition.cases or ()]
            queue += [condition.target_task_success, condition.target_task_failure]


def targets(condition: Condition | None) -> tuple[str, str]:
    """(target after a success, target after a failure) of a task's condition."""
    if condition is None:
        return END, END
    if condition.outcome == "success":
        return condition.target_task_success, condition.target_task_failure
    return condition.target_task_failure, condition.target_task_success
