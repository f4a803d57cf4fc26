"""Teach moto (5.2.5) to start an execution on a state machine *version* ARN.

Step Functions runs `StartExecution(stateMachineArn="...:stateMachine:name:3")` on
version 3's definition and lists the execution under the state machine. moto's
interpreter backend looks the version up and then fails (AttributeError: a version
has no executions bookkeeping), so the API's executions, which are pinned to the flow
version they started on, could not run locally. This runs the state machine's own
start path with the version's definition swapped in for the call: the execution is
recorded under the state machine (DescribeExecution, ListExecutions and the name's
idempotency work as in AWS) and runs the version's definition, since moto snapshots
the definition when an execution starts.

It also makes CreateStateMachine refuse a name that exists with another definition or
type (StateMachineAlreadyExists), as AWS does: moto answers with the existing machine,
unchanged, so the API would take a machine it did not create for a flow's.

Install it wherever moto's backends live: in-process for tests, in the moto server's
process for the local stack.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()


def install() -> Callable[[], None]:
    """Patch moto's Step Functions interpreter backend; returns the function that undoes it."""
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.exceptions import StateMachineDoesNotExist
    from moto.stepfunctions.models import StateMachineVersion
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.utilities.utils import get_partition

    class StateMachineAlreadyExists(AWSError):
        TYPE = "StateMachineAlreadyExists"
        STATUS = 400

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: StepFunctionsParserBackend,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        target = self.describe_state_machine(state_machine_arn)
        if not isinstance(target, StateMachineVersion):
            return original(self, state_machine_arn, name, execution_input, trace_header)
        machine = self.describe_state_machine(target.source_arn)
        with _lock:  # the swap must not leak into a concurrent start of the same machine
            latest = machine.definition
            machine.definition = target.definition
            try:
                return original(self, machine.arn, name, execution_input, trace_header)
            finally:
                machine.definition = latest

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
    original_create = StepFunctionsParserBackend.create_state_machine

    def create_state_machine(self: StepFunctionsParserBackend, *args: Any, **kwargs: Any) -> Any:
        name, definition = kwargs["name"], kwargs["definition"]
        arn = f"arn:{get_partition(self.region_name)}:states:{self.region_name}:"
        arn += f"{self.account_id}:stateMachine:{name}"
        try:
            existing = self.describe_state_machine(arn)
        except StateMachineDoesNotExist:
            return original_create(self, *args, **kwargs)
        if existing.definition != definition or existing.type != (
            kwargs.get("sm_type") or "STANDARD"
        ):
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
        return existing  # AWS: an identical create is idempotent

    StepFunctionsParserBackend.create_state_machine = create_state_machine  # type: ignore[method-assign]

    def uninstall() -> None:
        StepFunctionsParserBackend.start_execution = original  # type: ignore[method-assign]
        StepFunctionsParserBackend.create_state_machine = original_create  # type: ignore[method-assign]

    return uninstall
