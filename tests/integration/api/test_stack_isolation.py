"""No flow reaches outside its stack (DESIGN §11): a flow's state machine is named
`<stack>_<flow id>`, so no flow id names another stack's machine, and a name this
service did not create is never taken over."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flow_manager import aws
from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain, renamed
from tests.support.sfn import REGION, ROLE_ARN

OTHER_DEFINITION = {
    "StartAt": "Wait",
    "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}},
}


def _sfn() -> Any:
    return aws.client("stepfunctions", REGION)


def _foreign_machine(name: str) -> str:
    """A state machine some other stack (or a person) made: no Flow Manager tag."""
    created = _sfn().create_state_machine(
        name=name, definition=json.dumps(OTHER_DEFINITION), roleArn=ROLE_ARN, type="STANDARD"
    )
    return str(created["stateMachineArn"])


def test_flow_prod_x_cannot_update_or_delete_the_machine_of_stack_flow_manager_prod(
    api: Api,
) -> None:
    # Given stack flow-manager-prod's machine as the old naming would have named
    # flow "prod-x" of stack flow-manager, with an execution running on it
    other = _foreign_machine("flow-manager-prod-x")
    running = _sfn().start_execution(stateMachineArn=other, name="theirs")["executionArn"]
    # When flow "prod-x" is created, updated, and force-deleted through this stack's API
    created = api.request("POST", "/flows", {"flow": chain("prod-x")})
    updated = api.request(
        "PUT", "/flows/prod-x", {"flow": renamed(chain("prod-x"), "B")}, headers={"If-Match": "1"}
    )
    deleted = api.request("DELETE", "/flows/prod-x?force=true")
    # Then each worked on the flow's own machine, flow-manager_prod-x
    assert (created.status, updated.status, deleted.status) == (201, 200, 204)
    assert created.body["state_machine_arn"].endswith(":stateMachine:flow-manager_prod-x")
    # And the other stack's machine is unchanged, its execution still running
    described = _sfn().describe_state_machine(stateMachineArn=other)
    assert json.loads(described["definition"]) == OTHER_DEFINITION
    assert _sfn().describe_execution(executionArn=running)["status"] == "RUNNING"
    _sfn().stop_execution(executionArn=running)


def test_a_flow_id_whose_machine_name_is_taken_by_another_machine_is_refused(api: Api) -> None:
    # Given a machine under the name flow "taken" would get, not made by Flow Manager
    other = _foreign_machine("flow-manager_taken")
    # When flow "taken" is created
    answer = api.request("POST", "/flows", {"flow": chain("taken")})
    # Then it is refused at flow.id, saying the id is reserved, and the machine is unchanged
    assert answer.status == 422, answer.text
    (problem,) = answer.body["error"]["details"]
    assert problem["location"] == "flow.id"
    assert "reserved" in problem["message"]
    assert "flow-manager_taken" in problem["message"]
    described = _sfn().describe_state_machine(stateMachineArn=other)
    assert json.loads(described["definition"]) == OTHER_DEFINITION
    assert api.request("GET", "/flows/taken").status == 404


def test_a_flow_named_after_the_sample_state_machine_gets_its_own_machine(api: Api) -> None:
    # Given the sample state machine as the local stack names it (<stack>-<LogicalId>)
    sample = _foreign_machine("flow-manager-SampleFlowStateMachine")
    # When a flow takes the sample's logical id as its id
    answer = api.request("POST", "/flows", {"flow": chain("SampleFlowStateMachine")})
    # Then it is created on a machine of its own, and the sample is untouched
    assert answer.status == 201, answer.text
    assert answer.body["state_machine_arn"].endswith(":flow-manager_SampleFlowStateMachine")
    described = _sfn().describe_state_machine(stateMachineArn=sample)
    assert json.loads(described["definition"]) == OTHER_DEFINITION


def test_a_create_that_finds_the_machine_it_made_earlier_takes_it_over(api: Api) -> None:
    # Given a create that made its (tagged) machine and then lost its DynamoDB items
    api.create(chain("retried"))
    api.module.reset()
    table = api.module.load_settings().flows_table
    dynamodb = aws.client("dynamodb", REGION)
    for item in dynamodb.scan(TableName=table)["Items"]:
        dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    # When the flow is created again, changed (its machine exists with another definition)
    answer = api.request("POST", "/flows", {"flow": renamed(chain("retried"), "B")})
    # Then the create takes over the machine it tagged and publishes the new definition
    assert answer.status == 201, answer.text
    assert answer.body["state_machine_version_arn"].endswith(":flow-manager_retried:2")


@pytest.mark.parametrize("prefix", ["flow-manager-", "flow_manager_", "flow-manager"])
def test_a_state_machine_prefix_that_is_not_a_stack_name_and_underscore_is_a_configuration_error(
    api: Api, monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    # Given a deployment whose prefix could overlap another stack's names
    monkeypatch.setenv("STATE_MACHINE_PREFIX", prefix)
    api.module.reset()
    # When a flow is created
    answer = api.request("POST", "/flows", {"flow": chain()})
    # Then nothing is created: the service says it is misconfigured
    assert answer.status == 500
    assert answer.error_code == "ConfigurationError"
    assert "state_machine_prefix" in answer.body["error"]["message"]


def test_a_31_character_stack_name_leaves_room_for_48_character_flow_ids(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack whose name has 31 characters
    monkeypatch.setenv("STATE_MACHINE_PREFIX", "s" * 31 + "_")
    api.module.reset()
    # When a flow with the longest id (48 characters) is created
    answer = api.request("POST", "/flows", {"flow": chain("f" * 48)})
    # Then its machine's name is exactly Step Functions' 80-character limit
    assert answer.status == 201, answer.text
    name = answer.body["state_machine_arn"].rsplit(":", 1)[-1]
    assert len(name) == 80
