"""Unreachable tasks are warnings (DESIGN §3): accepted, left out, listed; strict refuses.

The HTTP answers are checked through ApiFunction; `strict` is the domain's argument
(Flows.create/update/check/ensure), which the routes' `?strict=true` passes on.
"""

from __future__ import annotations

from typing import Any

import pytest

from flow_manager.errors import InvalidFlow
from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain

WARNING = {
    "location": "flow.tasks[3]",
    "message": "task 'orphan' is not reachable from start_task 'task1'; "
    "it is left out of the state machine",
}


def with_orphan() -> dict[str, Any]:
    flow = chain()
    flow["tasks"].append({"name": "orphan", "function": "store_data"})
    return flow


def test_create_accepts_an_unreachable_task_and_lists_the_warning(api: Api) -> None:
    # Given a flow with a task no condition leads to
    # When it is created
    answer = api.request("POST", "/flows", {"flow": with_orphan()})
    # Then it is stored, with the located warning in the answer
    assert answer.status == 201, answer.text
    assert answer.body["warnings"] == [WARNING]
    # And the orphan has no state in the state machine
    definition = api.request("GET", "/flows/data_pipeline/definition").body["definition"]
    assert "orphan" not in definition["States"]


def test_a_repeated_create_lists_the_warning_again(api: Api) -> None:
    api.create(with_orphan())
    answer = api.request("POST", "/flows", {"flow": with_orphan()})
    assert answer.status == 200
    assert answer.body["warnings"] == [WARNING]


def test_validate_lists_the_warning_and_says_valid(api: Api) -> None:
    answer = api.request("POST", "/flows/validate", {"flow": with_orphan()})
    assert answer.status == 200
    assert answer.body["valid"] is True
    assert answer.body["warnings"] == [WARNING]


def test_update_lists_the_warning(api: Api) -> None:
    api.create(chain())
    answer = api.request(
        "PUT", "/flows/data_pipeline", {"flow": with_orphan()}, headers={"If-Match": '"1"'}
    )
    assert answer.status == 200, answer.text
    assert answer.body["warnings"] == [WARNING]


def test_a_flow_without_warnings_answers_an_empty_list(api: Api) -> None:
    assert api.request("POST", "/flows", {"flow": chain()}).body["warnings"] == []


def test_strict_create_refuses_the_flow_and_stores_nothing(api: Api) -> None:
    # Given the domain service the routes call
    service = api.module.flows()
    # When a flow with an unreachable task is created strictly
    with pytest.raises(InvalidFlow) as caught:
        service.create({"flow": with_orphan()}, strict=True)
    # Then the warning is the problem, and nothing was stored
    assert [(p.location, p.message) for p in caught.value.problems] == [
        (WARNING["location"], WARNING["message"])
    ]
    assert api.request("GET", "/flows/data_pipeline").status == 404


def test_strict_update_and_ensure_refuse_the_flow(api: Api) -> None:
    api.create(chain())
    service = api.module.flows()
    with pytest.raises(InvalidFlow):
        service.update("data_pipeline", {"flow": with_orphan()}, "*", strict=True)
    with pytest.raises(InvalidFlow):
        service.ensure({"flow": with_orphan()}, strict=True)
    assert api.request("GET", "/flows/data_pipeline").body["version"] == 1


def test_strict_check_reports_the_warning_as_a_problem(api: Api) -> None:
    report = api.module.flows().check({"flow": with_orphan()}, strict=True)
    assert report.valid is False
    assert [p.model_dump() for p in report.problems] == [WARNING]


def test_strict_query_on_create_answers_422_with_the_warning_and_stores_nothing(api: Api) -> None:
    # Given a flow with an unreachable task
    # When it is created with ?strict=true
    answer = api.request("POST", "/flows?strict=true", {"flow": with_orphan()})
    # Then the warning is refused as a problem, and nothing was stored
    assert answer.status == 422, answer.text
    assert answer.body["error"]["details"] == [WARNING]
    assert api.request("GET", "/flows/data_pipeline").status == 404


def test_strict_query_on_update_answers_422_and_keeps_the_version(api: Api) -> None:
    api.create(chain())
    answer = api.request(
        "PUT",
        "/flows/data_pipeline?strict=true",
        {"flow": with_orphan()},
        headers={"If-Match": '"1"'},
    )
    assert answer.status == 422, answer.text
    assert answer.body["error"]["details"] == [WARNING]
    assert api.request("GET", "/flows/data_pipeline").body["version"] == 1


def test_strict_query_on_validate_says_invalid(api: Api) -> None:
    answer = api.request("POST", "/flows/validate?strict=true", {"flow": with_orphan()})
    assert answer.status == 200
    assert answer.body["valid"] is False
    assert answer.body["problems"] == [WARNING]
