"""The local stack makes the template's S3 buckets as CloudFormation would
(local/flow_manager_local/template.py + provision.py)."""

from __future__ import annotations

import json
import os
from unittest import mock

import boto3
from moto import mock_aws

from flow_manager_local.provision import create_bucket
from flow_manager_local.template import read_stack
from tests.support.sfn import FAKE_ENV, REGION
from tests.support.template import TEMPLATE_PATH


def test_the_results_bucket_is_read_from_the_template_and_named_for_s3() -> None:
    # Given template.yaml
    # When the local stack reads it
    model = read_stack(TEMPLATE_PATH)
    # Then the ResultsBucket has a lower-case name, which every function is given
    bucket = model.buckets["ResultsBucket"]
    assert bucket.name == "flow-manager-resultsbucket"
    for function in model.functions.values():
        assert function.environment["RESULTS_BUCKET"] == bucket.name, function.logical_id


def test_the_results_bucket_is_created_with_its_expiry_encryption_and_access_block() -> None:
    bucket = read_stack(TEMPLATE_PATH).buckets["ResultsBucket"]
    with mock.patch.dict(os.environ, FAKE_ENV), mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        # When the local stack creates it
        create_bucket(s3, bucket, REGION)
        # Then it expires objects like execution history, encrypts, and blocks public access
        [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket.name)["Rules"]
        assert (rule["Status"], rule["Expiration"]["Days"]) == ("Enabled", 90)
        encryption = s3.get_bucket_encryption(Bucket=bucket.name)
        [sse] = encryption["ServerSideEncryptionConfiguration"]["Rules"]
        assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        block = s3.get_public_access_block(Bucket=bucket.name)["PublicAccessBlockConfiguration"]
        assert all(block.values())
        # And plain-HTTP access works locally (moto would apply the TLS-only Deny to all)
        s3.put_object(Bucket=bucket.name, Key="k", Body=b"{}")
        assert json.loads(s3.get_object(Bucket=bucket.name, Key="k")["Body"].read()) == {}
