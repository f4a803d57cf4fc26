"""The edges of a request, before any route logic: text that is not Unicode, media types,
path ids holding any character, If-Match forms. Each answer is a 4xx with the error body,
never a 5xx (issue 7, items 1-5)."""

from __future__ import annotations

import json

import pytest

from tests.integration.api.conftest import Answer, Api, proxy_event
from tests.integration.api.samples import chain, renamed

LONE = "\\ud800"  # as a client writes it in JSON: a surrogate escape without its pair
START_ROUTES = [
    "/flows/data_pipeline/executions",
    "/flows/execute",
    "/flow/execute",
    "/run-flow",
]
FLOW_ROUTES = ["/flows", "/flows/validate", "/flow/create"]


def at(api: Api, method: str, path: str, body: object = None, **options: object) -> Answer:
    """A request for exactly `path`, as API Gateway hands it over (decoded; urlsplit would
    drop a newline or split at "?")."""
    event = proxy_event(method, "/", body, **options)  # type: ignore[arg-type]
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    return api.invoke(event)


def raw(text: str, content_type: str = "application/json") -> dict[str, object]:
    return {"raw_body": text, "headers": {"Content-Type": content_type}}


def start_body(route: str, context_json: str) -> str:
    if route.startswith("/flows/data_pipeline"):
        return '{"context": ' + context_json + "}"
    return '{"flow_id": "data_pipeline", "context": ' + context_json + "}"


def flow_with_parameter_text(text_json: str) -> str:
    flow = chain(task1={"note": "PLACEHOLDER"})
    return json.dumps({"flow": flow}).replace('"PLACEHOLDER"', text_json)


# ---- 1. lone surrogates -------------------------------------------------------------


@pytest.mark.parametrize("route", START_ROUTES)
def test_a_lone_surrogate_in_the_context_is_a_bad_request_naming_where(
    api: Api, route: str
) -> None:
    # Given a flow, and a start request whose context holds "\ud800"
    api.create(chain())
    body = start_body(route, '{"a": "x' + LONE + '"}')
    # When it is sent
    answer = api.request("POST", route, **raw(body))
    # Then 400 MalformedJson, located, instead of a 500 while hashing the input
    assert answer.status == 400, answer.text
    assert answer.error_code == "MalformedJson"
    assert answer.body["error"]["details"][0]["location"] == "body.context.a"
    assert "lone surrogate" in answer.body["error"]["message"]


@pytest.mark.parametrize("route", [*FLOW_ROUTES, "/flows/data_pipeline"])
def test_a_lone_surrogate_in_task_parameters_is_a_bad_request_naming_where(
    api: Api, route: str
) -> None:
    api.create(chain())
    method = "PUT" if route == "/flows/data_pipeline" else "POST"
    headers = {"Content-Type": "application/json", "If-Match": "*"}
    body = flow_with_parameter_text('"' + LONE + '"')
    answer = api.request(method, route, raw_body=body, headers=headers)
    assert answer.status == 400, answer.text
    assert answer.error_code == "MalformedJson"
    location = answer.body["error"]["details"][0]["location"]
    assert location == "body.flow.tasks[0].parameters.note"


def test_a_lone_surrogate_in_a_key_is_a_bad_request_naming_its_object(api: Api) -> None:
    api.create(chain())
    body = '{"context": {"ok": {"' + LONE + '": 1}}}'
    answer = api.request("POST", "/flows/data_pipeline/executions", **raw(body))
    assert answer.status == 400, answer.text
    assert answer.body["error"]["details"][0]["location"] == "body.context.ok"


def test_a_lone_low_surrogate_is_refused_too(api: Api) -> None:
    api.create(chain())
    body = '{"context": {"a": ["fine", "\\udc00"]}}'
    answer = api.request("POST", "/flows/data_pipeline/executions", **raw(body))
    assert answer.status == 400, answer.text
    assert answer.body["error"]["details"][0]["location"] == "body.context.a[1]"


def test_a_surrogate_pair_is_an_ordinary_character(api: Api) -> None:
    # Given an emoji written as its UTF-16 surrogate pair
    api.create(chain())
    body = '{"context": {"a": "\\ud83d\\ude00"}}'
    # When an execution starts with it
    answer = api.request("POST", "/flows/data_pipeline/executions", **raw(body))
    # Then it is text like any other
    assert answer.status == 202, answer.text


