"""What a client can get wrong about a request itself, and the one error body for all."""

from __future__ import annotations

import base64
import json

import pytest

from flow_manager.model import MAX_PAYLOAD_BYTES
from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain


def assert_error_body(body: object) -> None:
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], list)


def test_malformed_json_is_a_bad_request(api: Api) -> None:
    answer = api.request("POST", "/flows", raw_body='{"flow": {', headers=JSON)
    assert answer.status == 400
    assert answer.error_code == "MalformedJson"
    assert_error_body(answer.body)


def test_nan_is_not_json(api: Api) -> None:
    body = '{"context": {"x": NaN}}'
    api.create(chain())
    answer = api.request("POST", "/flows/data_pipeline/executions", raw_body=body, headers=JSON)
    assert answer.status == 400
    assert answer.error_code == "MalformedJson"


@pytest.mark.parametrize("number", ["1e400", "-1e400", "9" * 5000])
def test_a_number_step_functions_cannot_take_is_a_bad_request(api: Api, number: str) -> None:
    api.create(chain())
    body = '{"context": {"x": ' + number + "}}"
    answer = api.request("POST", "/flows/data_pipeline/executions", raw_body=body, headers=JSON)
    assert answer.status == 400
    assert answer.error_code == "MalformedJson"


def test_json_nested_too_deeply_is_a_bad_request(api: Api) -> None:
    body = '{"context": {"x": ' + "[" * 5000 + "]" * 5000 + "}}"
    api.create(chain())
    answer = api.request("POST", "/flows/data_pipeline/executions", raw_body=body, headers=JSON)
    assert answer.status == 400


def test_a_body_over_the_payload_limit_is_too_large(api: Api) -> None:
    # Given a body one byte over 256 KiB
    padding = "x" * MAX_PAYLOAD_BYTES
    # When it is posted
    answer = api.request("POST", "/flows", {"flow": chain(), "padding": padding})
    # Then 413, before anything looks inside
    assert answer.status == 413
    assert answer.error_code == "PayloadTooLarge"
    assert_error_body(answer.body)


def test_an_oversized_body_that_is_also_malformed_is_still_too_large(api: Api) -> None:
    answer = api.request("POST", "/flows", raw_body="{" * (MAX_PAYLOAD_BYTES + 1), headers=JSON)
    assert answer.status == 413


@pytest.mark.filterwarnings("ignore:Received multipart/form-data without base64")
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ],
)
def test_a_body_that_is_not_json_is_an_unsupported_media_type(api: Api, content_type: str) -> None:
    answer = api.request(
        "POST",
        "/flows",
        raw_body=json.dumps({"flow": chain()}),
        headers={"Content-Type": content_type},
    )
    assert answer.status == 415
    assert answer.error_code == "UnsupportedMediaType"
    assert_error_body(answer.body)


def test_json_with_a_charset_is_accepted(api: Api) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    answer = api.request("POST", "/flows", raw_body=json.dumps({"flow": chain()}), headers=headers)
    assert answer.status == 201


def test_a_base64_body_that_is_not_utf8_is_a_bad_request(api: Api) -> None:
    raw = base64.b64encode(b"\xff\xfe\x00garbage").decode()
    answer = api.request("POST", "/flows", raw_body=raw, base64_encoded=True, headers=JSON)
    assert answer.status == 400
    assert answer.error_code == "InvalidBody"


def test_a_body_flagged_base64_that_is_not_base64_is_a_bad_request(api: Api) -> None:
    answer = api.request(
        "POST", "/flows", raw_body="%%% not base64", base64_encoded=True, headers=JSON
    )
    assert answer.status == 400


def test_a_base64_json_body_is_read_like_a_plain_one(api: Api) -> None:
    raw = base64.b64encode(json.dumps({"flow": chain()}).encode()).decode()
    answer = api.request("POST", "/flows", raw_body=raw, base64_encoded=True, headers=JSON)
    assert answer.status == 201


def test_a_body_that_is_not_an_object_is_unprocessable(api: Api) -> None:
    answer = api.request("POST", "/flows", [1, 2, 3])
    assert answer.status == 422
    assert_error_body(answer.body)


def test_a_missing_flow_is_unprocessable(api: Api) -> None:
    answer = api.request("POST", "/flows", {})
    assert answer.status == 422
    assert answer.error_code == "InvalidFlow"


def test_an_unknown_route_is_not_found(api: Api) -> None:
    answer = api.request("GET", "/nothing/here")
    assert answer.status == 404
    assert answer.error_code == "RouteNotFound"
    assert_error_body(answer.body)


def test_a_wrong_method_is_not_allowed_and_says_what_is(api: Api) -> None:
    answer = api.request("PATCH", "/flows/data_pipeline")
    assert answer.status == 405
    assert answer.error_code == "MethodNotAllowed"
    assert answer.headers["allow"] == "DELETE, GET, PUT"
    assert_error_body(answer.body)


def test_an_unexpected_failure_answers_500_with_the_error_body(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bug somewhere below the route
    def broken(*_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(api.module.flows().store, "get_head", broken)
    # When a request reaches it
    answer = api.request("GET", "/flows/data_pipeline")
    # Then the client sees the same error body, without internals
    assert answer.status == 500
    assert answer.error_code == "InternalError"
    assert "bug" not in answer.text


def test_throttling_by_aws_is_service_unavailable(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    def throttled(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem"
        )

    store = api.module.flows().store
    monkeypatch.setattr(store._db, "get_item", throttled)
    answer = api.request("GET", "/flows/data_pipeline")
    assert answer.status == 503
    assert answer.error_code == "ServiceUnavailable"


JSON = {"Content-Type": "application/json"}
