"""template.yaml and samconfig.toml agree with the code that relies on them.

`make template` runs the SAM CLI and checkov on the template; these tests pin the
contract: the catalog, the sample state machine's placeholders, the code locations,
the routes and who may call what.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from flow_manager.catalog import ALIASES, INTERNAL_KINDS, SAMPLE_KINDS, logical_id
from flow_manager_local.template import StackSettings, read_stack
from tests.support.template import (
    ROOT,
    TABLE_TYPE,
    create_tables,
    load_template,
    resources_of_type,
)

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
API_ENVIRONMENT: dict[str, Any] = RESOURCES["ApiFunction"]["Properties"]["Environment"]["Variables"]


def sub_text(value: Any) -> str:
    """The template string of a `!Sub` (either form)."""
    argument = value["Fn::Sub"]
    return str(argument[0] if isinstance(argument, list) else argument)


def statements(function: str) -> Iterator[dict[str, Any]]:
    for policy in RESOURCES[function]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            yield from policy["Statement"]


# ---- the catalog ----------------------------------------------------------------------


def test_task_catalog_maps_every_sample_kind_and_alias_to_its_function() -> None:
    # Given TASK_CATALOG with each ${<LogicalId>.Arn} replaced by the logical id
    text = re.sub(r"\$\{(\w+)\.Arn\}", r"\1", sub_text(API_ENVIRONMENT["TASK_CATALOG"]))
    catalog = json.loads(text)
    # Then it is catalog.py's kinds, aliases and internal kinds, each naming its function
    expected = {kind: logical_id(kind) for kind in (*SAMPLE_KINDS, *INTERNAL_KINDS)}
    expected |= {alias: logical_id(kind) for alias, kind in ALIASES.items()}
    assert catalog == expected


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_every_sample_kind_has_its_function_and_code(kind: str) -> None:
    properties = RESOURCES[logical_id(kind)]["Properties"]
    assert properties["CodeUri"] == f"functions/tasks/{kind}"


def test_api_function_gets_the_environment_the_api_reads() -> None:
    assert {
        "FLOWS_TABLE",
        "STATE_MACHINE_ROLE_ARN",
        "STATE_MACHINE_PREFIX",
        "TASK_CATALOG",
    } <= set(API_ENVIRONMENT)
    assert API_ENVIRONMENT["FLOWS_TABLE"] == {"Ref": "FlowsTable"}
    assert API_ENVIRONMENT["STATE_MACHINE_ROLE_ARN"] == {
        "Fn::GetAtt": ["FlowStateMachineRole", "Arn"]
    }
    assert sub_text(API_ENVIRONMENT["STATE_MACHINE_PREFIX"]) == "${AWS::StackName}_"


def test_demo_switches_are_a_parameter_off_by_default() -> None:
    parameter = TEMPLATE["Parameters"]["DemoSwitches"]
    assert parameter["AllowedValues"] == ["enabled", "disabled"]
    assert parameter["Default"] == "disabled"


def test_every_function_gets_the_demo_switches_setting() -> None:
    # Given Globals (the API checks context.demo with it, the sample tasks obey it)
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["DEMO_SWITCHES"] == {"Ref": "DemoSwitches"}
    # And no function replaces it with a value of its own
    for function in FUNCTIONS.values():
        own = (function["Properties"].get("Environment") or {}).get("Variables", {})
        assert "DEMO_SWITCHES" not in own


def test_samconfigs_local_runs_enable_demo_switches_and_deployments_do_not() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for command in ("local_invoke", "local_start_api"):
        overrides = config["default"][command]["parameters"]["parameter_overrides"]
        assert "DemoSwitches=enabled" in overrides.split()
    for env in ("default", "prod"):
        overrides = config[env]["deploy"]["parameters"]["parameter_overrides"]
        assert "DemoSwitches=enabled" not in overrides.split()


def test_fetch_data_may_reach_only_public_hosts_unless_the_stack_allows_others() -> None:
    parameter = TEMPLATE["Parameters"]["FetchAllowedHosts"]
    assert parameter["Default"] == ""
    variables = RESOURCES["FetchDataFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["FETCH_ALLOWED_HOSTS"] == {"Ref": "FetchAllowedHosts"}


@pytest.mark.parametrize(
    "function",
    sorted(
        name
        for name, resource in FUNCTIONS.items()
        if str(resource["Properties"]["CodeUri"]).startswith("functions/tasks/")
    ),
)
def test_every_task_function_may_keep_and_read_large_results(function: str) -> None:
    # Given a task function: the task SDK stores any large `data` in the ResultsBucket
    # and reads earlier tasks' (DESIGN §4.7), whatever the kind (print's long message too)
    # When its policies are read / Then they allow exactly that, on the bucket's objects
    allowed = [
        s
        for s in statements(function)
        if s["Effect"] == "Allow" and sub_text(s["Resource"]) == "${ResultsBucket.Arn}/*"
    ]
    assert allowed, f"{function} may not write its large results"
    assert {"s3:PutObject", "s3:GetObject"} <= {a for s in allowed for a in s["Action"]}


def test_store_data_writes_to_the_data_table() -> None:
    properties = RESOURCES["StoreDataFunction"]["Properties"]
    assert properties["Environment"]["Variables"]["DATA_TABLE"] == {"Ref": "DataTable"}
    assert {"DynamoDBWritePolicy": {"TableName": {"Ref": "DataTable"}}} in properties["Policies"]


# ---- the sample state machine ---------------------------------------------------------


def test_sample_state_machine_substitutes_every_placeholder_of_its_definition() -> None:
    # Given the sample's ASL file and its DefinitionSubstitutions
    properties = RESOURCES["SampleFlowStateMachine"]["Properties"]
    definition = (ROOT / properties["DefinitionUri"]).read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", definition))
    substitutions = properties["DefinitionSubstitutions"]
    # Then every placeholder has a value, and nothing else is substituted
    assert placeholders == set(substitutions)
    # And each <LogicalId>Arn is that function's ARN
    for name, value in substitutions.items():
        assert value == {"Fn::GetAtt": [name.removesuffix("Arn"), "Arn"]}


def test_sample_state_machine_runs_as_the_flow_role() -> None:
    properties = RESOURCES["SampleFlowStateMachine"]["Properties"]
    assert properties["Role"] == {"Fn::GetAtt": ["FlowStateMachineRole", "Arn"]}


# ---- code locations --------------------------------------------------------------------


def top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_function_code_uri_holds_its_handler(function: str) -> None:
    # Given a function's CodeUri and Handler (module.function)
    properties = FUNCTIONS[function]["Properties"]
    module, _, handler = properties["Handler"].rpartition(".")
    source = ROOT / properties["CodeUri"] / f"{module.replace('.', '/')}.py"
    # Then the module exists and defines the handler
    assert source.is_file(), f"{function}: no {source.relative_to(ROOT)}"
    assert handler in top_level_names(source)


def test_layer_holds_the_package_and_pins_the_projects_versions() -> None:
    # Given the layer's requirements and pyproject's dependencies
    layer = RESOURCES["FlowManagerLayer"]
    content = ROOT / layer["Properties"]["ContentUri"]
    assert (content / "flow_manager" / "__init__.py").is_file()
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    pinned = dict(
        _name_and_version(line)
        for line in (content / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    project = dict(
        _name_and_version(line)
        for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    # Then the layer pins exactly the versions the project is tested with
    for name, version in pinned.items():
        assert project.get(name) == version, f"{name}=={version} is not pyproject's"
    assert {"pydantic", "aws-lambda-powertools"} <= set(pinned)


def test_layer_installs_powertools_tracer_extra_for_tracing_active() -> None:
    # Tracer imports aws-xray-sdk, which neither the runtime nor plain Powertools ships.
    requirements = (ROOT / "functions" / "shared" / "requirements.txt").read_text()
    assert re.search(r"^aws-lambda-powertools\[tracer\]==", requirements, re.MULTILINE)


def _name_and_version(requirement: str) -> tuple[str, str]:
    """`name[extra]==1.2` → ("name", "1.2"): extras choose modules, not the version."""
    name, _, version = requirement.partition("==")
    return name.split("[")[0].strip().lower(), version.strip()


def test_functions_run_python313_on_arm64_with_the_layer() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [{"Ref": "FlowManagerLayer"}]


# ---- the HTTP API ----------------------------------------------------------------------

OPEN_ROUTES = {("GET", "/health"), ("GET", "/docs")}


def api_events() -> set[tuple[str, str]]:
    events = RESOURCES["ApiFunction"]["Properties"]["Events"]
    return {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for event in events.values()
        if event["Type"] == "Api"
    }


def body_routes() -> dict[tuple[str, str], Any]:
    paths = RESOURCES["FlowApi"]["Properties"]["DefinitionBody"]["paths"]
    routes = {}
    for path, methods in paths.items():
        for method, operation in methods.items():
            name = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            routes[(name, path)] = operation
    return routes


def test_api_events_and_definition_body_name_the_same_routes() -> None:
    assert api_events() == set(body_routes())


def test_every_route_is_integrated_with_the_api_function() -> None:
    for route, operation in body_routes().items():
        uri = sub_text(operation["x-amazon-apigateway-integration"]["uri"])
        # Its alias `live`: the published version, which SnapStart restores when enabled
        assert uri.endswith("${ApiFunction.Arn}:live/invocations"), route
        assert operation["x-amazon-apigateway-integration"]["type"] == "aws_proxy"


def test_snapstart_is_a_parameter_off_by_default_applied_to_the_api_functions_versions() -> None:
    parameter = TEMPLATE["Parameters"]["SnapStart"]
    assert parameter["Default"] == "disabled"
    assert set(parameter["AllowedValues"]) == {"enabled", "disabled"}
    properties = TEMPLATE["Resources"]["ApiFunction"]["Properties"]
    # SnapStart applies to published versions: every deploy publishes one behind `live`
    assert properties["AutoPublishAlias"] == "live"
    assert properties["VersionDeletionPolicy"] == "Delete"
    assert properties["SnapStart"]["ApplyOn"] == {
        "Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]
    }
    assert TEMPLATE["Conditions"]["SnapStartEnabled"] == {
        "Fn::Equals": [{"Ref": "SnapStart"}, "enabled"]
    }


def test_only_health_and_docs_are_open_the_rest_needs_sigv4_unless_auth_mode_none() -> None:
    iam_unless_none = {"Fn::If": ["UseIamAuth", [{"sigv4": []}], []]}
    for route, operation in body_routes().items():
        expected = [] if route in OPEN_ROUTES else iam_unless_none
        assert operation["security"] == expected, route
    assert TEMPLATE["Conditions"]["UseIamAuth"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "IAM"]}
    assert TEMPLATE["Parameters"]["AuthMode"]["Default"] == "IAM"


# ---- who may do what -------------------------------------------------------------------


def test_flow_role_may_invoke_the_catalog_functions_only() -> None:
    (policy,) = RESOURCES["FlowStateMachineRole"]["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    expected: list[Any] = []
    for kind in (*SAMPLE_KINDS, *INTERNAL_KINDS):
        expected += [
            {"Fn::GetAtt": [logical_id(kind), "Arn"]},
            {"Fn::Sub": f"${{{logical_id(kind)}.Arn}}:*"},
        ]
    assert statement["Resource"] == expected


def test_flow_role_is_assumable_by_step_functions_of_this_account_only() -> None:
    trust = RESOURCES["FlowStateMachineRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


# IAM cannot scope these to a resource: the Service Authorization Reference lists no
# resource type for them (cfn-lint's copy of it: cfnlint/data/AdditionalSpecs/Policies.json).
UNSCOPABLE_ACTIONS = {"states:SendTaskSuccess", "scheduler:ListSchedules"}


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _state_resources() -> list[str]:
    """Every ARN pattern ApiFunction's scoped Step Functions statements name, as `!Sub` text."""
    return [
        sub_text(resource)
        for statement in statements("ApiFunction")
        if any(str(a).startswith("states:") for a in statement["Action"])
        and not set(_actions(statement)) <= UNSCOPABLE_ACTIONS
        for resource in statement["Resource"]
    ]