def test_a_body_string_holding_a_raw_surrogate_is_a_bad_request(api: Api) -> None:
    # Given a hand-made event whose body text itself holds a surrogate (not an escape)
    api.create(chain())
    body = '{"context": {"a": "\ud800"}}'
    answer = api.request("POST", "/flows/data_pipeline/executions", **raw(body))
    assert answer.status == 400, answer.text
    assert answer.body["error"]["details"][0]["location"] == "body.context.a"


@pytest.mark.parametrize(
    ("header", "value"),
    [("Idempotency-Key", "key-\ud800"), ("If-Match", '"1\ud800"'), ("X-Other", "\udfff")],
)
def test_a_lone_surrogate_in_a_header_is_a_bad_request(api: Api, header: str, value: str) -> None:
    api.create(chain())
    answer = api.request(
        "POST", "/flows/data_pipeline/executions", {"context": {}}, headers={header: value}
    )
    assert answer.status == 400, answer.text
    assert answer.error_code == "InvalidParameter"
    assert answer.body["error"]["details"][0]["location"] == f"header.{header}"


def test_a_lone_surrogate_in_the_query_is_a_bad_request(api: Api) -> None:
    answer = api.request("GET", "/flows?next_token=a\ud800")
    assert answer.status == 400, answer.text
    assert answer.body["error"]["details"][0]["location"] == "query.next_token"


@pytest.mark.parametrize(
    "path", ["/flows/a\ud800", "/executions/\udc00", "/flows/x\ud800/definition"]
)
def test_a_lone_surrogate_in_the_path_is_a_bad_request(api: Api, path: str) -> None:
    answer = at(api, "GET", path)
    assert answer.status == 400, answer.text
    assert answer.error_code == "InvalidParameter"


# ---- 2 and 5. media types -----------------------------------------------------------


@pytest.mark.parametrize("route", [*FLOW_ROUTES, *START_ROUTES])
def test_multipart_without_a_boundary_is_an_unsupported_media_type(api: Api, route: str) -> None:
    # Given a body declared multipart/form-data with no boundary (Powertools' multipart
    # parser raises ValueError on it, which was a 500)
    answer = api.request("POST", route, **raw("{}", "multipart/form-data"))
    # Then 415 before anything parses the body
    assert answer.status == 415, answer.text
    assert answer.error_code == "UnsupportedMediaType"


def test_a_put_with_multipart_without_a_boundary_is_an_unsupported_media_type(
    api: Api,
) -> None:
    api.create(chain())
    answer = api.request(
        "PUT",
        "/flows/data_pipeline",
        raw_body="{}",
        headers={"Content-Type": "multipart/form-data", "If-Match": "*"},
    )
    assert answer.status == 415, answer.text


@pytest.mark.parametrize(
    "content_type",
    [
        "application/JSON",
        "Application/Json; charset=UTF-8",
        "application/vnd.api+json",
        "APPLICATION/PROBLEM+JSON",
    ],
)
def test_json_media_types_in_any_case_and_with_a_json_suffix_are_accepted(
    api: Api, content_type: str
) -> None:
    answer = api.request("POST", "/flows", **raw(json.dumps({"flow": chain()}), content_type))
    assert answer.status == 201, answer.text


def test_a_json_suffix_outside_application_is_not_json(api: Api) -> None:
    answer = api.request("POST", "/flows", **raw(json.dumps({"flow": chain()}), "text/x+json"))
    assert answer.status == 415


def test_an_unknown_route_with_a_body_of_another_type_is_not_found(api: Api) -> None:
    # The body of a request no route takes is nobody's business: the route is the problem
    answer = api.request("POST", "/nothing", **raw("x", "multipart/form-data"))
    assert answer.status == 404
    assert answer.error_code == "RouteNotFound"


# ---- 3. If-Match --------------------------------------------------------------------


def put(api: Api, if_match: str, name: str = "renamed") -> int:
    body = {"flow": renamed(chain(), name)}
    return api.request("PUT", "/flows/data_pipeline", body, headers={"If-Match": if_match}).status


@pytest.mark.parametrize(
    "if_match", ["¹", '"¹"', "\u0661", '"\u0663"', "²3", '"1', "1,", '"1" x', "0x1"]
)
def test_an_if_match_that_is_no_entity_tag_of_ours_is_a_bad_request(
    api: Api, if_match: str
) -> None:
    # Given a flow, and an If-Match with non-ASCII digits (str.isdigit and int take them)
    api.create(chain())
    # When it is updated with it
    status = put(api, if_match)
    # Then 400, not 500
    assert status == 400


@pytest.mark.parametrize("if_match", ['"1"', "1", ' "1" ', '"7", "1"', "*"])
def test_an_if_match_naming_the_current_version_updates(api: Api, if_match: str) -> None:
    api.create(chain())
    assert put(api, if_match) == 200


