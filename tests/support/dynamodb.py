"""moto's DynamoDB in process, as it is or with the local stack's patches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws

from flow_manager_local import moto_dynamodb
from tests.support.sfn import FAKE_ENV, REGION


@contextmanager
def dynamodb_client(*, patched: bool) -> Iterator[Any]:
    """A DynamoDB client of a fresh moto, with `moto_dynamodb` installed if `patched`."""
    with mock.patch.dict(os.environ, FAKE_ENV), mock_aws():
        uninstall = moto_dynamodb.install() if patched else None
        try:
            yield boto3.client("dynamodb", region_name=REGION)
        finally:
            if uninstall is not None:
                uninstall()


def create_keyed_table(db: Any, name: str) -> None:
    """A table keyed as FlowsTable is: a string partition key `pk`, sort key `sk`."""
    db.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