def _iam_matches(pattern: str, arn: str, stack: str) -> bool:
    """IAM's ARN matching (`*` any run of characters, `?` one) of a resolved `!Sub`."""
    resolved = (
        pattern.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${AWS::StackName}", stack)
    )
    return fnmatch.fnmatchcase(arn, resolved)


def test_api_may_manage_only_state_machines_named_with_the_stack_and_underscore() -> None:
    resources = _state_resources()
    assert resources
    for arn in resources:
        assert re.search(r":(stateMachine|execution|express):\$\{AWS::StackName\}_\*", arn), arn


SM = "arn:aws:states:us-east-1:123456789012:stateMachine:"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:"


@pytest.mark.parametrize(
    "arn",
    [
        f"{SM}flow-manager_prod-x",
        f"{SM}flow-manager_prod-x:3",
        f"{EXECUTION}flow-manager_prod-x:e-1",
    ],
)
def test_api_may_act_on_its_own_flows_machines_versions_and_executions(arn: str) -> None:
    assert any(_iam_matches(p, arn, "flow-manager") for p in _state_resources())


@pytest.mark.parametrize(
    "arn",
    [
        # flow "x" of stack flow-manager-prod, which flow id "prod-x" named before
        f"{SM}flow-manager-prod_x",
        f"{SM}flow-manager-prod_x:1",
        f"{EXECUTION}flow-manager-prod_x:e-1",
        # the old naming's cross-stack collision, and the sample state machine
        f"{SM}flow-manager-prod-x",
        f"{SM}SampleFlowStateMachine-AbCdEf123456",
        f"{SM}flow-manager-SampleFlowStateMachine",
    ],
)
def test_api_may_not_act_on_another_stacks_or_the_samples_machines(arn: str) -> None:
    # Given stack flow-manager's policy, and ARNs of other stacks' machines
    # Then no statement of it matches them
    assert not any(_iam_matches(p, arn, "flow-manager") for p in _state_resources())


