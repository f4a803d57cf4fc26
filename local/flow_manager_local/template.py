"""template.yaml → the resources the local stack creates, intrinsics resolved.

The local stack builds everything from the SAM template itself so that local and
deployed cannot drift. This module reads the template (CloudFormation short-form
tags included), merges SAM `Globals`, evaluates `Conditions`, and resolves the
intrinsic functions the template uses (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
`Fn::If`, ...) against deterministic local physical names, the way CloudFormation
would against the names it generates.

Only what the local stack needs is resolved (functions, tables, buckets, roles,
layers, state machines, API routes); anything it cannot emulate fails with the template
path of the offending value, not with a KeyError deep inside.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flow_manager_local.policies import ANY_SERVICE, services_allowed

Json = Any  # template fragments: dicts, lists, strings, numbers, booleans

DEFAULT_STACK_NAME = "flow-manager"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
SAM_DEFAULT_TIMEOUT = 3  # seconds, SAM's (and Lambda's) default
SAM_DEFAULT_MEMORY = 128  # MB
IMPLICIT_API = "ServerlessRestApi"  # the API SAM creates from Api events without RestApiId
IMPLICIT_STAGE = "Prod"

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
ROLE_TYPES = ("AWS::IAM::Role",)
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
API_TYPES = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
BUCKET_TYPES = ("AWS::S3::Bucket",)
BUCKET_POLICY_TYPES = ("AWS::S3::BucketPolicy",)
SCHEDULE_GROUP_TYPES = ("AWS::Scheduler::ScheduleGroup",)

LAMBDA_TRUST_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
STATES_TRUST_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


class TemplateError(Exception):
    """The template cannot be loaded or resolved locally; the message says where and why."""

    def __init__(self, message: str, *, located: bool = False) -> None:
        super().__init__(message)
        self.located = located  # the message already starts with the value's path


# ---- loading ---------------------------------------------------------------------------

_FN_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "ToJsonString",
    "Length",
)


class _CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that turns `!Ref x` into `{"Ref": "x"}` and so on (the JSON form)."""


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Json:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}")


