"""policies.services_allowed: which SDK models a function's workers are given loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow_manager_local.policies import ANY_SERVICE, services_allowed
from flow_manager_local.template import read_stack

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_the_template_s_functions_get_the_services_their_policies_allow() -> None:
    # Given the stack's template
    # When its functions are read
    functions = {spec.logical_id: spec.services for spec in read_stack(TEMPLATE).functions.values()}
    # Then each has the services its Policies name
    assert functions["ApiFunction"] >= {"dynamodb", "s3", "stepfunctions", "scheduler"}
    assert functions["FetchDataFunction"] == {"s3"}
    assert functions["ProcessDataFunction"] == {"s3"}
    assert functions["StoreDataFunction"] == {"dynamodb", "s3"}
    assert functions["ApprovalFunction"] == {"dynamodb"}
    assert functions["PrintFunction"] == {"s3"}


@pytest.mark.parametrize(
    ("policies", "services"),
    [
        ([{"DynamoDBCrudPolicy": {"TableName": "T"}}], {"dynamodb"}),
        ([{"S3ReadPolicy": {"BucketName": "B"}}, "AWSLambdaBasicExecutionRole"], {"s3"}),
        ({"Statement": {"Effect": "Allow", "Action": "states:StartExecution"}}, {"stepfunctions"}),
        (
            [{"Statement": [{"Effect": "Allow", "Action": ["scheduler:GetSchedule", "S3:Get*"]}]}],
            {"scheduler", "s3"},
        ),
        ([{"Statement": [{"Effect": "Deny", "Action": "dynamodb:*"}]}], set()),
        ("arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess", set()),
        (None, set()),
        ({"Version": "2012-10-17", "Statement": [{"Action": "sqs:SendMessage"}]}, {"sqs"}),
        ([{"PolicyDocument": {"Statement": [{"Action": "dynamodb:GetItem"}]}}], {"dynamodb"}),
        (
            [{"Fn::If": ["HasTable", {"DynamoDBReadPolicy": {}}, {"S3ReadPolicy": {}}]}],
            {"dynamodb", "s3"},
        ),
        ([{"Statement": [{"Effect": "Allow", "Action": "*"}]}], {ANY_SERVICE}),
        ([{"Statement": [{"Effect": "Allow", "NotAction": "iam:*"}]}], {ANY_SERVICE}),
        ([{"Statement": [{"Action": {"Fn::Sub": "${Service}:Get*"}}]}], set()),
    ],
)
def test_a_policy_names_its_service_by_template_or_action(
    policies: object, services: set[str]
) -> None:
    # Given a function's Policies, as SAM takes them
    # When the services it allows are read
    allowed = services_allowed(policies)
    # Then they are the policy templates' and the allowed actions' services
    assert allowed == services