def test_no_state_machine_of_the_stack_has_a_flows_name() -> None:
    # Given the template read as the local stack reads it (names as it creates them)
    model = read_stack(ROOT / "template.yaml", StackSettings(stack_name="flow-manager"))
    # Then none of its machines is named <stack>_..., the form of a flow's machine,
    # and none gets its name from the template (CloudFormation's generated names
    # are <LogicalId>-<suffix>, which cannot have that form either)
    assert model.state_machines
    for machine in model.state_machines.values():
        assert not machine.name.startswith("flow-manager_"), machine.name
    for machine_id in resources_of_type(TEMPLATE, "AWS::Serverless::StateMachine"):
        assert "Name" not in RESOURCES[machine_id]["Properties"], machine_id


def test_api_may_pass_the_flow_role_to_step_functions_only() -> None:
    passes = {
        s["Resource"]["Fn::GetAtt"][0]: s["Condition"]
        for s in statements("ApiFunction")
        if s["Action"] == "iam:PassRole"
    }
    assert passes["FlowStateMachineRole"] == {
        "StringEquals": {"iam:PassedToService": "states.amazonaws.com"}
    }


def test_api_may_pass_the_scheduler_role_to_eventbridge_scheduler_only() -> None:
    passes = {
        s["Resource"]["Fn::GetAtt"][0]: s["Condition"]
        for s in statements("ApiFunction")
        if s["Action"] == "iam:PassRole"
    }
    assert set(passes) == {"FlowStateMachineRole", "FlowSchedulerRole"}
    assert passes["FlowSchedulerRole"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
    }


