"""Problems name the task or condition their index points at (issue 8 §2.11)."""

from __future__ import annotations

from typing import Any

import pytest

from flow_manager.catalog import placeholder_catalog
from flow_manager.errors import InvalidFlow, Problem
from flow_manager.locations import item_name, with_names
from flow_manager.validation import validate

DOCUMENT: dict[str, Any] = {
    "flow": {
        "name": "f",
        "start_task": "a",
        "tasks": [{"name": "a"}, {"name": "b"}],
        "conditions": [
            {"name": "c1", "source_task": "a"},
            {"name": "c2", "source_task": "a"},
        ],
    }
}


def test_a_condition_path_is_named_after_the_condition() -> None:
    assert item_name(DOCUMENT, "flow.conditions[1].source_task") == "condition 'c2'"


def test_a_task_path_is_named_after_the_task() -> None:
    assert item_name(DOCUMENT, "flow.tasks[1]") == "task 'b'"


def test_a_path_to_no_listed_item_has_no_name() -> None:
    assert item_name(DOCUMENT, "flow.start_task") is None
    assert item_name(DOCUMENT, "flow.tasks[9].name") is None


def test_a_problem_names_its_condition_and_the_ones_it_mentions() -> None:
    problem = Problem(
        "flow.conditions[1].source_task",
        "task 'a' already has a condition (flow.conditions[0]); a task has at most one",
    )
    [named] = with_names([problem], DOCUMENT)
    assert named.location == "flow.conditions[1].source_task"  # still a path
    assert named.message == (
        "condition 'c2': task 'a' already has a condition "
        "(flow.conditions[0] (condition 'c1')); a task has at most one"
    )


def test_a_message_that_names_its_item_already_is_not_prefixed() -> None:
    problem = Problem("flow.conditions[1].name", "duplicate condition name 'c2'")
    assert with_names([problem], DOCUMENT)[0].message == "duplicate condition name 'c2'"


def test_validation_messages_name_conditions_by_name() -> None:
    document = {
        "flow": {
            **DOCUMENT["flow"],
            "conditions": [
                {
                    **c,
                    "outcome": "success",
                    "target_task_success": "b",
                    "target_task_failure": "end",
                }
                for c in DOCUMENT["flow"]["conditions"]
            ],
        }
    }
    with pytest.raises(InvalidFlow) as caught:
        validate(document, placeholder_catalog())
    assert any("condition 'c2'" in str(p) for p in caught.value.problems), caught.value.problems
