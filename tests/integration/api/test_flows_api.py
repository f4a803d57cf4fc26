"""Flows through ApiFunction: create, read, list, update (versions), delete, validate."""

from __future__ import annotations

import json

import pytest

from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain, renamed, single


def test_create_answers_201_with_the_flow_its_location_and_etag(api: Api) -> None:
    # Given a valid flow
    # When it is created
    answer = api.request("POST", "/flows", {"flow": chain()})
    # Then it is stored as version 1 with its state machine version
    assert answer.status == 201
    assert answer.headers["location"] == "/flows/data_pipeline"
    assert answer.headers["etag"] == '"1"'
    assert answer.body["flow_id"] == "data_pipeline"
    assert answer.body["version"] == 1
    assert answer.body["tasks"] == ["task1", "task2", "task3"]
    version_arn = answer.body["state_machine_version_arn"]
    assert version_arn.endswith(":stateMachine:flow-manager_data_pipeline:1")
    assert answer.body["message"] == "Flow data_pipeline created successfully"


def test_created_flow_reads_back_as_it_was_sent(api: Api) -> None:
    # Given a created flow
    api.create(chain())
    # When it is read
    answer = api.request("GET", "/flows/data_pipeline")
    # Then its definition and version come back
    assert answer.status == 200
    assert answer.headers["etag"] == '"1"'
    assert answer.body["name"] == "Data processing flow"
    assert answer.body["flow"]["conditions"][1]["target_task_success"] == "task3"


def test_creating_another_flow_under_an_existing_id_is_a_conflict(api: Api) -> None:
    # Given a flow
    api.create(chain())
    # When a different flow is created under the same id
    answer = api.request("POST", "/flows", {"flow": renamed(chain(), "Other")})
    # Then the API refuses and the stored flow is unchanged
    assert answer.status == 409
    assert answer.error_code == "FlowAlreadyExists"
    assert api.request("GET", "/flows/data_pipeline").body["name"] == "Data processing flow"


def test_creating_the_same_flow_again_returns_it_without_a_new_version(api: Api) -> None:
    # Given a flow
    api.create(chain())
    # When exactly the same flow is created again (e.g. a retry after a lost answer)
    answer = api.request("POST", "/flows", {"flow": chain()})
    # Then the answer is the existing flow, still version 1
    assert answer.status == 200
    assert answer.body["version"] == 1


def test_an_invalid_flow_is_refused_with_every_problem_and_its_location(api: Api) -> None:
    # Given a flow with a dangling target, an unknown field and a duplicate task
    flow = chain()
    flow["conditions"][1]["target_task_success"] = "taks3"
    flow["tasks"][0]["timeout"] = 5
    flow["tasks"].append({"name": "task2"})
    # When it is created
    answer = api.request("POST", "/flows", {"flow": flow})
    # Then 422 lists each problem with where it is
    assert answer.status == 422
    assert answer.error_code == "InvalidFlow"
    locations = {d["location"] for d in answer.body["error"]["details"]}
    assert "flow.conditions[1].target_task_success" in locations
    assert "flow.tasks[0].timeout" in locations
    assert any("task2" in d["message"] for d in answer.body["error"]["details"])
    assert api.request("GET", "/flows/data_pipeline").status == 404


def test_a_flow_without_id_is_named_after_its_content(api: Api) -> None:
    # Given a flow without an id
    flow = chain(flow_id=None)
    # When it is created twice
    first = api.request("POST", "/flows", {"flow": flow})
    second = api.request("POST", "/flows", {"flow": flow})
    # Then both answers name the same generated flow
    assert first.status == 201
    assert second.status == 200
    assert first.body["flow_id"].startswith("flow-")
    assert second.body["flow_id"] == first.body["flow_id"]


def test_reading_an_unknown_flow_is_not_found(api: Api) -> None:
    answer = api.request("GET", "/flows/nope")
    assert answer.status == 404
    assert answer.error_code == "FlowNotFound"


def test_the_definition_is_the_compiled_state_machine(api: Api) -> None:
    # Given a flow
    api.create(chain())
    # When its definition is read
    answer = api.request("GET", "/flows/data_pipeline/definition")
    # Then it is the ASL of version 1, Choice states named after the conditions
    assert answer.status == 200
    assert answer.body["version"] == 1
    states = answer.body["definition"]["States"]
    assert states["condition_task1_result"]["Type"] == "Choice"
    assert answer.body["console_url"].startswith("https://us-east-1.console.aws.amazon.com/")


