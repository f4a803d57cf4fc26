"""The flow routes: create, validate, list, read, update (If-Match), definition, delete."""

from __future__ import annotations

from collections.abc import Callable

from flow_manager_local.client import ApiClient
from tests.e2e.support import flow_document, json_body, on_success, pipeline, task, unique


def test_create_answers_201_with_the_flow_its_etag_and_location(
    api: ApiClient, cleanup: list[str]
) -> None:
    # Given a new flow id
    flow_id = unique("create")
    cleanup.append(flow_id)
    # When the flow is posted
    response = api.post("/flows", pipeline(flow_id))
    # Then it is created at version 1, with where to find it
    assert response.status == 201, response.error_line()
    body = json_body(response)
    assert (body["flow_id"], body["version"], body["tasks"]) == (
        flow_id,
        1,
        ["task1", "task2", "task3"],
    )
    assert response.header("ETag") == '"1"'
    assert response.header("Location") == f"/flows/{flow_id}"


def test_posting_the_same_flow_again_answers_200(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a created flow
    flow_id = create_flow()
    # When the identical flow is posted again (a retried create)
    response = api.post("/flows", pipeline(flow_id))
    # Then it is found, not created twice
    assert response.status == 200
    assert json_body(response)["version"] == 1


def test_another_flow_under_an_existing_id_answers_409(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a created flow
    flow_id = create_flow()
    # When a different flow is posted under its id
    response = api.post("/flows", flow_document(flow_id, [task("only", "fetch_data")]))
    # Then it is refused as a conflict
    assert response.status == 409
    assert response.error["code"] == "FlowAlreadyExists"


def test_an_invalid_flow_answers_422_listing_every_problem_with_its_location(
    api: ApiClient,
) -> None:
    # Given a flow with a misspelt target and an unknown task kind
    document = flow_document(
        unique("invalid"),
        [task("task1"), task("task2"), task("task3", "no_such_kind")],
        [on_success("task1", "taks2"), on_success("task2", "task3")],
    )
    # When it is posted
    response = api.post("/flows", document)
    # Then both problems are reported, each where it is
    assert response.status == 422
    locations = {d["location"] for d in response.error["details"]}
    assert "flow.conditions[0].target_task_success" in locations
    assert any(location.startswith("flow.tasks[2]") for location in locations)


def test_validate_returns_the_compiled_definition_and_stores_nothing(api: ApiClient) -> None:
    # Given a valid flow that is not stored
    flow_id = unique("dry")
    # When it is validated
    report = json_body(api.post("/flows/validate", pipeline(flow_id)))
    # Then it is valid, compiled, and still unknown to the API
    assert report["valid"] is True
    assert {"task1", "task2", "task3"} <= set(report["definition"]["States"])
    assert api.get(f"/flows/{flow_id}").status == 404


def test_validate_lists_the_problems_of_an_invalid_flow(api: ApiClient) -> None:
    # Given a flow whose start task does not exist
    document = flow_document(unique("dry"), [task("task1")])
    document["flow"]["start_task"] = "nope"
    # When it is validated
    report = json_body(api.post("/flows/validate", document))
    # Then the verdict is invalid with the problem located
    assert report["valid"] is False
    assert [p["location"] for p in report["problems"]] == ["flow.start_task"]


def test_list_pages_through_the_flows(api: ApiClient, create_flow: Callable[..., str]) -> None:
    # Given two flows
    created = {create_flow(), create_flow()}
    # When the list is read one flow per page, following next_token
    seen: set[str] = set()
    token: str | None = None
    for _ in range(1000):
        page = json_body(api.get("/flows", query={"limit": "1", "next_token": token}))
        assert len(page["flows"]) <= 1
        seen.update(f["flow_id"] for f in page["flows"])
        token = page.get("next_token")
        if not token:
            break
    # Then both flows were listed
    assert created <= seen


def test_read_returns_the_flow_with_its_version_as_etag(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a created flow / When it is read
    flow_id = create_flow()
    response = api.get(f"/flows/{flow_id}")
    # Then it is the flow as posted, ETag its version
    assert response.status == 200
    assert json_body(response)["flow"]["start_task"] == "task1"
    assert response.header("ETag") == '"1"'


def test_reading_an_unknown_flow_answers_404(api: ApiClient) -> None:
    # Given no such flow / When it is read
    response = api.get(f"/flows/{unique('missing')}")
    # Then it is not found, by name
    assert response.status == 404
    assert response.error["code"] == "FlowNotFound"


def test_update_without_if_match_answers_428(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a created flow / When it is replaced without saying which version
    flow_id = create_flow()
    response = api.put(f"/flows/{flow_id}", flow_document(flow_id, [task("task1")]))
    # Then the precondition is required
    assert response.status == 428


def test_update_with_a_stale_if_match_answers_412(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a created flow at version 1 / When it is replaced as if it were at version 7
    flow_id = create_flow()
    document = flow_document(flow_id, [task("task1")])
    response = api.put(f"/flows/{flow_id}", document, headers={"If-Match": '"7"'})
    # Then the update is refused: someone else's version would be lost
    assert response.status == 412


def test_update_with_the_current_etag_publishes_version_2(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a created flow and its ETag
    flow_id = create_flow()
    current = api.get(f"/flows/{flow_id}").header("ETag") or ""
    # When it is replaced with a one-task flow
    document = flow_document(flow_id, [task("task1")])
    response = api.put(f"/flows/{flow_id}", document, headers={"If-Match": current})
    # Then the new definition is version 2
    assert response.status == 200, response.error_line()
    assert (json_body(response)["version"], json_body(response)["tasks"]) == (2, ["task1"])


def test_definition_returns_the_compiled_state_machine(
    api: ApiClient, create_flow: Callable[..., str]
) -> None:
    # Given a created flow / When its definition is read
    flow_id = create_flow()
    definition = json_body(api.get(f"/flows/{flow_id}/definition"))
    # Then it is the ASL of DESIGN §5, with the state machine it runs on
    states = definition["definition"]["States"]
    assert states["task1"]["Resource"] == "arn:aws:states:::lambda:invoke"
    assert states["after_task1"]["Type"] == "Choice"
    assert definition["state_machine_arn"].startswith("arn:aws:states:")


def test_delete_removes_the_flow(api: ApiClient, create_flow: Callable[..., str]) -> None:
    # Given a created flow / When it is deleted
    flow_id = create_flow()
    response = api.delete(f"/flows/{flow_id}")
    # Then it is gone
    assert response.status == 204
    assert api.get(f"/flows/{flow_id}").status == 404
