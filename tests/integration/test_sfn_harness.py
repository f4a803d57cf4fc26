"""The moto Step Functions harness the tests run in (tests/support/sfn.py): one test's
executions end with it, so none reaches the next test's handlers."""

from __future__ import annotations

import json
import time

from tests.support.sfn import lambda_task, moto_sfn

# Waits, then invokes a function: still running when the test that started it ends.
WAIT_THEN_INVOKE = json.dumps(
    {
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Work"},
            "Work": lambda_task("later", End=True),
        },
    }
)


def test_an_execution_a_test_left_running_does_not_invoke_through_the_next_test() -> None:
    # Given a test that starts an execution and ends before it does
    with moto_sfn() as first:
        first.register("later", lambda event, context: {"ok": True})
        first.start(first.create_state_machine(WAIT_THEN_INVOKE), {})
    # When the next test runs past the moment the execution would invoke its task
    with moto_sfn() as second:
        time.sleep(2.0)
        # Then no invoke of the first test's execution reached the second's dispatcher
        assert second.invoked() == []
        assert second._unrouted == []