def test_the_list_pages_through_every_flow_once(api: Api) -> None:
    # Given five flows
    ids = [f"flow{n}" for n in range(5)]
    for flow_id in ids:
        api.create(single(flow_id))
    # When they are listed two at a time
    seen: list[str] = []
    path = "/flows?limit=2"
    pages = 0
    while True:
        answer = api.request("GET", path)
        assert answer.status == 200
        pages += 1
        seen += [f["flow_id"] for f in answer.body["flows"]]
        token = answer.body["next_token"]
        if token is None:
            break
        path = f"/flows?limit=2&next_token={token}"
    # Then every flow appears exactly once, in id order
    assert seen == sorted(ids)
    assert pages >= 3


def test_a_page_token_that_the_list_did_not_issue_is_a_bad_request(api: Api) -> None:
    answer = api.request("GET", "/flows?next_token=not-a-token")
    assert answer.status == 400
    assert answer.error_code == "InvalidPageToken"


def test_a_page_size_out_of_range_is_a_bad_request(api: Api) -> None:
    answer = api.request("GET", "/flows?limit=0")
    assert answer.status == 400
    assert answer.error_code == "InvalidParameter"


def test_put_with_the_current_version_publishes_the_next_version(api: Api) -> None:
    # Given a flow at version 1
    api.create(chain())
    # When a changed flow is PUT with If-Match: "1"
    answer = api.request(
        "PUT",
        "/flows/data_pipeline",
        {"flow": renamed(chain(), "Renamed")},
        headers={"If-Match": '"1"'},
    )
    # Then version 2 is current, with its own state machine version
    assert answer.status == 200
    assert answer.headers["etag"] == '"2"'
    assert answer.body["version"] == 2
    assert answer.body["state_machine_version_arn"].endswith(":2")
    assert api.request("GET", "/flows/data_pipeline").body["name"] == "Renamed"


def test_put_with_a_stale_version_is_a_failed_precondition(api: Api) -> None:
    # Given a flow that someone already moved to version 2
    api.create(chain())
    api.request(
        "PUT", "/flows/data_pipeline", {"flow": renamed(chain(), "B")}, headers={"If-Match": "1"}
    )
    # When another client PUTs a change based on version 1
    answer = api.request(
        "PUT", "/flows/data_pipeline", {"flow": renamed(chain(), "C")}, headers={"If-Match": '"1"'}
    )
    # Then it loses with 412 naming both versions
    assert answer.status == 412
    assert answer.error_code == "VersionConflict"
    assert answer.body["error"]["details"] == [{"expected_version": 1, "current_version": 2}]
    assert api.request("GET", "/flows/data_pipeline").body["name"] == "B"


def test_put_without_if_match_is_refused_as_precondition_required(api: Api) -> None:
    api.create(chain())
    answer = api.request("PUT", "/flows/data_pipeline", {"flow": renamed(chain(), "B")})
    assert answer.status == 428
    assert answer.error_code == "PreconditionRequired"


def test_put_with_if_match_star_replaces_whatever_is_current(api: Api) -> None:
    api.create(chain())
    answer = api.request(
        "PUT", "/flows/data_pipeline", {"flow": renamed(chain(), "B")}, headers={"If-Match": "*"}
    )
    assert answer.status == 200
    assert answer.body["version"] == 2


def test_a_retried_put_converges_on_the_version_it_made(api: Api) -> None:
    # Given a PUT that succeeded but whose answer was lost
    api.create(chain())
    change = {"flow": renamed(chain(), "B")}
    api.request("PUT", "/flows/data_pipeline", change, headers={"If-Match": '"1"'})
    # When the client retries it as it was
    answer = api.request("PUT", "/flows/data_pipeline", change, headers={"If-Match": '"1"'})
    # Then it gets the version its first attempt made, not a conflict or a version 3
    assert answer.status == 200
    assert answer.body["version"] == 2


def test_put_of_an_identical_flow_makes_no_new_version(api: Api) -> None:
    api.create(chain())
    answer = api.request(
        "PUT", "/flows/data_pipeline", {"flow": chain()}, headers={"If-Match": "1"}
    )
    assert answer.status == 200
    assert answer.body["version"] == 1


def test_put_cannot_move_a_flow_to_another_id(api: Api) -> None:
    api.create(chain())
    answer = api.request(
        "PUT", "/flows/data_pipeline", {"flow": chain("other")}, headers={"If-Match": "1"}
    )
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["location"] == "flow.id"


