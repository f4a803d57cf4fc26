"""Transform template.yaml (SAM) into plain CloudFormation JSON, offline.

Run it with the tools venv, which has samtranslator (it ships with aws-sam-cli):

    .venv-tools/bin/python scripts/transform_template.py [template.yaml] [-o out.json]

Local artefacts are replaced the way `sam package` would replace them, without an
upload: every local CodeUri / ContentUri becomes an s3:// placeholder, and a state
machine's DefinitionUri is inlined as its Definition (so scanners see the ASL). The
output is what CloudFormation would deploy, generated roles and API stage included
(each carrying the Metadata, hence the checkov skips, of the SAM resource it comes
from): `make template` runs checkov on it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

PLACEHOLDER_BUCKET = "flow-manager-artifacts-placeholder"
DEFAULT_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}

_LOCAL_ARTEFACTS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
}


class _NoManagedPolicies:
    """SAM resolves AWS managed policy names from its bundled list; never ask IAM."""

    def load(self) -> dict[str, str]:
        return {}


def localise(template: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of `template` whose local paths are s3:// placeholders or inlined."""
    result = copy.deepcopy(template)
    for logical_id, resource in result.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        kind = resource.get("Type")
        key = _LOCAL_ARTEFACTS.get(kind, "")
        if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
            properties[key] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}/{properties[key]}"
        if kind == "AWS::Serverless::StateMachine":
            uri = properties.get("DefinitionUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                path = base / uri
                if path.is_file():
                    properties["Definition"] = json.loads(path.read_text(encoding="utf-8"))
                    del properties["DefinitionUri"]
                else:
                    properties["DefinitionUri"] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}/{uri}"
    return result


def transform_file(path: Path, parameters: dict[str, str]) -> dict[str, Any]:
    from samcli.yamlhelper import yaml_parse
    from samtranslator.translator.transform import transform

    sam = yaml_parse(path.read_text(encoding="utf-8"))
    values = {**DEFAULT_PARAMETERS, **parameters}
    # passthrough_metadata: every resource generated from a SAM resource (the API's
    # stage and deployment, a function's role) gets its Metadata, so the checkov skips
    # declared on the SAM resource cover them too.
    transformed: dict[str, Any] = transform(
        localise(sam, path.parent), values, _NoManagedPolicies(), passthrough_metadata=True
    )
    return transformed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", default="template.yaml", type=Path)
    parser.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter's value (repeatable)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_PARAMETERS["AWS::Region"])
    parameters = dict(item.split("=", 1) for item in args.parameter)
    try:
        transformed = transform_file(args.template, parameters)
    except Exception as exc:  # samtranslator reports every problem in one exception
        print(f"{args.template}: cannot transform: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(transformed, indent=2, sort_keys=True) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
