"""The local stack's deferred ASL parse (local/flow_manager_local/moto_parse.py) keeps
moto's behaviour: valid definitions run, invalid ones cannot."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from flow_manager.model import Flow
from flow_manager.translator import compile_flow
from flow_manager_local import moto_parse
from tests.support.sfn import SfnHarness, catalog_for


@pytest.fixture
def deferred(sfn: SfnHarness) -> Iterator[SfnHarness]:
    uninstall = moto_parse.install()
    try:
        yield sfn
    finally:
        uninstall()


def one_task() -> Flow:
    return Flow.model_validate(
        {"id": "p", "name": "P", "start_task": "task1", "tasks": [{"name": "task1"}]}
    )


def test_a_flow_created_with_the_deferred_parse_runs_as_before(deferred: SfnHarness) -> None:
    # Given the patch and a compiled flow
    deferred.script({"task1": ["success"]})
    flow = one_task()
    # When it is created and executed, twice (the first takes the background parse)
    arn = deferred.create_state_machine(compile_flow(flow, catalog_for(flow)).json)
    runs = [deferred.wait(deferred.start(arn, {"n": i})) for i in range(2)]
    # Then both executions ran the task and completed
    assert [r.status for r in runs] == ["SUCCEEDED", "SUCCEEDED"]
    assert [r.executed_tasks for r in runs] == [("task1",), ("task1",)]


def test_a_definition_that_does_not_parse_cannot_run(deferred: SfnHarness) -> None:
    # Given a JSON definition that is not valid ASL (moto's grammar refuses the Type)
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Teleport", "End": True}}})
    # When it is created (accepted: only its shape is checked now) and started
    arn = deferred.create_state_machine(definition)
    run = deferred.wait(deferred.start(arn, {}))
    # Then the execution fails with the parse error instead of running anything
    assert (run.status, run.error) == ("FAILED", "InvalidDefinition")
    assert "Teleport" in (run.cause or "")
    assert run.executed_tasks == ()


def test_a_definition_that_is_not_a_state_machine_is_still_refused_at_create(
    deferred: SfnHarness,
) -> None:
    # Given text that is not a JSON state machine
    # When it is created
    with pytest.raises(ClientError) as refused:
        deferred.create_state_machine("{not json")
    # Then moto refuses it with its own parser's message, as without the patch
    assert "ASLParserException" in refused.value.response["Error"]["Message"]