def test_put_cannot_change_the_type_of_a_flow(api: Api) -> None:
    api.create(chain())
    express = {**chain(), "type": "EXPRESS"}
    answer = api.request(
        "PUT", "/flows/data_pipeline", {"flow": express}, headers={"If-Match": "1"}
    )
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["location"] == "flow.type"


def test_put_of_an_unknown_flow_is_not_found(api: Api) -> None:
    answer = api.request("PUT", "/flows/nope", {"flow": chain("nope")}, headers={"If-Match": "1"})
    assert answer.status == 404


def test_a_malformed_if_match_is_a_bad_request(api: Api) -> None:
    api.create(chain())
    answer = api.request(
        "PUT", "/flows/data_pipeline", {"flow": chain()}, headers={"If-Match": "yesterday"}
    )
    assert answer.status == 400


def test_delete_removes_the_flow_and_its_state_machine(api: Api) -> None:
    # Given a flow
    created = api.create(chain())
    state_machine_arn = created.body["state_machine_arn"]
    # When it is deleted
    answer = api.request("DELETE", "/flows/data_pipeline")
    # Then it is gone from reads, lists and Step Functions
    assert answer.status == 204
    assert api.request("GET", "/flows/data_pipeline").status == 404
    assert api.request("GET", "/flows").body["flows"] == []
    machines = api.harness.client.list_state_machines()["stateMachines"]
    assert state_machine_arn not in [m["stateMachineArn"] for m in machines]


def test_a_deleted_flow_id_can_be_created_again(api: Api) -> None:
    api.create(chain())
    api.request("DELETE", "/flows/data_pipeline")
    answer = api.request("POST", "/flows", {"flow": renamed(chain(), "Again")})
    assert answer.status == 201
    assert answer.body["version"] == 1


def test_deleting_an_unknown_flow_is_not_found(api: Api) -> None:
    assert api.request("DELETE", "/flows/nope").status == 404


def test_validate_returns_the_compiled_state_machine_of_a_valid_flow(api: Api) -> None:
    answer = api.request("POST", "/flows/validate", {"flow": chain()})
    assert answer.status == 200
    assert answer.body["valid"] is True
    assert answer.body["definition"]["StartAt"] == "Start"
    assert api.request("GET", "/flows/data_pipeline").status == 404  # nothing stored


def test_validate_lists_the_problems_of_an_invalid_flow(api: Api) -> None:
    flow = chain()
    flow["start_task"] = "task9"
    answer = api.request("POST", "/flows/validate", {"flow": flow})
    assert answer.status == 200
    assert answer.body["valid"] is False
    assert [p["location"] for p in answer.body["problems"]] == ["flow.start_task"]


def test_a_task_kind_outside_the_catalog_is_an_invalid_flow(api: Api) -> None:
    flow = single("odd")
    flow["tasks"][0]["function"] = "send_email"
    answer = api.request("POST", "/flows", {"flow": flow})
    assert answer.status == 422
    assert "send_email" in json.dumps(answer.body["error"]["details"])


def test_the_catalog_lists_every_task_kind_with_its_function(api: Api) -> None:
    answer = api.request("GET", "/tasks")
    assert answer.status == 200
    kinds = {t["kind"]: t["function_arn"] for t in answer.body["tasks"]}
    assert kinds["fetch_data"].endswith(":function:flow-manager-fetch_data")
    assert "task1" not in kinds  # an alias, listed as one
    assert answer.body["aliases"]["task1"] == "fetch_data"


def test_the_catalog_gives_each_kind_its_aliases_description_and_parameters(api: Api) -> None:
    tasks = {t["kind"]: t for t in api.request("GET", "/tasks").body["tasks"]}
    fetch = tasks["fetch_data"]
    assert fetch["aliases"] == ["extract", "task1"]
    assert fetch["description"]
    assert {"records", "url", "count", "failure_rate", "fail"} <= set(
        fetch["parameters"]["properties"]
    )
    assert tasks["print"]["parameters"]["properties"]["message"]["anyOf"][0] == {"type": "string"}


def test_a_flow_id_too_long_for_the_deployments_state_machine_names_is_invalid(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment whose state machine prefix leaves 30 characters for the id
    monkeypatch.setenv("STATE_MACHINE_PREFIX", "p" * 49 + "_")
    api.module.reset()
    # When a flow with a 40-character id is created
    answer = api.request("POST", "/flows", {"flow": chain("x" * 40)})
    # Then it is refused as an invalid flow, saying how long an id may be
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["location"] == "flow.id"
    assert "at most 30 characters" in answer.body["error"]["details"][0]["message"]
