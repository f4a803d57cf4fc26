"""`flow-manager`: validate and compile flows offline; run and watch them on a stack.

Exit codes: 0 success, 1 an invalid flow (or a failed execution), 2 a usage error,
130 interrupted (Ctrl-C; an execution already started goes on, see `run`).
No input, however broken, ends in a traceback.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from flow_manager.catalog import Catalog
    from flow_manager.errors import Problem
    from flow_manager.model import Flow
    from flow_manager.translator import CompiledFlow

# The flow_manager package (pydantic models) is imported by the commands that use it:
# `serve` does not, and its start should not pay for it.

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
TEMPLATE_CATALOG_VARIABLE = "TASK_CATALOG"


class UsageError(Exception):
    """Bad arguments or unreadable files: exit 2 with this message."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"flow-manager: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flow-manager", description="Validate, compile, run and watch Flow Manager flows."
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    check = sub.add_parser("validate", help="check a flow file against every rule")
    _flow_arguments(check)
    check.set_defaults(func=_validate)

    build = sub.add_parser("compile", help="print a flow's Amazon States Language")
    _flow_arguments(build)
    build.add_argument("--version", type=int, default=1, help="flow version to compile for")
    build.add_argument(
        "--sam",
        action="store_true",
        help="use SAM DefinitionSubstitutions placeholders (${FetchDataFunctionArn}) as ARNs",
    )
    build.set_defaults(func=_compile)

    try:
        from flow_manager_local import commands
    except ImportError:  # the stack commands are optional for offline use
        pass
    else:
        commands.register(sub)
    return parser


def _flow_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="flow JSON file, or - for stdin")
    parser.add_argument(
        "--catalog",
        metavar="CATALOG.json",
        help="JSON object of task kind → Lambda ARN (default: template.yaml's catalog, "
        "else the sample kinds)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="treat warnings (a task no path reaches) as errors: exit 1",
    )


def _validate(args: argparse.Namespace) -> int:
    checked = _check(args.file, _catalog(args.catalog), version=1, strict=args.strict)
    if isinstance(checked, list):
        return _report(args.file, checked, sys.stderr)
    flow_id, flow, compiled, warnings = checked
    conditions = len(flow.conditions)
    print(
        f"{args.file}: valid flow '{flow_id}': {len(flow.tasks)} tasks, "
        f"{conditions} condition{'' if conditions == 1 else 's'}, "
        f"{len(compiled.definition['States'])} states"
        + (f", {len(warnings)} warning{'' if len(warnings) == 1 else 's'}:" if warnings else "")
    )
    for warning in warnings:
        print(f"  warning: {warning}")
    return EXIT_OK


def _compile(args: argparse.Namespace) -> int:
    if args.version < 1:
        raise UsageError("--version must be 1 or more")
    from flow_manager.catalog import sam_catalog

    catalog = sam_catalog() if args.sam else _catalog(args.catalog)
    checked = _check(args.file, catalog, version=args.version, strict=args.strict)
    if isinstance(checked, list):
        return _report(args.file, checked, sys.stderr)
    for warning in checked[3]:
        print(f"{args.file}: warning: {warning}", file=sys.stderr)
    sys.stdout.write(checked[2].json)
    return EXIT_OK


def _check(
    file: str, catalog: Catalog, *, version: int, strict: bool = False
) -> tuple[str, Flow, CompiledFlow, tuple[Problem, ...]] | list[Problem]:
    """(flow id, flow, compiled flow, warnings), or every problem that stops it."""
    from flow_manager.errors import InvalidFlow, Problem
    from flow_manager.translator import compile_flow
    from flow_manager.validation import check_flow

    text = _read(file)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [Problem("", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
    except RecursionError:
        return [Problem("", "not valid JSON: nested too deeply")]
    try:
        checked = check_flow(document, catalog, strict=strict)
        flow_id = _flow_id(checked.flow, file)
        compiled = compile_flow(checked.flow, catalog, flow_id=flow_id, version=version)
        return flow_id, checked.flow, compiled, checked.warnings
    except InvalidFlow as exc:
        return exc.problems


def _read(file: str) -> str:
    try:
        if file == "-":
            return sys.stdin.read()
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read {file}: {reason}") from None


def _catalog(file: str | None) -> Catalog:
    from flow_manager.catalog import parse_catalog, placeholder_catalog
    from flow_manager.errors import InvalidCatalog

    if file is None:
        return _template_catalog() or placeholder_catalog()
    try:
        return parse_catalog(_read(file), source=file)
    except InvalidCatalog as exc:
        raise UsageError(exc.message) from None


@functools.cache
def _template_catalog() -> Catalog | None:
    """The catalog template.yaml gives the API (its TASK_CATALOG), ARNs as the local
    stack names them; None outside a checkout or when the template cannot be read."""
    from flow_manager.catalog import parse_catalog
    from flow_manager.errors import InvalidCatalog
    from flow_manager_local.template import TemplateError, read_stack

    candidates = [Path.cwd() / "template.yaml", Path(__file__).parents[2] / "template.yaml"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return None
    try:
        stack = read_stack(path)
    except (TemplateError, OSError, ValueError):
        return None
    for function in stack.functions.values():
        if TEMPLATE_CATALOG_VARIABLE in function.environment:
            try:
                return parse_catalog(function.environment[TEMPLATE_CATALOG_VARIABLE], str(path))
            except InvalidCatalog:
                return None
    return None


def _flow_id(flow: Flow, file: str) -> str:
    """A flow without an id is compiled under its file's name."""
    if flow.id:
        return flow.id
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", Path(file).stem if file != "-" else "flow")
    return (stem.lstrip("_-") or "flow")[:48]


def _report(file: str, problems: Sequence[Problem], out: TextIO) -> int:
    noun = "problem" if len(problems) == 1 else "problems"
    print(f"{file}: invalid flow, {len(problems)} {noun}:", file=out)
    for problem in problems:
        print(f"  {problem}", file=out)
    return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