def test_a_weak_entity_tag_never_matches_if_match(api: Api) -> None:
    # RFC 9110 §13.1.1: If-Match uses the strong comparison; W/"1" matches nothing
    api.create(chain())
    answer = api.request(
        "PUT",
        "/flows/data_pipeline",
        {"flow": renamed(chain(), "x")},
        headers={"If-Match": 'W/"1"'},
    )
    assert answer.status == 412
    assert answer.error_code == "VersionConflict"
    assert api.request("GET", "/flows/data_pipeline").body["version"] == 1


def test_an_if_match_of_another_version_is_a_failed_precondition(api: Api) -> None:
    api.create(chain())
    assert put(api, '"2"') == 412


def test_a_missing_if_match_is_precondition_required(api: Api) -> None:
    api.create(chain())
    answer = api.request("PUT", "/flows/data_pipeline", {"flow": renamed(chain(), "x")})
    assert answer.status == 428
    assert answer.error_code == "PreconditionRequired"


# ---- 4. path ids holding any character ------------------------------------------------

ODD_IDS = ["a#b", "a\x00b", "a\nb", "a\\b", "a b", "😀", "a\ufffdb", "a%b", "a?b", "a\x7f"]
ID_ROUTES = [
    ("GET", "/flows/{}", "FlowNotFound"),
    ("PUT", "/flows/{}", "FlowNotFound"),
    ("DELETE", "/flows/{}", "FlowNotFound"),
    ("GET", "/flows/{}/definition", "FlowNotFound"),
    ("GET", "/flows/{}/executions", "FlowNotFound"),
    ("POST", "/flows/{}/executions", "FlowNotFound"),
    ("GET", "/executions/{}", "ExecutionNotFound"),
    ("DELETE", "/executions/{}", "ExecutionNotFound"),
    ("GET", "/flow/{}/status", "ExecutionNotFound"),
    ("DELETE", "/flow/{}", "ExecutionNotFound"),
]


@pytest.mark.parametrize(("method", "route", "code"), ID_ROUTES)
@pytest.mark.parametrize("odd", ODD_IDS)
def test_a_path_id_holding_any_character_reaches_its_route_and_is_not_found(
    api: Api, method: str, route: str, code: str, odd: str
) -> None:
    # Given an id no flow or execution can have (API Gateway hands it over decoded)
    body = {"flow": chain()} if method == "PUT" else ({} if method == "POST" else None)
    headers = {"If-Match": "*"} if method == "PUT" else None
    # When a route with a path parameter is asked for it
    answer = at(api, method, route.format(odd), body, headers=headers)
    # Then the route answers the truth: no such thing (not 405, not "no route")
    assert answer.status == 404, answer.text
    assert answer.error_code == code


def test_a_path_parameter_never_spans_a_slash(api: Api) -> None:
    answer = api.request("GET", "/flows/a/b")
    assert answer.status == 404
    assert answer.error_code == "RouteNotFound"


def test_a_trailing_newline_is_not_a_trailing_slash(api: Api) -> None:
    answer = at(api, "GET", "/flows\n")
    assert answer.status == 404, answer.text


# ---- one resource per path, whatever the method ---------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/flow/create", "POST"),
        ("GET", "/flows/validate", "POST"),
        ("PUT", "/flows/execute", "POST"),
    ],
)
def test_a_literal_path_is_its_own_resource(api: Api, method: str, path: str, allowed: str) -> None:
    # Given a literal path that a parameterised route would also match (/flow/{id})
    body: dict[str, object] | None = {} if method == "PUT" else None
    # When it is asked with a method only the parameterised route has
    answer = api.request(method, path, body)
    # Then it is the literal resource's 405, not the other route's answer
    assert answer.status == 405, answer.text
    assert answer.headers["allow"] == allowed


def test_a_parameterised_route_still_serves_other_ids(api: Api) -> None:
    answer = api.request("DELETE", "/flow/created")
    assert answer.status == 404
    assert answer.error_code == "ExecutionNotFound"


@pytest.mark.parametrize("key", ["", "x" * 256, "cl\u00e9", "a\tb"])
def test_an_idempotency_key_outside_printable_ascii_is_a_bad_request(api: Api, key: str) -> None:
    api.create(chain())
    headers = {"Idempotency-Key": key}
    answer = api.request("POST", "/flows/data_pipeline/executions", {}, headers=headers)
    assert answer.status == 400, answer.text
