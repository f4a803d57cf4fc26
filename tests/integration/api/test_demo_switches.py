"""`context.demo`: the sample tasks' demo switches, checked when an execution starts
(DESIGN §11). Tests run with DemoSwitches=enabled (tests/conftest.py), as the local
stack does; a deployed stack's default is disabled."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain


def charge_flow() -> dict[str, Any]:
    return {
        "id": "billing",
        "name": "Billing",
        "start_task": "charge",
        "tasks": [{"name": "charge", "function": "fetch_data"}],
    }


def start(api: Api, flow_id: str, context: Any) -> Any:
    return api.request("POST", f"/flows/{flow_id}/executions", {"context": context})


def only_problem(answer: Any) -> dict[str, str]:
    assert answer.status == 422, answer.text
    assert answer.error_code == "InvalidContext"
    (problem,) = answer.body["error"]["details"]
    return dict(problem)


def test_a_demo_switch_for_an_unknown_task_is_refused_naming_the_closest_task(api: Api) -> None:
    # Given a flow whose only task is "charge"
    api.create(charge_flow())
    # When an execution is started with a switch for "chrage"
    answer = start(api, "billing", {"demo": {"chrage": {"fail": True}}})
    # Then it is refused at context.demo.chrage, with what was meant
    problem = only_problem(answer)
    assert problem["location"] == "context.demo.chrage"
    assert problem["message"] == "unknown task (did you mean 'charge'?)"
    assert "context.demo.chrage: unknown task (did you mean 'charge'?)" in answer.text


def test_a_misspelt_demo_switch_is_refused_naming_the_closest_switch(api: Api) -> None:
    api.create(chain())
    answer = start(api, "data_pipeline", {"demo": {"task1": {"fial": True}}})
    problem = only_problem(answer)
    assert problem["location"] == "context.demo.task1.fial"
    assert problem["message"] == "unknown switch (did you mean 'fail'?)"


def test_every_demo_problem_is_listed(api: Api) -> None:
    api.create(chain())
    answer = start(
        api, "data_pipeline", {"demo": {"task1": {"fial": True}, "taks2": {"fail": True}}}
    )
    assert answer.status == 422
    locations = [p["location"] for p in answer.body["error"]["details"]]
    assert locations == ["context.demo.task1.fial", "context.demo.taks2"]


@pytest.mark.parametrize("name", ["Lambda.ServiceException", "States.Timeout", "not a name"])
def test_raise_of_a_name_that_could_impersonate_aws_errors_is_refused_at_start(
    api: Api, name: str
) -> None:
    # Given a flow; When started with raise naming a Lambda/States error (or no name)
    api.create(chain())
    answer = start(api, "data_pipeline", {"demo": {"task1": {"raise": name}}})
    # Then the start is refused at that switch: nothing runs
    problem = only_problem(answer)
    assert problem["location"] == "context.demo.task1.raise"
    assert "no '.'" in problem["message"]
    listed = api.request("GET", "/flows/data_pipeline/executions").body["executions"]
    assert listed == []


@pytest.mark.parametrize(
    ("demo", "location"),
    [
        ({"task1": {"sleep_seconds": 901}}, "context.demo.task1.sleep_seconds"),
        ({"task1": {"fail_attempts": -1}}, "context.demo.task1.fail_attempts"),
        ({"task1": {"fail": 3}}, "context.demo.task1.fail"),
        ({"task1": True}, "context.demo.task1"),
        (["task1"], "context.demo"),
    ],
    ids=str,
)
def test_a_malformed_demo_value_is_refused_at_its_location(
    api: Api, demo: Any, location: str
) -> None:
    api.create(chain())
    assert only_problem(start(api, "data_pipeline", {"demo": demo}))["location"] == location


def test_a_valid_demo_switch_starts_and_takes_effect(api: Api) -> None:
    # Given a flow; When started with task2 told to fail
    api.create(chain())
    answer = start(api, "data_pipeline", {"demo": {"task2": {"fail": True}}})
    # Then it runs and fails at task2
    assert answer.status == 202, answer.text
    report = api.wait(answer.body["execution_id"])
    assert (report["status"], report["failed_task"]) == ("failed", "task2")


def test_context_demo_is_refused_when_the_stack_disables_demo_switches(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack deployed with the template's default, DemoSwitches=disabled
    monkeypatch.setenv("DEMO_SWITCHES", "disabled")
    api.module.reset()
    api.create(chain())
    # When an execution is started with a (valid) switch
    answer = start(api, "data_pipeline", {"demo": {"task2": {"fail": True}}})
    # Then it is refused, so nobody believes the switch acted
    problem = only_problem(answer)
    assert problem["location"] == "context.demo"
    assert "demo switches are disabled on this stack" in problem["message"]
    # And a context without demo starts as usual
    assert start(api, "data_pipeline", {"batch_id": "b1"}).status == 202


def test_the_seeds_run_route_checks_context_demo_too(api: Api) -> None:
    # Given an inline flow run by seed 000's route, with a misspelt task
    answer = api.request(
        "POST",
        "/flows/execute",
        {"flow_data": {"flow": chain()}, "context": {"demo": {"tsak1": {"fail": True}}}},
    )
    # Then the run is refused like a start
    problem = only_problem(answer)
    assert problem["location"] == "context.demo.tsak1"
    assert "did you mean 'task1'" in problem["message"]
