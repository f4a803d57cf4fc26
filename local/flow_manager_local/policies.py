"""Which AWS services a function's `Policies` let it call (boto3's service names).

The local stack does not enforce IAM; it reads the policies only to know which SDK
models a function's workers will load, so that its template loads just those, once, for
all of them (`runtime._prime`). A function whose policies allow none (PrintFunction)
loads none.

A SAM policy template (`DynamoDBWritePolicy: {...}`) names its service; an inline
statement's `Action` names it before the colon (`states:StartExecution`). Both branches
of an `Fn::If` count. `Action: "*"` and `NotAction` may allow any service (ANY_SERVICE).
A managed policy (a name or an ARN) says nothing here, and `Deny` allows nothing. A
wrong answer costs memory (a model loaded for nothing) or a first call's time (one
loaded then), never a call.
"""

from __future__ import annotations

from typing import Any

ANY_SERVICE = "*"
# IAM's service prefix → boto3's name, where they differ.
_BOTO3_NAMES = {"states": "stepfunctions"}
# SAM policy templates, by the start of their names.
_TEMPLATE_PREFIXES = {
    "DynamoDB": "dynamodb",
    "S3": "s3",
    "StepFunctions": "stepfunctions",
    "SQS": "sqs",
    "SNS": "sns",
    "SES": "ses",
    "KMS": "kms",
    "SSMParameter": "ssm",
    "AWSSecretsManager": "secretsmanager",
    "EventBridge": "events",
    "Kinesis": "kinesis",
    "Lambda": "lambda",
}


def services_allowed(policies: Any) -> frozenset[str]:
    """The services `Policies` (one policy or a list, as SAM takes them) allow calls to."""
    found: set[str] = set()
    for policy in _alternatives(policies):
        if not isinstance(policy, dict):
            continue  # a managed policy's name or ARN
        for key, value in policy.items():
            if key == "Statement":
                found.update(_statement_services(value))
            elif key == "PolicyDocument" and isinstance(value, dict):
                found.update(_statement_services(value.get("Statement")))
            else:
                found.update(
                    service
                    for prefix, service in _TEMPLATE_PREFIXES.items()
                    if isinstance(key, str) and key.startswith(prefix)
                )
    return frozenset(found)


def _statement_services(statements: Any) -> set[str]:
    found: set[str] = set()
    for statement in _alternatives(statements):
        if not isinstance(statement, dict) or statement.get("Effect", "Allow") != "Allow":
            continue
        if "NotAction" in statement:
            found.add(ANY_SERVICE)
        for action in _alternatives(statement.get("Action", [])):
            if action == "*":
                found.add(ANY_SERVICE)
            elif isinstance(action, str) and ":" in action:
                prefix = action.split(":", 1)[0].lower()
                found.add(_BOTO3_NAMES.get(prefix, prefix))
    return found


def _alternatives(value: Any) -> list[Any]:
    """A list's items, both branches of an `Fn::If` (either may be the one deployed), or
    the value itself."""
    if isinstance(value, list):
        return [item for each in value for item in _alternatives(each)]
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        branches = value["Fn::If"]
        if isinstance(branches, list) and len(branches) == 3:
            return _alternatives(branches[1]) + _alternatives(branches[2])
    return [value]
