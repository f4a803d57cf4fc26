"""Create the template's resources in moto, as CloudFormation would create them in AWS.

Order matters as it does for CloudFormation: roles before the functions and state
machines that assume them, the layer before the functions. Lambda functions are
created with a stub package: their code runs in the local stack's workers, moto only
has to know them so that their ARNs exist for the API and the state machines.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flow_manager_local.template import BucketSpec, StackModel, TableSpec

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

import boto3
from botocore.config import Config

STUB_CODE = "def lambda_handler(event, context):\n    raise RuntimeError('runs in a worker')\n"


def stub_package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", STUB_CODE)
    return buffer.getvalue()


class Clients:
    """boto3 clients for moto's endpoint, with fake credentials (never the user's)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            region_name=region,
        )
        config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)
        # No IAM stubs are installed; the two calls made here are simple enough.
        self.iam: Any = session.client("iam", endpoint_url=endpoint_url, config=config)
        self.dynamodb: DynamoDBClient = session.client(
            "dynamodb", endpoint_url=endpoint_url, config=config
        )
        self.awslambda: LambdaClient = session.client(
            "lambda", endpoint_url=endpoint_url, config=config
        )
        self.sfn: SFNClient = session.client(
            "stepfunctions", endpoint_url=endpoint_url, config=config
        )
        self.s3: S3Client = session.client("s3", endpoint_url=endpoint_url, config=config)
        self.scheduler: Any = session.client("scheduler", endpoint_url=endpoint_url, config=config)


def provision(model: StackModel, clients: Clients) -> list[str]:
    """Create every resource of `model`; return one line per resource, for the banner."""
    created: list[str] = []
    for role in model.roles.values():
        clients.iam.create_role(
            RoleName=role.name,
            Path=role.path,
            AssumeRolePolicyDocument=json.dumps(role.assume_role_policy),
        )
        for policy_name, document in role.inline_policies.items():
            clients.iam.put_role_policy(
                RoleName=role.name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )
        created.append(f"role           {role.name}")
    for table in model.tables.values():
        create_table(clients.dynamodb, table)
        created.append(f"table          {table.name}")
    for bucket in model.buckets.values():
        create_bucket(clients.s3, bucket, model.settings.region)
        created.append(f"bucket         {bucket.name}")
    package = stub_package()
    for layer in model.layers.values():
        published = clients.awslambda.publish_layer_version(
            LayerName=layer.name, Content={"ZipFile": package}
        )
        created.append(f"layer          {published['LayerVersionArn']}")
    for function in model.functions.values():
        clients.awslambda.create_function(
            FunctionName=function.name,
            Runtime=function.runtime,  # type: ignore[arg-type]
            Role=function.role_arn,
            Handler=function.handler,
            Code={"ZipFile": package},
            Timeout=function.timeout,
            MemorySize=function.memory_size,
            Environment={"Variables": dict(function.environment)},
        )
        created.append(f"function       {function.name} (timeout {function.timeout} s)")
    for machine in model.state_machines.values():
        clients.sfn.create_state_machine(
            name=machine.name,
            definition=machine.definition,
            roleArn=machine.role_arn,
            type=machine.type,  # type: ignore[arg-type]
        )
        created.append(f"state machine  {machine.name}")
    for group in model.schedule_groups.values():
        clients.scheduler.create_schedule_group(Name=group)
        created.append(f"schedule group {group}")
    return created


def create_table(client: DynamoDBClient, table: TableSpec) -> None:
    """CloudFormation's table Properties → CreateTable (+ TTL, PITR) in moto."""
    client.create_table(**_create_table_request(table))
    properties = table.properties
    ttl = properties.get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
        client.update_time_to_live(
            TableName=table.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    pitr = properties.get("PointInTimeRecoverySpecification") or {}
    if pitr.get("PointInTimeRecoveryEnabled") in (True, "true"):
        client.update_continuous_backups(
            TableName=table.name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def create_bucket(client: S3Client, bucket: BucketSpec, region: str) -> None:
    """CloudFormation's bucket Properties (+ its BucketPolicy) → S3 calls in moto.

    moto keeps but does not enforce encryption or public access blocks; they are applied
    anyway so that a template moto cannot take fails here. moto does evaluate bucket
    policies, without their conditions (see _local_policy).
    """
    request: dict[str, Any] = {"Bucket": bucket.name}
    if region != "us-east-1":  # us-east-1 refuses its own name as a location constraint
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(**request)
    properties = bucket.properties
    if "BucketEncryption" in properties:
        client.put_bucket_encryption(
            Bucket=bucket.name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    _encryption_rule(rule)
                    for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if "PublicAccessBlockConfiguration" in properties:
        client.put_public_access_block(
            Bucket=bucket.name,
            PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"],
        )
    if "OwnershipControls" in properties:
        client.put_bucket_ownership_controls(
            Bucket=bucket.name, OwnershipControls=properties["OwnershipControls"]
        )
    rules = (properties.get("LifecycleConfiguration") or {}).get("Rules") or []
    if rules:
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket.name,
            LifecycleConfiguration={"Rules": [_lifecycle_rule(rule) for rule in rules]},
        )
    for document in bucket.policies:
        local = _local_policy(document)
        if local is not None:
            client.put_bucket_policy(Bucket=bucket.name, Policy=json.dumps(local))


def _local_policy(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The policy without its TLS-only statements: the local stack serves plain HTTP on
    loopback, and moto ignores a statement's Condition, so `Deny unless
    aws:SecureTransport` would deny every request. None when nothing is left."""
    statements = document.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    kept = [s for s in statements if "aws:SecureTransport" not in json.dumps(s.get("Condition"))]
    return {**document, "Statement": kept} if kept else None


def _encryption_rule(rule: Mapping[str, Any]) -> Any:
    """CloudFormation's ServerSideEncryptionByDefault is the API's Apply...ByDefault."""
    converted: dict[str, Any] = {
        "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]
    }
    if "BucketKeyEnabled" in rule:
        converted["BucketKeyEnabled"] = rule["BucketKeyEnabled"] in (True, "true")
    return converted


def _lifecycle_rule(rule: Mapping[str, Any]) -> Any:
    """CloudFormation's rule shape → S3 API's (the names differ)."""
    converted: dict[str, Any] = {"Status": rule.get("Status", "Enabled"), "Filter": {}}
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    if "Prefix" in rule:
        converted["Filter"] = {"Prefix": rule["Prefix"]}
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort:
        converted["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(abort["DaysAfterInitiation"])
        }
    return converted


def _create_table_request(table: TableSpec) -> dict[str, Any]:
    properties: Mapping[str, Any] = table.properties
    if table.simple:
        key = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        kind = {"String": "S", "Number": "N", "Binary": "B"}[str(key.get("Type", "String"))]
        return {
            "TableName": table.name,
            "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
            "BillingMode": "PAY_PER_REQUEST",
        }
    request: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for key in (
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "ProvisionedThroughput",
        "TableClass",
    ):
        if key in properties:
            request[key] = properties[key]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, **stream}
    tags = [t for t in properties.get("Tags") or [] if isinstance(t.get("Value"), str)]
    if tags:
        request["Tags"] = tags
    # SSE with a customer key: moto's default encryption behaves the same for the API.
    return request
