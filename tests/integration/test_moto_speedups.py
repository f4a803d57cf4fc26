"""moto_speedups: moto's interpreter parses a definition, a JSONPath and makes a Lambda
client once, not once per execution, and executions still keep their own state."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError

from flow_manager_local import moto_speedups
from tests.support.sfn import REGION, LambdaContext, SfnHarness, lambda_task

RETRIED = json.dumps(
    {
        "StartAt": "Work",
        "States": {
            "Work": lambda_task(
                "work",
                ResultSelector={"value.$": "$.Payload"},
                ResultPath="$.result",
                Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                End=True,
            )
        },
    }
)


TABLE = "speedups"
READS_AN_ITEM = json.dumps(
    {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": TABLE, "Key": {"pk": {"S.$": "$.pk"}}},
                "ResultPath": "$.read",
                "End": True,
            }
        },
    }
)


@pytest.fixture
def speedups(sfn: SfnHarness) -> Iterator[SfnHarness]:
    uninstall = moto_speedups.install()
    try:
        yield sfn
    finally:
        uninstall()


def fails_once_per_run(sfn: SfnHarness) -> None:
    """`work` raises on the first attempt of each run (its input's "run") and then succeeds."""
    seen: set[str] = set()
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        with lock:
            first = event["run"] not in seen
            seen.add(event["run"])
        if first:
            raise RuntimeError(f"first attempt of {event['run']}")
        return {"run": event["run"]}

    sfn.register("work", handler)


def test_a_definition_is_parsed_once_for_all_its_executions(speedups: SfnHarness) -> None:
    # Given a state machine, created while the speedups are installed
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser

    fails_once_per_run(speedups)
    arn = speedups.create_state_machine(RETRIED)
    # When three executions run
    with mock.patch.object(ASLParser, "state_machine", autospec=True) as parse:
        runs = [speedups.wait(speedups.start(arn, {"run": str(i)})) for i in range(3)]
    # Then all completed, and none parsed the definition again
    assert [run.status for run in runs] == ["SUCCEEDED"] * 3
    assert parse.call_count == 0


def test_executions_of_one_parsed_definition_keep_their_own_retry_attempts(
    speedups: SfnHarness,
) -> None:
    # Given a task that fails on each execution's first attempt, retried once
    fails_once_per_run(speedups)
    arn = speedups.create_state_machine(RETRIED)
    # When two executions of the same (cached) definition run, one after the other
    first = speedups.wait(speedups.start(arn, {"run": "a"}))
    second = speedups.wait(speedups.start(arn, {"run": "b"}))
    # Then each had its own retry: the first one's attempt did not use up the second's
    assert (first.status, first.attempts) == ("SUCCEEDED", {"Work": 2})
    assert (second.status, second.attempts) == ("SUCCEEDED", {"Work": 2})
    assert second.output == {"run": "b", "result": {"value": {"run": "b"}}}


def test_a_definition_that_does_not_parse_is_refused_every_time(speedups: SfnHarness) -> None:
    # Given a definition moto cannot parse
    broken = '{"StartAt": 1}'
    # When it is offered twice, Then it is refused both times (no failure is cached)
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            speedups.create_state_machine(broken)
        # (moto 5.2.5 sends InvalidDefinition without its code; the message says it)
        assert "ASLParserException" in refused.value.response["Error"]["Message"]


def test_a_json_path_and_an_sdk_client_are_made_once(speedups: SfnHarness) -> None:
    # Given one execution has run: it parsed its JSONPaths and made a DynamoDB client
    # (a flow's Lambda invokes reach the dispatcher without a client: moto_lambda)
    from jsonpath_ng.ext.parser import ExtendedJsonPathParser

    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = speedups.create_state_machine(READS_AN_ITEM)
    speedups.wait(speedups.start(arn, {"pk": "warm"}))
    # When another runs
    real_client = boto3.session.Session.client
    with (
        mock.patch.object(
            ExtendedJsonPathParser, "__init__", autospec=True, side_effect=AssertionError
        ) as new_parser,
        mock.patch.object(
            boto3.session.Session, "client", autospec=True, side_effect=real_client
        ) as new_client,
    ):
        run = speedups.wait(speedups.start(arn, {"pk": "again"}))
    # Then it completed without building a JSONPath parser or a DynamoDB client
    assert run.status == "SUCCEEDED", run.cause
    assert new_parser.call_count == 0
    made = [(*c.args, *c.kwargs.values()) for c in new_client.call_args_list]
    assert [arguments for arguments in made if "dynamodb" in arguments] == []


def test_moto_s_server_finds_a_backend_without_listing_its_package(speedups: SfnHarness) -> None:
    # Given moto's server application, as the local stack serves it
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    # When it finds the backend of a request while its package cannot be listed
    with mock.patch("os.listdir", side_effect=AssertionError("listed moto's package")):
        found = app.get_backend_for_host("dynamodb")
        modules = list(backends.list_of_moto_modules())
    # Then it finds it from the list read once
    assert found == "dynamodb"
    assert {"dynamodb", "stepfunctions", "s3"} <= set(modules)


def test_moto_answers_a_request_without_listing_its_response_class(speedups: SfnHarness) -> None:
    # Given a request moto answered once (its response class's actions are known)
    tables = boto3.client("dynamodb", region_name=REGION)
    tables.list_tables()
    # When it answers more while listing a class's members would fail
    with mock.patch("inspect.getmembers", side_effect=AssertionError("listed a class")):
        listed = tables.list_tables()
        missing = tables.describe_table  # an action of the same class, not asked yet
        with pytest.raises(ClientError):
            missing(TableName="nothing")
    # Then they are answered from the actions listed once
    assert listed["TableNames"] == []


def test_botocore_parses_a_service_model_once_for_every_loader_of_its_kind() -> None:
    # Given the models shared, and two loaders (a client's and moto's session's)
    from botocore.loaders import JSONFileLoader, create_loader

    reads_a_file = vars(JSONFileLoader)["_load_file"]  # private: not in botocore's stubs
    uninstall = moto_speedups.share_service_models()
    try:
        with mock.patch.object(
            JSONFileLoader, "_load_file", autospec=True, side_effect=reads_a_file
        ) as read:
            # When both load the same service model
            first = create_loader().load_service_model("stepfunctions", "service-2")
            second = create_loader().load_service_model("stepfunctions", "service-2")
    finally:
        uninstall()
    # Then the file was read and parsed once (each of its forms tried once: .json, .gz),
    # and both have the whole model
    files = [call.args[1] for call in read.call_args_list if "/service-2.json" in call.args[1]]
    assert files
    assert len(files) == len(set(files)), files
    assert second is first
    assert "StartExecution" in first["operations"]


def test_moto_s_loader_and_botocore_s_share_a_model_neither_adds_extras_to() -> None:
    # Given the models shared, and Step Functions' model, which has no extras
    from botocore.loaders import create_loader
    from moto.core.loaders import create_loader as create_moto_loader

    uninstall = moto_speedups.share_service_models()
    try:
        # When moto's loader and botocore's both load it, and the endpoints' data
        models = [
            loader().load_service_model("stepfunctions", "service-2")
            for loader in (create_moto_loader, create_loader)
        ]
        endpoints = [
            loader().load_data("endpoints") for loader in (create_moto_loader, create_loader)
        ]
    finally:
        uninstall()
    # Then each was parsed once, for both
    assert models[0] is models[1]
    assert endpoints[0] is endpoints[1]
    assert "StartExecution" in models[0]["operations"]


@pytest.mark.parametrize("moto_first", [True, False])
def test_moto_s_loader_and_botocore_s_keep_their_own_extras(moto_first: bool) -> None:
    # Given the models shared, and S3's, which botocore's sdk-extras change (Expires is
    # a timestamp) and moto's loader does not
    from botocore.loaders import create_loader
    from moto.core.loaders import create_loader as create_moto_loader

    uninstall = moto_speedups.share_service_models()
    try:
        # When both load it, in either order
        loaders = [create_moto_loader(), create_loader()]
        if not moto_first:
            loaders.reverse()
        loaded = {
            type(loader).__module__: loader.load_service_model("s3", "service-2")
            for loader in loaders
        }
    finally:
        uninstall()
    # Then each has the model its own extras make
    assert loaded["moto.core.loaders"]["shapes"]["Expires"] == {"type": "string"}
    assert loaded["botocore.loaders"]["shapes"]["Expires"] == {"type": "timestamp"}
