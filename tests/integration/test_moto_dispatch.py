"""moto_dispatch: the local stack's moto server answers the hot services' requests without
Flask, byte for byte as moto's Flask apps answer them, and leaves the rest to Flask."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from flask import Flask
from moto import mock_aws
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from flow_manager_local.moto_dispatch import LeanDispatcher

# Only the scope matters to moto's server: it routes by it and checks no signature.
SCOPE = "AWS4-HMAC-SHA256 Credential=testing/20261203/us-east-1/{}/aws4_request, "
AUTH = SCOPE + "SignedHeaders=host;x-amz-date, Signature=0"
# What differs between any two answers: request ids and the time (and so a body's
# checksum and length, checked apart); and moto's CORS header, for browsers (a request
# with an Origin gets it).
VARYING = {
    "content-length",
    "date",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amz-id-2",
    "last-modified",
    "x-amz-crc32",
    "access-control-allow-origin",
}
SCRUBBED = (
    (re.compile(rb"<RequestId>[^<]*</RequestId>"), b"<RequestId/>"),
    (re.compile(rb'"CreationDateTime": [0-9.]+'), b'"CreationDateTime": 0'),
    (re.compile(rb"<LastModified>[^<]*</LastModified>"), b"<LastModified/>"),
)


def json_api(scope: str, target: str, body: dict[str, Any]) -> dict[str, Any]:
    """A JSON-protocol call (DynamoDB, Step Functions): POST / naming its operation."""
    return {
        "method": "POST",
        "path": "/",
        "headers": {
            "Authorization": AUTH.format(scope),
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
        },
        "data": json.dumps(body),
    }


def dynamodb(action: str, body: dict[str, Any]) -> dict[str, Any]:
    return json_api("dynamodb", f"DynamoDB_20120810.{action}", body)


def states(action: str, body: dict[str, Any]) -> dict[str, Any]:
    return json_api("states", f"AWSStepFunctions.{action}", body)


def s3(method: str, path: str, data: bytes = b"", /, **headers: str) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "headers": {"Authorization": AUTH.format("s3"), **headers},
        "data": data,
    }


KEY = {"pk": {"S": "a"}}
REQUESTS = [
    dynamodb(
        "CreateTable",
        {
            "TableName": "t",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    ),
    dynamodb("PutItem", {"TableName": "t", "Item": {**KEY, "n": {"N": "1"}}}),
    dynamodb("GetItem", {"TableName": "t", "Key": KEY}),
    dynamodb(
        "PutItem",
        {"TableName": "t", "Item": KEY, "ConditionExpression": "attribute_not_exists(pk)"},
    ),
    dynamodb("GetItem", {"TableName": "missing", "Key": KEY}),
    states("ListStateMachines", {}),
    states("DescribeExecution", {"executionArn": "arn:aws:states:us-east-1:1:execution:x:y"}),
    s3("PUT", "/bucket"),
    s3("PUT", "/bucket/a%20key.json", b'{"x": 1}', **{"Content-Type": "application/json"}),
    s3("GET", "/bucket/a%20key.json"),
    s3("HEAD", "/bucket/a%20key.json"),
    s3("GET", "/bucket/missing"),
    s3("GET", "/bucket", **{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}),
    s3("GET", "/bucket?list-type=2&prefix=a"),
    # A presigned PUT whose Content-Type is not the one signed: moto raises its own
    # (werkzeug) error, outside the handler's try, for Flask to answer.
    {
        "method": "PUT",
        "path": "/bucket/signed.json?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=testing%2F20261203%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Signature=0&content-type=text%2Fplain",
        "headers": {"Content-Type": "application/json"},
        "data": b"{}",
    },
    s3("DELETE", "/bucket/a%20key.json"),
    s3("GET", "/no-bucket/key"),
]


def answers(app: Any) -> list[tuple[int, dict[str, str], bytes]]:
    """Each request's status, stable headers and body, from a fresh moto."""
    moto_api_backend.reset()
    client = Client(app)
    seen = []
    for request in REQUESTS:
        response = client.open(**request)
        headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in VARYING}
        body = response.get_data()
        if request["method"] != "HEAD" and "Content-Length" in response.headers:
            assert int(response.headers["Content-Length"]) == len(body)
        for pattern, replacement in SCRUBBED:
            body = pattern.sub(replacement, body)
        seen.append((response.status_code, headers, body))
    return seen


@pytest.fixture
def moto_backends() -> Iterator[None]:
    with mock_aws():
        yield


def test_the_hot_services_are_answered_as_moto_s_flask_apps_answer_them(
    moto_backends: None,
) -> None:
    # Given moto's own server app, and the local stack's
    flask = DomainDispatcherApplication(create_backend_app)
    lean = LeanDispatcher(DomainDispatcherApplication(create_backend_app))
    # When both answer the same DynamoDB, Step Functions and S3 requests, errors included
    expected = answers(flask)
    with mock.patch("flask.Flask.full_dispatch_request", side_effect=AssertionError("Flask")):
        seen = answers(lean)
    # Then every status, header and body is the same, and Flask answered none of them
    assert [status for status, _, _ in seen] == [status for status, _, _ in expected]
    assert 403 in [status for status, _, _ in seen]  # the presigned PUT, refused
    assert seen == expected


def test_other_services_are_still_answered_by_flask(moto_backends: None) -> None:
    # Given the local stack's server app
    lean = LeanDispatcher(DomainDispatcherApplication(create_backend_app))
    client = Client(lean)
    # When moto's own API and an SQS request come
    with mock.patch.object(
        Flask, "full_dispatch_request", autospec=True, side_effect=Flask.full_dispatch_request
    ) as flask_dispatch:
        reset = client.post("/moto-api/reset")
        queues = client.post(
            "/",
            headers={
                "Authorization": AUTH.format("sqs"),
                "X-Amz-Target": "AmazonSQS.ListQueues",
                "Content-Type": "application/x-amz-json-1.0",
            },
            data="{}",
        )
    # Then moto's Flask apps answer them
    assert (reset.status_code, queues.status_code) == (200, 200)
    assert json.loads(queues.get_data()) == {}
    assert flask_dispatch.call_count == 2


def test_a_browser_s_request_gets_moto_s_cors_headers(moto_backends: None) -> None:
    # Given the local stack's server app
    client = Client(LeanDispatcher(DomainDispatcherApplication(create_backend_app)))
    # When a page's script asks S3 for a bucket (a request with an Origin)
    answer = client.open(**s3("GET", "/bucket", Origin="http://127.0.0.1:3000"))
    # Then moto's Flask app answers it, with its CORS header
    assert answer.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"
