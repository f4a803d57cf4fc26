"""Step Functions, the engine (DESIGN §1): one state machine per flow, one published
version per flow version, executions started on a version ARN so each stays pinned to
the flow version it started on.

Every call is safe to repeat, which is what lets a retried API request converge:
creating a state machine that exists is not an error, publishing the same definition
again is harmless, an execution name is used once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from flow_manager.aws import client, is_client_error, raise_if_unavailable
from flow_manager.errors import (
    ConfigurationError,
    InvalidContext,
    InvalidFlow,
    InvalidPageToken,
    Problem,
)

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import HistoryEventTypeDef

# DESIGN §11: a machine is named <stack>_<flow id>. CloudFormation stack names never
# contain "_", so no flow id of one stack can name another stack's machine (stack
# "flow-manager", flow "prod-x" is "flow-manager_prod-x", not a machine of stack
# "flow-manager-prod"), and the IAM resource stateMachine:<stack>_* is this stack's alone.
SEPARATOR = "_"
PREFIX_PATTERN = r"^[A-Za-z][-A-Za-z0-9]{0,127}_$"  # a stack name (≤ 128), then "_"
# Set on every machine this service creates: a machine under a flow's name without it
# (made by someone else) is never updated or deleted through the API.
FLOW_ID_TAG = "flow-manager:flow-id"

SfnStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
HISTORY_PAGE = 1000  # the largest page GetExecutionHistory returns
RUNNING_PAGE = 100
# A state exit is among the last few events of any execution, and a short execution's
# whole history is shorter than this (the 3-task sample's is 29 events). A running long
# one reads this many events' data per report: ~10 state exits, of which one is kept.
RECENT_PAGE = 50
RECENT_PAGES = 10


class ExecutionExists(Exception):
    """An execution of that name exists (a retried start)."""


class _Missing(Exception):
    """The state machine does not exist (yet, or any more)."""


@dataclass(frozen=True)
class ExecutionListing:
    name: str
    execution_arn: str
    status: str
    start_date: datetime
    stop_date: datetime | None


class Engine:
    def __init__(self, region: str, role_arn: str, prefix: str) -> None:
        self.region = region
        self.role_arn = role_arn
        self.prefix = prefix

    @cached_property
    def _sfn(self) -> SFNClient:
        sfn: SFNClient = client("stepfunctions", self.region)
        return sfn

    # ---- names -----------------------------------------------------------------------

    def state_machine_name(self, flow_id: str) -> str:
        """`<stack>_<flow id>`: Settings holds the prefix to PREFIX_PATTERN."""
        return f"{self.prefix}{flow_id}"

    def state_machine_arn(self, flow_id: str) -> str:
        """Known before the state machine exists: same partition and account as the role."""
        parts = self.role_arn.split(":")
        if len(parts) < 6 or parts[0] != "arn" or not parts[4]:
            raise ConfigurationError(
                f"STATE_MACHINE_ROLE_ARN is not an IAM role ARN: {self.role_arn}"
            )
        partition, account = parts[1], parts[4]
        name = self.state_machine_name(flow_id)
        return f"arn:{partition}:states:{self.region}:{account}:stateMachine:{name}"

    @staticmethod
    def execution_arn(state_machine_arn: str, execution_name: str) -> str:
        head, _, machine = state_machine_arn.rpartition(":stateMachine:")
        return f"{head}:execution:{machine}:{execution_name}"

    def console_url(self, arn: str) -> str:
        kind = "executions/details" if ":execution:" in arn else "statemachines/view"
        return (
            f"https://{self.region}.console.aws.amazon.com/states/home"
            f"?region={self.region}#/v2/{kind}/{arn}"
        )

    # ---- state machines ----------------------------------------------------------------

    def publish(
        self, flow_id: str, definition: str, flow_type: str, description: str, *, first: bool
    ) -> str:
        """Make the flow's state machine run `definition`; return the new version's ARN.

        The first version creates the state machine (publishing in the same call); a
        create that finds it (a retried request got that far) updates it instead. Later
        versions update it, and create it if it went missing. Each is safe to repeat.
        """
        if not first:
            try:
                return self._update(flow_id, definition, description)
            except _Missing:
                pass
        try:
            created = self._sfn.create_state_machine(
                name=self.state_machine_name(flow_id),
                definition=definition,
                roleArn=self.role_arn,
                type=flow_type,  # type: ignore[arg-type]
                publish=True,
                versionDescription=description[:256],
                tags=[{"key": FLOW_ID_TAG, "value": flow_id}],
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            _raise_if_refused(exc)
            if not is_client_error(exc, "StateMachineAlreadyExists"):
                raise
            self._refuse_unless_ours(flow_id)
            return self._update(flow_id, definition, description)
        version_arn = created.get("stateMachineVersionArn")
        if version_arn is None:
            # moto answers a create of an existing name with that machine, unpublished
            # and unchanged (AWS: StateMachineAlreadyExists): the same as above.
            self._refuse_unless_ours(flow_id)
            return self._update(flow_id, definition, description)
        return version_arn

    def _refuse_unless_ours(self, flow_id: str) -> None:
        """A machine found under the flow's name is the flow's (a retried create got that
        far) only if this service tagged it so; anything else holds the name: the id is
        reserved, and the machine is left alone."""
        arn = self.state_machine_arn(flow_id)
        try:
            tags = self._sfn.list_tags_for_resource(resourceArn=arn)["tags"]
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ResourceNotFound"):
                return  # deleted meanwhile: the update recreates it
            raise
        if {"key": FLOW_ID_TAG, "value": flow_id} not in tags:
            name = self.state_machine_name(flow_id)
            raise InvalidFlow(
                [
                    Problem(
                        "flow.id",
                        f"'{flow_id}' is reserved on this stack: its state machine name "
                        f"{name} is taken by a state machine Flow Manager did not create; "
                        "choose another id",
                    )
                ]
            )

    def _update(self, flow_id: str, definition: str, description: str) -> str:
        try:
            updated = self._sfn.update_state_machine(
                stateMachineArn=self.state_machine_arn(flow_id),
                definition=definition,
                roleArn=self.role_arn,
                publish=True,
                versionDescription=description[:256],
            )
        except Exception as exc:
            raise_if_unavailable(exc)
            _raise_if_refused(exc)
            if is_client_error(exc, "StateMachineDoesNotExist"):
                raise _Missing() from exc
            raise
        return updated["stateMachineVersionArn"]

    def definition(self, arn: str) -> dict[str, Any] | None:
        """The ASL a state machine (version) runs, or None if it does not exist."""
        try:
            described = self._sfn.describe_state_machine(stateMachineArn=arn)
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "StateMachineDoesNotExist", "InvalidArn"):
                return None
            raise
        definition: dict[str, Any] = json.loads(described["definition"])
        return definition

    def delete_state_machine(self, arn: str) -> None:
        try:
            self._sfn.delete_state_machine(stateMachineArn=arn)
        except Exception as exc:
            raise_if_unavailable(exc)
            if not is_client_error(exc, "StateMachineDoesNotExist"):
                raise

    # ---- executions --------------------------------------------------------------------

    def start(self, version_arn: str, name: str, execution_input: str) -> datetime:
        """Start an execution; its start date. ExecutionExists if the name is taken."""
        try:
            started = self._sfn.start_execution(
                stateMachineArn=version_arn, name=name, input=execution_input
            )
            return started["startDate"]
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ExecutionAlreadyExists"):
                raise ExecutionExists(name) from exc
            if is_client_error(exc, "InvalidExecutionInput"):
                raise InvalidContext(
                    f"Step Functions refused the context: {_message(exc)}"
                ) from exc
            raise

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        try:
            return dict(self._sfn.describe_execution(executionArn=execution_arn))
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "ExecutionDoesNotExist", "InvalidArn"):
                return None
            raise

    def history(
        self, execution_arn: str, *, include_data: bool = True
    ) -> list[HistoryEventTypeDef]:
        """Every event of the execution, oldest first (boto3's paginator follows the
        pages); without `include_data`, no state inputs and outputs (each of which holds
        the whole state: a 300-task execution's are tens of MB)."""
        pages = self._sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn,
            includeExecutionData=include_data,
            PaginationConfig={"PageSize": HISTORY_PAGE},
        )
        events: list[HistoryEventTypeDef] = []
        try:
            for page in pages:
                events.extend(page["events"])
        except Exception as exc:
            raise_if_unavailable(exc)
            raise
        return events

    def recent_events(self, execution_arn: str) -> tuple[list[HistoryEventTypeDef], bool]:
        """The newest events with their data, back to the last state exit (whose output
        is the whole state), newest first; and whether they are the whole history (the
        oldest event was read: a short execution's history fits the first page, so one
        call reads it all). A page at a time, so only a few large states are read."""
        request: dict[str, Any] = {
            "executionArn": execution_arn,
            "maxResults": RECENT_PAGE,
            "includeExecutionData": True,
            "reverseOrder": True,
        }
        recent: list[HistoryEventTypeDef] = []
        for _ in range(RECENT_PAGES):
            try:
                page = self._sfn.get_execution_history(**request)
            except Exception as exc:
                raise_if_unavailable(exc)
                raise
            # Newest first; sorted again because an engine may ignore reverseOrder.
            events = sorted(page["events"], key=lambda e: -int(e["id"]))
            token = page.get("nextToken")
            if not token:
                return [*recent, *events], True
            for event in events:
                recent.append(event)
                if _has_output(event):  # older exits' states are not read (parsed) again
                    return recent, False
            request["nextToken"] = token
        return recent, False

    def list_executions(
        self,
        state_machine_arn: str,
        status: SfnStatus | None,
        limit: int,
        token: str | None,
    ) -> tuple[list[ExecutionListing], str | None]:
        request: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": limit}
        if status is not None:
            request["statusFilter"] = status
        if token is not None:
            request["nextToken"] = token
        try:
            page = self._sfn.list_executions(**request)
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "InvalidToken"):
                raise InvalidPageToken() from exc
            if is_client_error(exc, "StateMachineDoesNotExist"):
                return [], None
            raise
        listed = [
            ExecutionListing(
                name=e["name"],
                execution_arn=e["executionArn"],
                status=e["status"],
                start_date=e["startDate"],
                stop_date=e.get("stopDate"),
            )
            for e in page["executions"]
        ]
        return listed, page.get("nextToken")

    def running(self, state_machine_arn: str) -> Iterator[str]:
        """The ARNs of the state machine's running executions, fetched a page at a time
        as the caller reads them (one that stops early fetches no more pages)."""
        pages = self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn,
            statusFilter="RUNNING",
            PaginationConfig={"PageSize": RUNNING_PAGE},
        )
        try:
            for page in pages:
                yield from (e["executionArn"] for e in page["executions"])
        except Exception as exc:
            raise_if_unavailable(exc)
            if is_client_error(exc, "StateMachineDoesNotExist"):
                return
            raise

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            self._sfn.stop_execution(executionArn=execution_arn, error="Aborted", cause=cause)
        except Exception as exc:
            raise_if_unavailable(exc)
            if not is_client_error(exc, "ExecutionDoesNotExist"):
                raise


def _has_output(event: HistoryEventTypeDef) -> bool:
    details = event.get("stateExitedEventDetails")
    return details is not None and "output" in details


def _message(exc: Exception) -> str:
    response = getattr(exc, "response", {})
    return str(response.get("Error", {}).get("Message", exc))[:500]


def _raise_if_refused(exc: Exception) -> None:
    """Step Functions refusing a compiled definition is a flow our validation let
    through: the client's flow is at fault (422), not the service (500)."""
    if is_client_error(exc, "InvalidDefinition"):
        message = f"Step Functions refused the compiled state machine: {_message(exc)}"
        raise InvalidFlow([Problem("flow", message)]) from exc
