"""A for_each task: a guard Choice (is the path an array?) and a Map state whose item
processor invokes the function once per item."""

from __future__ import annotations

from flow_manager import expressions
from flow_manager.model import DEFAULT_MAX_CONCURRENCY, Task
from flow_manager.results_store import FOR_EACH_INLINE_BYTES, SIZE_KEY
from flow_manager.translator.common import ITEM_FAILED, NO_ITEMS, State, result_path
from flow_manager.translator.graph import GraphUnit
from flow_manager.translator.task import RESULT_SELECTOR, case_choice, retry_policy, task_event


def for_each(unit: GraphUnit, task: Task) -> dict[str, State]:
    assert task.for_each is not None
    operand = expressions.parse_path(task.for_each)
    items = expressions.json_path(operand, result_path)
    guard = unit.entry(task.name)
    missing = unit.names.fresh(f"{task.name}{NO_ITEMS}")
    on_success, on_failure = unit.routes(task)
    item_task, item_check = (unit.names.fresh(f"{task.name} item{s}") for s in ("", " ok?"))
    item_done, item_failed, item_raised = (
        unit.names.fresh(f"{task.name} item {s}") for s in ("done", "failed", "raised")
    )
    # ASL has no IsArray: rule out what Choice can test. An offloaded value is a reference
    # {"$ref", "bytes"} (results_store): its numeric `bytes` tells it from an array.
    is_array_like = [
        {"Variable": items, "IsPresent": True},
        *({"Not": {"Variable": items, test: True}} for test in _SCALAR_TESTS),
        {"Not": {"Variable": f"{items}.{SIZE_KEY}", "IsPresent": True}},
    ]
    payload = task_event(unit, task) | {"item.$": "$.item", "index.$": "$.index"}
    item_state: State = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": unit.context.catalog[task.kind], "Payload": payload},
        "ResultSelector": dict(RESULT_SELECTOR),
        "ResultPath": "$.result",
    }
    if task.timeout_seconds is not None:
        item_state["TimeoutSeconds"] = task.timeout_seconds
    item_state |= {
        "Retry": retry_policy(task),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.result", "Next": item_raised}],
        "Next": item_check,
    }
    processor = {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": item_task,
        "States": {
            item_task: item_state,
            item_check: {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.result.status", "IsPresent": True},
                            {"Variable": "$.result.status", "StringEquals": "success"},
                        ],
                        "Next": item_done,
                    }
                ],
                "Default": item_failed,
            },
            item_done: {"Type": "Succeed", "OutputPath": "$.result"},
            item_failed: {
                "Type": "Fail",
                "Error": ITEM_FAILED,
                "CausePath": "States.Format('item {} failed: {}', $.index, $.result.error)",
            },
            item_raised: {
                "Type": "Fail",
                "Error": ITEM_FAILED,
                "CausePath": "States.Format('item {} raised {}', $.index, $.result.Error)",
            },
        },
    }
    states: dict[str, State] = {
        guard: {
            "Type": "Choice",
            "Comment": f"{task.name} runs once per item of {task.for_each}: is it an array?",
            "Choices": [{"And": is_array_like, "Next": task.name}],
            "Default": missing,
        },
        missing: {
            "Type": "Pass",
            "Result": {
                "status": "failure",
                "data": None,
                "error": f"for_each: {task.for_each} is missing or not an array"
                + (_OFFLOADED_NOTE if operand.root == "results" else ""),
            },
            "ResultPath": result_path(task.name),
            "Next": on_failure,
        },
        task.name: {
            "Type": "Map",
            "Comment": task.description or f"{task.kind} for each item of {task.for_each}",
            "ItemsPath": items,
            "MaxConcurrency": task.max_concurrency or DEFAULT_MAX_CONCURRENCY,
            "ItemSelector": {
                "context.$": "$.context",
                "results.$": "$.results",
                "item.$": "$$.Map.Item.Value",
                "index.$": "$$.Map.Item.Index",
            },
            "ItemProcessor": processor,
            "ResultSelector": {"status": "success", "data.$": "$[*].data", "error": None},
            "ResultPath": result_path(task.name),
            "Catch": [
                # An object passes the guard (see above) and fails the Map reading it:
                # routed to the same "no items" failure as any other non-array.
                {
                    "ErrorEquals": [NOT_AN_ARRAY],
                    "ResultPath": result_path(task.name),
                    "Next": missing,
                },
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": result_path(task.name),
                    "Next": on_failure,
                },
            ],
            "Next": on_success,
        },
    }
    return states | case_choice(unit, task)


_OFFLOADED_NOTE = (
    f" (a task's array over {FOR_EACH_INLINE_BYTES // 1024} KiB is kept in the "
    "ResultsBucket, where a for_each cannot read it)"
)
_SCALAR_TESTS = ("IsString", "IsNumeric", "IsBoolean", "IsNull")
NOT_AN_ARRAY = "States.QueryEvaluationError"
"""What the Map state raises when its items are an object ("Map state input must be an
array"), in moto's interpreter (the local stack's engine). Step Functions may name it
otherwise, or raise the uncatchable States.Runtime: then the States.ALL catch, or the
execution's failure, ends the task, and its report says the path is not an array."""
