"""template.yaml read as CloudFormation would: Globals, Parameters, Conditions and the
intrinsic functions resolved into what the local stack creates."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from flow_manager_local.commands import local_parameters
from flow_manager_local.policies import ANY_SERVICE
from flow_manager_local.template import StackSettings, TemplateError, load_template, read_stack
from tests.e2e.support import ROOT, local_only

pytestmark = local_only

TEMPLATE = ROOT / "template.yaml"


def write_template(tmp_path: Path, body: str) -> Path:
    (tmp_path / "code").mkdir(exist_ok=True)
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_globals_give_each_function_its_timeout_unless_it_has_its_own() -> None:
    # Given the project's template / When it is read
    functions = read_stack(TEMPLATE).functions
    # Then ApiFunction keeps its own 29 s and the task functions get the Globals' 30 s
    assert functions["ApiFunction"].timeout == 29
    assert functions["FetchDataFunction"].timeout == 30


def test_the_catalog_variable_names_the_task_functions_arns() -> None:
    # Given the project's template / When ApiFunction's environment is resolved
    functions = read_stack(TEMPLATE).functions
    catalog = json.loads(functions["ApiFunction"].environment["TASK_CATALOG"])
    # Then each kind and alias is the ARN of its function
    assert catalog["process_data"] == functions["ProcessDataFunction"].arn
    assert catalog["load"] == functions["StoreDataFunction"].arn


def test_the_sample_state_machine_has_its_substitutions_applied() -> None:
    # Given the project's template / When the sample state machine is read
    machine = read_stack(TEMPLATE).state_machines["SampleFlowStateMachine"]
    # Then its definition calls the task functions by ARN, no placeholder left
    assert "${" not in machine.definition
    assert read_stack(TEMPLATE).functions["FetchDataFunction"].arn in machine.definition


def test_the_layer_is_on_every_functions_path() -> None:
    # Given the project's template / When the functions are read
    functions = read_stack(TEMPLATE).functions.values()
    # Then each one has functions/shared (the flow_manager package) as a layer
    assert all(f.layer_dirs == ((ROOT / "functions" / "shared").resolve(),) for f in functions)


def test_conditions_follow_parameter_overrides() -> None:
    # Given the template's Tracing parameter switched on
    settings = StackSettings(parameters={"Tracing": "Active"})
    # When the functions are read
    environment = read_stack(TEMPLATE, settings).functions["ApiFunction"].environment
    # Then Fn::If took the TracingActive branch
    assert environment["POWERTOOLS_TRACE_DISABLED"] == "false"


def test_pseudo_parameters_follow_the_stack_name(tmp_path: Path) -> None:
    # Given a stack named "demo"
    settings = StackSettings(stack_name="demo")
    # When the template is read
    environment = read_stack(TEMPLATE, settings).functions["ApiFunction"].environment
    # Then names derived from AWS::StackName follow it
    assert environment["STATE_MACHINE_PREFIX"] == "demo_"
    assert environment["FLOWS_TABLE"] == "demo-FlowsTable"


def test_sub_join_select_and_novalue_resolve(tmp_path: Path) -> None:
    # Given a function whose variables use several intrinsics
    path = write_template(
        tmp_path,
        """
        Parameters:
          Names: {Type: CommaDelimitedList, Default: "a,b,c"}
        Conditions:
          Never: !Equals [x, y]
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: code
              Environment:
                Variables:
                  SUB: !Sub "${AWS::Region}/${!Literal}/${Fn.Arn}"
                  JOIN: !Join ["-", [!Ref AWS::AccountId, !Select [1, !Ref Names]]]
                  GONE: !If [Never, "x", !Ref AWS::NoValue]
                  FLAG: true
        """,
    )
    # When it is read
    environment = read_stack(path).functions["Fn"].environment
    # Then each is what CloudFormation would make of it
    assert environment == {
        "SUB": "us-east-1/${Literal}/arn:aws:lambda:us-east-1:123456789012:function:"
        "flow-manager-Fn",
        "JOIN": "123456789012-b",
        "FLAG": "true",
    }


def test_a_reference_to_nothing_is_an_error_naming_where(tmp_path: Path) -> None:
    # Given a variable that references a resource the template lacks
    path = write_template(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: code
              Environment: {Variables: {X: !GetAtt Missing.Arn}}
        """,
    )
    # When it is read / Then the error says which value and why
    with pytest.raises(TemplateError, match=r"Resources\.Fn\.Properties\.Environment.*Missing"):
        read_stack(path)


def test_the_local_stack_enables_the_demo_switches_for_every_function() -> None:
    # Given the parameters `flow-manager serve` gives the template by default
    declared = load_template(TEMPLATE)["Parameters"]
    settings = StackSettings(parameters=local_parameters(declared, []))
    # Then every function sees DEMO_SWITCHES=enabled
    for function in read_stack(TEMPLATE, settings).functions.values():
        assert function.environment["DEMO_SWITCHES"] == "enabled", function.logical_id


def test_the_templates_default_leaves_demo_switches_disabled() -> None:
    functions = read_stack(TEMPLATE).functions
    assert {f.environment["DEMO_SWITCHES"] for f in functions.values()} == {"disabled"}


def test_parameter_overrides_replace_the_local_defaults() -> None:
    declared = load_template(TEMPLATE)["Parameters"]
    parameters = local_parameters(declared, ["DemoSwitches=disabled", "LogLevel=DEBUG"])
    assert parameters == {"DemoSwitches": "disabled", "LogLevel": "DEBUG"}


def test_local_defaults_apply_only_to_parameters_the_template_declares() -> None:
    assert local_parameters({"Other": {}}, []) == {}


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"DemoSwitch": "enabled"}, "parameter DemoSwitch is not in the template"),
        ({"DemoSwitches": "on"}, "DemoSwitches=on: allowed values are enabled, disabled"),
    ],
)
def test_a_parameter_cloudformation_would_refuse_stops_the_local_stack(
    parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        read_stack(TEMPLATE, StackSettings(parameters=parameters))


def test_a_function_s_services_are_what_its_policies_allow_or_any_with_a_role_of_its_own(
    tmp_path: Path,
) -> None:
    # Given one function with Policies (one of them conditional) and one with a Role
    path = write_template(
        tmp_path,
        """
        Conditions:
          Never: !Equals [x, y]
        Resources:
          WithPolicies:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: code
              Policies:
                - DynamoDBReadPolicy: {TableName: t}
                - !If [Never, {S3ReadPolicy: {BucketName: b}}, !Ref AWS::NoValue]
          WithRole:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: code
              Role: arn:aws:iam::123456789012:role/elsewhere
        """,
    )
    # When the template is read
    functions = read_stack(path).functions
    # Then the first may call what its policies allow (either branch of the If), and the
    # second any service: its role's policies are not in the template
    assert functions["WithPolicies"].services == {"dynamodb", "s3"}
    assert functions["WithRole"].services == {ANY_SERVICE}
