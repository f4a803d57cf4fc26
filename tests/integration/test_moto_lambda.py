"""moto_lambda: a flow's task invokes reach the dispatcher directly, with the answer
moto's Lambda API would give; invokes only that API handles still go through it."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

from moto.awslambda_simple.models import LambdaSimpleBackend

from tests.support.sfn import LambdaContext, SfnHarness, lambda_arn


def one_task(parameters: dict[str, Any]) -> str:
    return json.dumps(
        {
            "StartAt": "Work",
            "States": {
                "Work": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": lambda_arn("work"), **parameters},
                    "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.caught", "Next": "Done"}],
                    "Next": "Done",
                },
                "Done": {"Type": "Pass", "End": True},
            },
        }
    )


def test_a_task_invoke_reaches_the_handler_without_a_request_to_moto_s_lambda_api(
    sfn: SfnHarness,
) -> None:
    # Given a handler, and moto's Lambda API made unusable
    sfn.register("work", lambda event, context: {"doubled": event["n"] * 2})
    arn = sfn.create_state_machine(one_task({"Payload.$": "$"}))
    with mock.patch.object(LambdaSimpleBackend, "invoke", side_effect=AssertionError("API")):
        # When a task invokes it
        run = sfn.wait(sfn.start(arn, {"n": 21}))
    # Then the task got the handler's answer as moto's API gives it
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == {"StatusCode": 200, "Payload": {"doubled": 42}}


def test_a_handler_s_error_reaches_the_task_as_its_error_name(sfn: SfnHarness) -> None:
    # Given a handler that raises
    class Boom(Exception):
        pass

    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        raise Boom("no")

    sfn.register("work", handler)
    arn = sfn.create_state_machine(one_task({"Payload.$": "$"}))
    # When a task invokes it
    run = sfn.wait(sfn.start(arn, {"n": 1}))
    # Then the task's Catch matched the error's name, with Lambda's cause
    assert run.status == "SUCCEEDED", run.cause
    caught = run.output["caught"]
    assert caught["Error"] == "Boom"
    assert json.loads(caught["Cause"])["errorMessage"] == "no"


def test_an_invoke_only_moto_s_api_handles_still_goes_through_it(sfn: SfnHarness) -> None:
    # Given a handler, and a task that asks for a qualifier (moto's API resolves it)
    sfn.register("work", lambda event, context: {"ok": True})
    arn = sfn.create_state_machine(one_task({"Payload.$": "$", "Qualifier": "$LATEST"}))
    calls: list[str] = []
    real = LambdaSimpleBackend.invoke

    def counted(self: LambdaSimpleBackend, name: str, *args: Any) -> Any:
        calls.append(name)
        return real(self, name, *args)

    with mock.patch.object(LambdaSimpleBackend, "invoke", counted):
        # When the task invokes it
        run = sfn.wait(sfn.start(arn, {}))
    # Then moto's API served the invoke, and the handler answered
    assert run.status == "SUCCEEDED", run.cause
    assert run.output["Payload"] == {"ok": True}
    assert len(calls) == 1