def _tag_constructor(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Json]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Json]:
        return {key: _construct(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Json]:
    value = _construct(loader, node)
    if isinstance(value, str):
        # `!GetAtt A.B.C` means ["A", "B.C"]: only the first dot separates.
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


for _name in _FN_TAGS:
    _CloudFormationLoader.add_constructor(f"!{_name}", _tag_constructor(f"Fn::{_name}"))
_CloudFormationLoader.add_constructor("!Ref", _tag_constructor("Ref"))
_CloudFormationLoader.add_constructor("!Condition", _tag_constructor("Condition"))
_CloudFormationLoader.add_constructor("!GetAtt", _get_att)


def load_template(path: Path) -> dict[str, Json]:
    """The template as plain data, intrinsic functions in their long (JSON) form."""
    try:
        with path.open(encoding="utf-8") as stream:
            loaded = yaml.load(stream, Loader=_CloudFormationLoader)
    except FileNotFoundError:
        raise TemplateError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return loaded


# ---- Globals ---------------------------------------------------------------------------

_GLOBALS_SECTIONS: Mapping[str, tuple[str, ...]] = {
    "Function": ("AWS::Serverless::Function",),
    "Api": ("AWS::Serverless::Api",),
    "HttpApi": ("AWS::Serverless::HttpApi",),
    "SimpleTable": ("AWS::Serverless::SimpleTable",),
    "StateMachine": ("AWS::Serverless::StateMachine",),
    "LayerVersion": ("AWS::Serverless::LayerVersion",),
}


def _merge_globals(global_value: Json, local_value: Json) -> Json:
    """SAM's rules: maps merge (the resource wins per key), lists add up, scalars override."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if _is_intrinsic(global_value) or _is_intrinsic(local_value):
            return copy.deepcopy(local_value)
        merged = copy.deepcopy(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(merged[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*copy.deepcopy(global_value), *local_value]
    return copy.deepcopy(local_value)


def apply_globals(template: Mapping[str, Json]) -> dict[str, Json]:
    """A copy of the template with `Globals` merged into each serverless resource."""
    result = copy.deepcopy(dict(template))
    globals_section: Mapping[str, Json] = result.pop("Globals", None) or {}
    for section, defaults in globals_section.items():
        types = _GLOBALS_SECTIONS.get(section)
        if types is None or not isinstance(defaults, dict):
            continue
        for resource in result["Resources"].values():
            if resource.get("Type") in types:
                properties = resource.get("Properties") or {}
                resource["Properties"] = _merge_globals(defaults, properties)
    return result


def _is_intrinsic(value: Json) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


# ---- resolution ------------------------------------------------------------------------


@dataclass(frozen=True)
class StackSettings:
    """What CloudFormation would know about the stack: its name, where, and parameters."""

    stack_name: str = DEFAULT_STACK_NAME
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    parameters: Mapping[str, str] = field(default_factory=dict)


class _NoValue:
    """`Ref: AWS::NoValue`: the enclosing property disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _short_id(*parts: str, length: int = 10) -> str:
    """A stable, AWS-looking lowercase id (API ids, key ids): same input, same id."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class Resolver:
    """Resolves intrinsic functions the way CloudFormation would for this stack.

    Physical names are deterministic (`<stack>-<LogicalId>` unless the template names
    the resource), so a reference resolves without creating anything first.
    """

    def __init__(self, template: Mapping[str, Json], settings: StackSettings) -> None:
        self.template = template
        self.settings = settings
        self.resources: Mapping[str, Json] = template.get("Resources") or {}
        self._parameters: Mapping[str, Json] = template.get("Parameters") or {}
        self._mappings: Mapping[str, Json] = template.get("Mappings") or {}
        self._conditions: Mapping[str, Json] = template.get("Conditions") or {}
        self._condition_values: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # -- the stack's pseudo parameters and parameters

    @property
    def partition(self) -> str:
        return "aws-cn" if self.settings.region.startswith("cn-") else "aws"

    def pseudo_parameter(self, name: str) -> Json:
        s = self.settings
        values: dict[str, Json] = {
            "AWS::StackName": s.stack_name,
            "AWS::Region": s.region,
            "AWS::AccountId": s.account_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{s.region}:{s.account_id}:stack/"
                f"{s.stack_name}/{_short_id(s.stack_name, length=8)}-local"
            ),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]

    def parameter(self, name: str) -> Json:
        declaration = self._parameters[name] or {}
        if name in self.settings.parameters:
            value: Json = self.settings.parameters[name]
        elif "Default" in declaration:
            value = declaration["Default"]
        else:
            raise TemplateError(
                f"parameter {name} has no Default: give it a value for the local stack"
            )
        kind = str(declaration.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            if isinstance(value, list):
                return [str(v) for v in value]
            return [part.strip() for part in str(value).split(",")]
        return value if isinstance(value, str) else _scalar_to_string(value)

    # -- conditions

    def condition(self, name: str) -> bool:
        if name in self._condition_values:
            return self._condition_values[name]
        if name not in self._conditions:
            raise TemplateError(f"Conditions: no condition named {name}", located=True)
        if name in self._evaluating:
            raise TemplateError(f"Conditions.{name}: refers to itself", located=True)
        self._evaluating.add(name)
        try:
            value = self._evaluate_condition(self._conditions[name], f"Conditions.{name}")
        finally:
            self._evaluating.discard(name)
        self._condition_values[name] = value
        return value

    def _evaluate_condition(self, expression: Json, where: str) -> bool:
        if isinstance(expression, bool):
            return expression
        if not isinstance(expression, dict) or len(expression) != 1:
            raise TemplateError(f"{where}: not a condition expression", located=True)
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(str(argument))
        if function == "Fn::Equals":
            left, right = (self.resolve(v, f"{where}.Fn::Equals") for v in argument)
            return _scalar_to_string(left) == _scalar_to_string(right)
        if function == "Fn::Not":
            return not self._evaluate_condition(argument[0], f"{where}.Fn::Not")
        if function == "Fn::And":
            return all(self._evaluate_condition(a, f"{where}.Fn::And") for a in argument)
        if function == "Fn::Or":
            return any(self._evaluate_condition(a, f"{where}.Fn::Or") for a in argument)
        raise TemplateError(f"{where}: {function} is not a condition function", located=True)

    def resource_enabled(self, logical_id: str) -> bool:
        condition = (self.resources.get(logical_id) or {}).get("Condition")
        return condition is None or self.condition(str(condition))

    # -- physical names, Ref and GetAtt

    def resource_type(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is not None:
            return str(resource.get("Type", ""))
        implicit = self._implicit_resource_type(logical_id)
        if implicit is None:
            raise TemplateError(f"no resource, parameter or pseudo parameter named {logical_id}")
        return implicit

    def _implicit_resource_type(self, logical_id: str) -> str | None:
        """Resources SAM generates: `<Function>Role`, `<StateMachine>Role`, the implicit API."""
        if logical_id == IMPLICIT_API and self.implicit_api_used():
            return "AWS::Serverless::Api"
        if logical_id.endswith("Role"):
            owner = self.resources.get(logical_id[: -len("Role")])
            if (
                owner is not None
                and owner.get("Type")
                in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
                and "Role" not in (owner.get("Properties") or {})
            ):
                return "AWS::IAM::Role"
        return None

    def implicit_api_used(self) -> bool:
        for resource in self.resources.values():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            events = (resource.get("Properties") or {}).get("Events") or {}
            for event in events.values():
                if event.get("Type") == "Api" and "RestApiId" not in (
                    event.get("Properties") or {}
                ):
                    return True
        return False

    def physical_name(self, logical_id: str) -> str:
        """The resource's name: the one the template gives it, else `<stack>-<LogicalId>`."""
        kind = self.resource_type(logical_id)
        properties = (self.resources.get(logical_id) or {}).get("Properties") or {}
        name_property = {
            "AWS::Serverless::Function": "FunctionName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Serverless::SimpleTable": "TableName",
            "AWS::IAM::Role": "RoleName",
            "AWS::Serverless::StateMachine": "Name",
            "AWS::StepFunctions::StateMachine": "StateMachineName",
            "AWS::Serverless::LayerVersion": "LayerName",
            "AWS::Lambda::LayerVersion": "LayerName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Scheduler::ScheduleGroup": "Name",
        }.get(kind)
        if name_property and name_property in properties:
            where = f"Resources.{logical_id}.Properties.{name_property}"
            name = self.resolve(properties[name_property], where)
            if not isinstance(name, str):
                raise TemplateError(f"{where}: expected a string, got {name!r}", located=True)
            return name
        if kind in BUCKET_TYPES:
            # S3 names are lower case, at most 63 characters (CloudFormation's are too).
            return f"{self.settings.stack_name}-{logical_id}".lower()[:63].rstrip("-.")
        # IAM and Lambda names are limited to 64 characters.
        return f"{self.settings.stack_name}-{logical_id}"[:64]

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        s = self.settings
        region = s.region if regional else ""
        account = "" if service == "s3" else s.account_id
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def ref(self, name: str) -> Json:
        if name.startswith("AWS::"):
            return self.pseudo_parameter(name)
        if name in self._parameters:
            return self.parameter(name)
        kind = self.resource_type(name)
        physical = self.physical_name(name)
        if kind in STATE_MACHINE_TYPES:
            return self.arn("states", f"stateMachine:{physical}")
        if kind in LAYER_TYPES:
            return self.arn("lambda", f"layer:{physical}:1")
        if kind in API_TYPES:
            return self.api_id(name)
        if kind == "AWS::SQS::Queue":
            s = self.settings
            return f"https://sqs.{s.region}.amazonaws.com/{s.account_id}/{physical}"
        if kind in ("AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"):
            return self.arn(kind.split("::")[1].lower(), physical)
        if kind == "AWS::KMS::Key":
            return _short_id(self.settings.stack_name, name, length=32)
        return physical

    def api_id(self, logical_id: str) -> str:
        return _short_id(self.settings.stack_name, logical_id)

    def get_att(self, logical_id: str, attribute: str) -> Json:
        kind = self.resource_type(logical_id)
        physical = self.physical_name(logical_id)
        attributes: dict[str, Callable[[], Json]] = {}
        if kind in FUNCTION_TYPES:
            attributes["Arn"] = lambda: self.arn("lambda", f"function:{physical}")
        elif kind in TABLE_TYPES:
            attributes["Arn"] = lambda: self.arn("dynamodb", f"table/{physical}")
            attributes["StreamArn"] = lambda: self.arn(
                "dynamodb", f"table/{physical}/stream/1970-01-01T00:00:00.000"
            )
        elif kind in ROLE_TYPES:
            attributes["Arn"] = lambda: self.arn("iam", f"role/{physical}", regional=False)
            attributes["RoleId"] = lambda: "AROA" + _short_id(physical, length=17).upper()
        elif kind in STATE_MACHINE_TYPES:
            attributes["Arn"] = lambda: self.ref(logical_id)
            attributes["Name"] = lambda: physical
        elif kind in API_TYPES:
            attributes["RootResourceId"] = lambda: _short_id(logical_id, "root")
        elif kind == "AWS::Logs::LogGroup":
            attributes["Arn"] = lambda: self.arn("logs", f"log-group:{physical}:*")
        elif kind == "AWS::SQS::Queue":
            attributes["Arn"] = lambda: self.arn("sqs", physical)
            attributes["QueueName"] = lambda: physical
            attributes["QueueUrl"] = lambda: self.ref(logical_id)
        elif kind == "AWS::SNS::Topic":
            attributes["TopicArn"] = lambda: self.ref(logical_id)
        elif kind == "AWS::S3::Bucket":
            attributes["Arn"] = lambda: self.arn("s3", physical, regional=False)
            attributes["DomainName"] = lambda: f"{physical}.s3.amazonaws.com"
        elif kind in SCHEDULE_GROUP_TYPES:
            attributes["Arn"] = lambda: self.arn("scheduler", f"schedule-group/{physical}")
        elif kind == "AWS::KMS::Key":
            attributes["Arn"] = lambda: self.arn("kms", f"key/{self.ref(logical_id)}")
            attributes["KeyId"] = lambda: self.ref(logical_id)
        if attribute not in attributes:
            raise TemplateError(
                f"Fn::GetAtt {logical_id}.{attribute}: not available in the local stack "
                f"({kind} offers {', '.join(sorted(attributes)) or 'no attributes'} here)"
            )
        return attributes[attribute]()

    # -- the intrinsic functions

    def resolve(self, value: Json, where: str) -> Json:
        """`value` with every intrinsic function replaced by its value."""
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                try:
                    return self._function(key, argument, f"{where}.{key}")
                except TemplateError as exc:
                    if exc.located:
                        raise
                    raise TemplateError(f"{where}: {exc}", located=True) from None
                except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
                    raise TemplateError(
                        f"{where}.{key}: malformed arguments ({exc})", located=True
                    ) from None
        resolved: dict[str, Json] = {}
        for key, item in value.items():
            result = self.resolve(item, f"{where}.{key}")
            if result is not NO_VALUE:
                resolved[key] = result
        return resolved

    def _function(self, name: str, argument: Json, where: str) -> Json:
        if name == "Ref":
            return self.ref(str(argument))
        if name == "Fn::GetAtt":
            if isinstance(argument, str):
                argument = argument.split(".", 1)
            logical_id, attribute = (str(self.resolve(a, where)) for a in argument)
            return self.get_att(logical_id, attribute)
        if name == "Fn::Sub":
            return self._sub(argument, where)
        if name == "Fn::Join":
            delimiter, items = argument
            parts = self.resolve(items, where)
            return str(delimiter).join(_scalar_to_string(p) for p in parts)
        if name == "Fn::If":
            condition, if_true, if_false = argument
            chosen = if_true if self.condition(str(condition)) else if_false
            return self.resolve(chosen, where)
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items, where)[int(self.resolve(index, where))]
        if name == "Fn::Split":
            delimiter, text = argument
            return str(self.resolve(text, where)).split(str(delimiter))
        if name == "Fn::FindInMap":
            map_name, top, second = (str(self.resolve(a, where)) for a in argument[:3])
            return self.resolve(self._mappings[map_name][top][second], where)
        if name == "Fn::Base64":
            import base64

            return base64.b64encode(str(self.resolve(argument, where)).encode()).decode()
        if name == "Fn::GetAZs":
            return [f"{self.settings.region}{zone}" for zone in "abc"]
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument, where), separators=(",", ":"))
        if name == "Fn::Length":
            return len(self.resolve(argument, where))
        if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
            return self._evaluate_condition({name: argument}, where)
        raise TemplateError(f"{where}: {name} is not supported by the local stack", located=True)

    def _sub(self, argument: Json, where: str) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1], where)
        else:
            text, variables = argument, {}
        if not isinstance(text, str):
            raise TemplateError(f"{where}: expected a string to substitute into", located=True)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # `${!Literal}` is the escape for `${Literal}`
            if name in variables:
                return _scalar_to_string(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _scalar_to_string(self.get_att(logical_id, attribute))
            return _scalar_to_string(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def _scalar_to_string(value: Json) -> str:
    """How CloudFormation turns a YAML scalar into a string (booleans lowercase)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_scalar_to_string(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# ---- the resources the local stack creates ---------------------------------------------


@dataclass(frozen=True)
class ApiRoute:
    """One `Type: Api` event of a function: which requests API Gateway sends it."""

    method: str  # upper case, or ANY
    path: str  # the resource path, e.g. /flows/{flow_id} or /{proxy+}
    api: str  # the logical id of the API


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: Mapping[str, str]
    layer_dirs: tuple[Path, ...]
    role_arn: str
    routes: tuple[ApiRoute, ...] = ()
    # The AWS services (boto3's names) its Policies allow calls to (policies.py).
    services: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: Mapping[str, Json]  # resolved CloudFormation Properties
    simple: bool = False  # AWS::Serverless::SimpleTable


@dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    name: str
    properties: Mapping[str, Json]  # resolved CloudFormation Properties
    policies: tuple[Mapping[str, Json], ...] = ()  # its AWS::S3::BucketPolicy documents


@dataclass(frozen=True)
class RoleSpec:
    logical_id: str
    name: str
    arn: str
    path: str
    assume_role_policy: Mapping[str, Json]
    inline_policies: Mapping[str, Mapping[str, Json]]
    managed_policy_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerSpec:
    logical_id: str
    name: str
    arn: str
    content_dir: Path


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    name: str
    arn: str
    definition: str  # JSON, substitutions applied
    role_arn: str
    type: str  # STANDARD | EXPRESS


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    stage: str
    binary_media_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackModel:
    """Everything the local stack creates, in CloudFormation's terms."""

    settings: StackSettings
    template_path: Path
    functions: Mapping[str, FunctionSpec]
    tables: Mapping[str, TableSpec]
    roles: Mapping[str, RoleSpec]
    layers: Mapping[str, LayerSpec]
    state_machines: Mapping[str, StateMachineSpec]
    apis: Mapping[str, ApiSpec]
    buckets: Mapping[str, BucketSpec] = field(default_factory=dict)
    # AWS::Scheduler::ScheduleGroup names by logical id (the local scheduler fires them).
    schedule_groups: Mapping[str, str] = field(default_factory=dict)

    def function_named(self, name: str) -> FunctionSpec | None:
        return next((f for f in self.functions.values() if f.name == name), None)


def read_stack(path: Path, settings: StackSettings | None = None) -> StackModel:
    """Load, merge Globals, and resolve what the local stack needs from `path`."""
    settings = settings or StackSettings()
    path = path.resolve()
    template = apply_globals(load_template(path))
    return _StackReader(template, path, settings).read()


class _StackReader:
    def __init__(self, template: Mapping[str, Json], path: Path, settings: StackSettings):
        self.template = template
        self.base = path.parent
        self.path = path
        self.settings = settings
        self.r = Resolver(template, settings)

    def _enabled(self, types: Sequence[str]) -> Iterator[tuple[str, Mapping[str, Json]]]:
        for logical_id, resource in self.r.resources.items():
            if resource.get("Type") in types and self.r.resource_enabled(logical_id):
                yield logical_id, resource.get("Properties") or {}

    def _check_parameters(self) -> None:
        """What CloudFormation refuses: a value for no parameter, or one not allowed."""
        declared = self.template.get("Parameters") or {}
        for name, value in self.settings.parameters.items():
            if name not in declared:
                known = ", ".join(declared) or "none"
                raise TemplateError(f"parameter {name} is not in the template (it has: {known})")
            allowed = (declared[name] or {}).get("AllowedValues")
            if allowed is not None and value not in [_scalar_to_string(a) for a in allowed]:
                raise TemplateError(
                    f"parameter {name}={value}: allowed values are "
                    f"{', '.join(_scalar_to_string(a) for a in allowed)}"
                )

    def read(self) -> StackModel:
        self._check_parameters()
        layers = {lid: self._layer(lid, props) for lid, props in self._enabled(LAYER_TYPES)}
        roles = {lid: self._role(lid, props) for lid, props in self._enabled(ROLE_TYPES)}
        functions: dict[str, FunctionSpec] = {}
        for lid, props in self._enabled(FUNCTION_TYPES):
            functions[lid] = self._function(lid, props, layers)
            if "Role" not in props:
                roles[f"{lid}Role"] = self._implicit_role(f"{lid}Role", LAMBDA_TRUST_POLICY)
        machines: dict[str, StateMachineSpec] = {}
        for lid, props in self._enabled(STATE_MACHINE_TYPES):
            machines[lid] = self._state_machine(lid, props)
            if "Role" not in props and "RoleArn" not in props:
                roles[f"{lid}Role"] = self._implicit_role(f"{lid}Role", STATES_TRUST_POLICY)
        return StackModel(
            settings=self.settings,
            template_path=self.path,
            functions=functions,
            tables={lid: self._table(lid, props) for lid, props in self._enabled(TABLE_TYPES)},
            roles=roles,
            layers=layers,
            state_machines=machines,
            apis=self._apis(),
            buckets=self._buckets(),
            schedule_groups={
                lid: self.r.physical_name(lid) for lid, _ in self._enabled(SCHEDULE_GROUP_TYPES)
            },
        )

    def _buckets(self) -> dict[str, BucketSpec]:
        policies: dict[str, list[Mapping[str, Json]]] = {}
        for lid, props in self._enabled(BUCKET_POLICY_TYPES):
            bucket = self.r.resolve(props.get("Bucket"), self._where(lid, "Bucket"))
            document = self.r.resolve(
                props.get("PolicyDocument") or {}, self._where(lid, "PolicyDocument")
            )
            policies.setdefault(str(bucket), []).append(document)
        buckets: dict[str, BucketSpec] = {}
        for lid, props in self._enabled(BUCKET_TYPES):
            name = self.r.physical_name(lid)
            buckets[lid] = BucketSpec(
                logical_id=lid,
                name=name,
                properties=self.r.resolve(props, f"Resources.{lid}.Properties"),
                policies=tuple(policies.get(name, ())),
            )
        return buckets

    def _where(self, logical_id: str, prop: str) -> str:
        return f"Resources.{logical_id}.Properties.{prop}"

    def _get(self, logical_id: str, props: Mapping[str, Json], prop: str, default: Json) -> Json:
        if prop not in props:
            return default
        return self.r.resolve(props[prop], self._where(logical_id, prop))

    def _local_dir(self, logical_id: str, prop: str, value: Json) -> Path:
        if not isinstance(value, str) or value.startswith("s3://"):
            raise TemplateError(
                f"{self._where(logical_id, prop)}: the local stack needs a local directory, "
                f"got {value!r}"
            )
        directory = (self.base / value).resolve()
        if not directory.is_dir():
            raise TemplateError(f"{self._where(logical_id, prop)}: no directory {directory}")
        return directory

    def _layer(self, logical_id: str, props: Mapping[str, Json]) -> LayerSpec:
        prop = "ContentUri" if "ContentUri" in props else "Content"
        content = self._local_dir(logical_id, prop, self._get(logical_id, props, prop, None))
        return LayerSpec(
            logical_id=logical_id,
            name=self.r.physical_name(logical_id),
            arn=str(self.r.ref(logical_id)),
            content_dir=content,
        )

    def _function(
        self, logical_id: str, props: Mapping[str, Json], layers: Mapping[str, LayerSpec]
    ) -> FunctionSpec:
        if props.get("PackageType") == "Image":
            raise TemplateError(f"Resources.{logical_id}: image functions are not supported")
        prop = "CodeUri" if "CodeUri" in props else "Code"
        code_dir = self._local_dir(logical_id, prop, self._get(logical_id, props, prop, "."))
        environment = self._get(logical_id, props, "Environment", {}).get("Variables", {})
        role = self._get(logical_id, props, "Role", None)
        if role is None:
            role = self.r.get_att(f"{logical_id}Role", "Arn")
        return FunctionSpec(
            logical_id=logical_id,
            name=self.r.physical_name(logical_id),
            arn=str(self.r.get_att(logical_id, "Arn")),
            code_dir=code_dir,
            handler=str(self._get(logical_id, props, "Handler", "app.lambda_handler")),
            runtime=str(self._get(logical_id, props, "Runtime", "python3.13")),
            timeout=int(self._get(logical_id, props, "Timeout", SAM_DEFAULT_TIMEOUT)),
            memory_size=int(self._get(logical_id, props, "MemorySize", SAM_DEFAULT_MEMORY)),
            environment={str(k): _scalar_to_string(v) for k, v in environment.items()},
            layer_dirs=self._layer_dirs(logical_id, props, layers),
            role_arn=str(role),
            routes=self._routes(logical_id, props),
            # A Role of its own (SAM then ignores Policies): what it allows is not here.
            services=frozenset({ANY_SERVICE})
            if "Role" in props
            else services_allowed(props.get("Policies")),
        )

    def _layer_dirs(
        self, logical_id: str, props: Mapping[str, Json], layers: Mapping[str, LayerSpec]
    ) -> tuple[Path, ...]:
        """The layers' directories: a layer `Ref` is mapped back to its ContentUri."""
        directories: list[Path] = []
        by_arn = {layer.arn: layer for layer in layers.values()}
        for i, item in enumerate(props.get("Layers") or []):
            where = f"{self._where(logical_id, 'Layers')}[{i}]"
            if isinstance(item, dict) and "Ref" in item and item["Ref"] in layers:
                directories.append(layers[item["Ref"]].content_dir)
                continue
            arn = self.r.resolve(item, where)
            if arn in by_arn:
                directories.append(by_arn[arn].content_dir)
            else:
                # A public layer (e.g. Powertools') is already in the local virtualenv.
                continue
        # SAM's python build puts a layer's content under python/ when it has one.
        return tuple(d / "python" if (d / "python").is_dir() else d for d in directories)

    def _routes(self, logical_id: str, props: Mapping[str, Json]) -> tuple[ApiRoute, ...]:
        routes: list[ApiRoute] = []
        for name, event in (props.get("Events") or {}).items():
            if event.get("Type") != "Api":
                continue
            where = f"Resources.{logical_id}.Properties.Events.{name}.Properties"
            properties = self.r.resolve(event.get("Properties") or {}, where)
            api = IMPLICIT_API
            raw_api = (event.get("Properties") or {}).get("RestApiId")
            if isinstance(raw_api, dict) and "Ref" in raw_api:
                api = str(raw_api["Ref"])
            routes.append(
                ApiRoute(
                    method=str(properties.get("Method", "ANY")).upper(),
                    path=str(properties.get("Path", "/")),
                    api=api,
                )
            )
        return tuple(routes)

    def _apis(self) -> dict[str, ApiSpec]:
        apis: dict[str, ApiSpec] = {}
        for lid, props in self._enabled(("AWS::Serverless::Api",)):
            stage = self._get(lid, props, "StageName", IMPLICIT_STAGE)
            binary = self._get(lid, props, "BinaryMediaTypes", [])
            apis[lid] = ApiSpec(lid, str(stage), tuple(str(b).replace("~1", "/") for b in binary))
        if self.r.implicit_api_used():
            apis[IMPLICIT_API] = ApiSpec(IMPLICIT_API, IMPLICIT_STAGE)
        return apis

    def _table(self, logical_id: str, props: Mapping[str, Json]) -> TableSpec:
        kind = self.r.resources[logical_id]["Type"]
        return TableSpec(
            logical_id=logical_id,
            name=self.r.physical_name(logical_id),
            properties=self.r.resolve(props, f"Resources.{logical_id}.Properties"),
            simple=kind == "AWS::Serverless::SimpleTable",
        )

    def _role(self, logical_id: str, props: Mapping[str, Json]) -> RoleSpec:
        resolved = self.r.resolve(props, f"Resources.{logical_id}.Properties")
        return RoleSpec(
            logical_id=logical_id,
            name=self.r.physical_name(logical_id),
            arn=str(self.r.get_att(logical_id, "Arn")),
            path=str(resolved.get("Path", "/")),
            assume_role_policy=resolved.get("AssumeRolePolicyDocument") or {},
            inline_policies={
                str(p["PolicyName"]): p.get("PolicyDocument") or {}
                for p in resolved.get("Policies") or []
            },
            managed_policy_arns=tuple(str(a) for a in resolved.get("ManagedPolicyArns") or []),
        )

    def _implicit_role(self, logical_id: str, trust: Mapping[str, Json]) -> RoleSpec:
        # SAM builds these from policy templates; IAM is not enforced locally, so the
        # role only has to exist for its ARN to be valid.
        return RoleSpec(
            logical_id=logical_id,
            name=self.r.physical_name(logical_id),
            arn=str(self.r.get_att(logical_id, "Arn")),
            path="/",
            assume_role_policy=trust,
            inline_policies={},
        )

    def _state_machine(self, logical_id: str, props: Mapping[str, Json]) -> StateMachineSpec:
        definition = self._definition(logical_id, props)
        substitutions = self._get(logical_id, props, "DefinitionSubstitutions", {})
        rendered = _substitute(
            definition, {k: _scalar_to_string(v) for k, v in substitutions.items()}
        )
        leftover = sorted(set(re.findall(r"\$\{([A-Za-z0-9_:.]+)\}", rendered)))
        if leftover:
            raise TemplateError(
                f"Resources.{logical_id}: the definition uses "
                f"{', '.join('${' + v + '}' for v in leftover)} but DefinitionSubstitutions "
                "does not define it"
            )
        role = self._get(logical_id, props, "Role", None) or self._get(
            logical_id, props, "RoleArn", None
        )
        if role is None:
            role = self.r.get_att(f"{logical_id}Role", "Arn")
        return StateMachineSpec(
            logical_id=logical_id,
            name=self.r.physical_name(logical_id),
            arn=str(self.r.ref(logical_id)),
            definition=rendered,
            role_arn=str(role),
            type=str(
                self._get(logical_id, props, "Type", None)
                or self._get(logical_id, props, "StateMachineType", "STANDARD")
            ),
        )

    def _definition(self, logical_id: str, props: Mapping[str, Json]) -> str:
        for prop in ("Definition", "DefinitionString"):
            if prop in props:
                value = self.r.resolve(props[prop], self._where(logical_id, prop))
                return value if isinstance(value, str) else json.dumps(value, indent=2)
        uri = props.get("DefinitionUri")
        if not isinstance(uri, str):
            raise TemplateError(
                f"Resources.{logical_id}: the local stack needs Definition or a local DefinitionUri"
            )
        path = (self.base / uri).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"{self._where(logical_id, 'DefinitionUri')}: {exc}") from None
        if path.suffix in (".yaml", ".yml"):
            return json.dumps(yaml.safe_load(text), indent=2)
        return text


def _substitute(text: str, substitutions: Mapping[str, str]) -> str:
    """CloudFormation's DefinitionSubstitutions: `${key}` → value, for the map's keys only."""
    if not substitutions:
        return text
    pattern = re.compile(r"\$\{(" + "|".join(re.escape(k) for k in substitutions) + r")\}")
    # Inside a JSON string a value must stay valid JSON: escape as JSON would.
    return pattern.sub(lambda m: json.dumps(substitutions[m.group(1)])[1:-1], text)