# ---- EventBridge Scheduler ----------------------------------------------------------------


def test_the_schedule_group_is_named_after_the_stack_and_given_to_the_api() -> None:
    group = RESOURCES["FlowScheduleGroup"]
    assert group["Type"] == "AWS::Scheduler::ScheduleGroup"
    assert group["Properties"]["Name"] == {"Ref": "AWS::StackName"}
    assert API_ENVIRONMENT["SCHEDULE_GROUP"] == {"Ref": "FlowScheduleGroup"}
    assert API_ENVIRONMENT["SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": ["FlowSchedulerRole", "Arn"]}


def test_the_scheduler_role_is_assumable_by_scheduler_for_this_stacks_group_only() -> None:
    trust = RESOURCES["FlowSchedulerRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert sub_text(condition["ArnEquals"]["aws:SourceArn"]).endswith(
        ":schedule-group/${AWS::StackName}"
    )


def test_the_scheduler_role_may_only_start_this_stacks_flow_machines() -> None:
    (policy,) = RESOURCES["FlowSchedulerRole"]["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    pattern = sub_text(statement["Resource"])
    assert statement["Action"] == "states:StartExecution"
    assert _iam_matches(pattern, f"{SM}flow-manager_nightly", "flow-manager")
    assert not _iam_matches(pattern, f"{SM}flow-manager-prod_nightly", "flow-manager")
    assert not _iam_matches(pattern, f"{SM}flow-manager-SampleFlowStateMachine", "flow-manager")


def test_the_api_may_change_schedules_of_this_stacks_group_only() -> None:
    (statement,) = [
        s for s in statements("ApiFunction") if s.get("Sid") == "ManageTheStacksSchedules"
    ]
    pattern = sub_text(statement["Resource"]).replace("${FlowScheduleGroup}", "${AWS::StackName}")
    schedule = "arn:aws:scheduler:us-east-1:123456789012:schedule/"
    assert set(_actions(statement)) == {
        "scheduler:CreateSchedule",
        "scheduler:GetSchedule",
        "scheduler:DeleteSchedule",
    }
    assert _iam_matches(pattern, f"{schedule}flow-manager/nightly.every-5", "flow-manager")
    assert not _iam_matches(pattern, f"{schedule}default/nightly.every-5", "flow-manager")
    assert not _iam_matches(pattern, f"{schedule}flow-manager-prod/x.y", "flow-manager")


def test_the_local_stack_reads_the_schedule_group_from_the_template() -> None:
    model = read_stack(ROOT / "template.yaml", StackSettings(stack_name="flow-manager"))
    assert list(model.schedule_groups.values()) == ["flow-manager"]
    environment = model.functions["ApiFunction"].environment
    assert environment["SCHEDULE_GROUP"] == "flow-manager"
    assert environment["SCHEDULER_ROLE_ARN"].endswith(":role/flow-manager-FlowSchedulerRole")


def test_no_policy_statement_allows_every_resource_but_the_unscopable_send_task_success() -> None:
    for function in FUNCTIONS:
        for statement in statements(function):
            if statement["Resource"] in ("*", ["*"]):
                actions = statement["Action"]
                named = {actions} if isinstance(actions, str) else set(actions)
                assert named <= UNSCOPABLE_ACTIONS, function


def all_actions(function: str) -> set[str]:
    found: set[str] = set()
    for statement in statements(function):
        actions = statement["Action"]
        found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def test_api_may_send_approval_decisions_but_not_task_failures() -> None:
    actions = all_actions("ApiFunction")
    assert "states:SendTaskSuccess" in actions
    assert "states:SendTaskFailure" not in actions


def test_approval_function_may_only_put_items_under_an_execution_of_the_flows_table() -> None:
    properties = RESOURCES["ApprovalFunction"]["Properties"]
    assert properties["CodeUri"] == "functions/approval"
    assert properties["Environment"]["Variables"]["FLOWS_TABLE"] == {"Ref": "FlowsTable"}
    (statement,) = statements("ApprovalFunction")
    assert statement["Action"] == "dynamodb:PutItem"
    assert statement["Resource"] == {"Fn::GetAtt": ["FlowsTable", "Arn"]}
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["EXEC#*"]}
    }
    assert len(properties["Policies"]) == 1


