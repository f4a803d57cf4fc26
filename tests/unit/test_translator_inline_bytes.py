"""How large a task's data the compiled flow keeps whole in the state: the flow's share
of the results' budget, named in each task's event (`inline_bytes`, DESIGN §4.7)."""

from __future__ import annotations

from typing import Any

from flow_manager.catalog import placeholder_catalog
from flow_manager.model import MAX_BRANCHES, MAX_TASKS, Flow, FlowDocument
from flow_manager.results_store import RESULTS_BUDGET_BYTES
from flow_manager.translator import translate
from flow_manager.translator.graph import results_copies


def flow_of(document: dict[str, Any]) -> Flow:
    return FlowDocument.model_validate(document).flow


def states_of(flow: Flow) -> dict[str, Any]:
    states: dict[str, Any] = translate(flow, placeholder_catalog())["States"]
    return states


def test_a_parallels_branches_each_count_the_results_they_hand_back() -> None:
    # Given a task, then a parallel task of MAX_BRANCHES branches of one task each
    branches = [
        {
            "name": f"b{i}",
            "start_task": f"t{i}",
            "tasks": [{"name": f"t{i}", "function": "fetch_data"}],
        }
        for i in range(MAX_BRANCHES)
    ]
    flow = flow_of(
        {
            "flow": {
                "id": "fan",
                "name": "fan",
                "start_task": "first",
                "tasks": [
                    {"name": "first", "function": "fetch_data"},
                    {"name": "all", "type": "parallel", "branches": branches},
                ],
                "conditions": [
                    {
                        "name": "then",
                        "source_task": "first",
                        "outcome": "success",
                        "target_task_success": "all",
                        "target_task_failure": "end",
                    }
                ],
            }
        }
    )
    # When it is compiled
    payload = states_of(flow)["first"]["Parameters"]["Payload"]
    # Then its tasks count once per branch: the Parallel state's output holds each
    # branch's copy of the results before they are merged
    tasks = 2 + MAX_BRANCHES
    assert payload["inline_bytes"] == RESULTS_BUDGET_BYTES // (tasks * MAX_BRANCHES)


def test_an_inner_parallel_s_copies_are_merged_before_its_branch_hands_back() -> None:
    # Given a parallel of 2 branches, one of which holds a parallel of 3 branches
    def one(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "start_task": name,
            "tasks": [{"name": name, "function": "fetch_data"}],
        }

    inner = {"name": "inner", "type": "parallel", "branches": [one(f"i{i}") for i in range(3)]}
    flow = flow_of(
        {
            "flow": {
                "id": "nested",
                "name": "nested",
                "start_task": "outer",
                "tasks": [
                    {
                        "name": "outer",
                        "type": "parallel",
                        "branches": [
                            one("left"),
                            {"name": "right", "start_task": "inner", "tasks": [inner]},
                        ],
                    }
                ],
                "conditions": [],
            }
        }
    )
    # When its copies of the results are counted
    # Then a state holds at most the widest parallel's: the inner output is merged first
    assert results_copies(flow) == 3


def test_a_flow_of_the_most_tasks_keeps_the_least_data_inline() -> None:
    # Given flows of 100 and of MAX_TASKS tasks
    def chain(count: int) -> Flow:
        return flow_of(
            {
                "flow": {
                    "id": f"chain{count}",
                    "name": "chain",
                    "start_task": "t0",
                    "tasks": [{"name": f"t{i}", "function": "fetch_data"} for i in range(count)],
                    "conditions": [
                        {
                            "name": f"c{i}",
                            "source_task": f"t{i}",
                            "outcome": "success",
                            "target_task_success": f"t{i + 1}",
                            "target_task_failure": "end",
                        }
                        for i in range(count - 1)
                    ],
                }
            }
        )

    # When they are compiled
    hundred = states_of(chain(100))["t0"]["Parameters"]["Payload"]
    most = states_of(chain(MAX_TASKS))["t0"]["Parameters"]["Payload"]
    # Then the first shares the results' budget among its tasks; the second keeps the
    # SDK's default (its tasks' results fill the state as a 256-byte threshold always did)
    assert hundred["inline_bytes"] == RESULTS_BUDGET_BYTES // 100
    assert "inline_bytes" not in most