# ---- tables ----------------------------------------------------------------------------


def test_tables_are_encrypted_recoverable_and_on_demand() -> None:
    tables = resources_of_type(TEMPLATE, TABLE_TYPE)
    assert set(tables) == {"FlowsTable", "DataTable"}
    for name, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["SSESpecification"] == {"SSEEnabled": True}, name
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }, name


def test_create_tables_makes_the_templates_tables_in_moto() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        # When the template's tables are created
        names = create_tables(client, TEMPLATE)
        # Then each has the template's keys and indexes
        assert names == {"FlowsTable": "FlowsTable", "DataTable": "DataTable"}
        flows = client.describe_table(TableName="FlowsTable")["Table"]
        assert [(k["AttributeName"], k["KeyType"]) for k in flows["KeySchema"]] == [
            ("pk", "HASH"),
            ("sk", "RANGE"),
        ]
        (index,) = flows.get("GlobalSecondaryIndexes", [])
        assert index["IndexName"] == "gsi1"
        assert [k["AttributeName"] for k in index["KeySchema"]] == ["gsi1pk", "gsi1sk"]
        assert index["Projection"] == {"ProjectionType": "ALL"}
        backups = client.describe_continuous_backups(TableName="FlowsTable")
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_create_tables_takes_the_names_it_is_given() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        names = create_tables(client, TEMPLATE, names={"FlowsTable": "flows-test"})
        assert names["FlowsTable"] == "flows-test"
        assert "flows-test" in client.list_tables()["TableNames"]


# ---- samconfig.toml --------------------------------------------------------------------


def test_samconfig_has_default_prod_and_translate_environments() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    assert config["default"]["global"]["parameters"]["stack_name"] == "flow-manager"
    assert config["prod"]["global"]["parameters"]["stack_name"] == "flow-manager-prod"
    for env in ("default", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_s3"] is True
        assert config[env]["validate"]["parameters"]["lint"] is True
    # `sam validate` with lint = true runs only cfn-lint: translate runs the translator
    assert config["translate"]["validate"]["parameters"]["lint"] is False
