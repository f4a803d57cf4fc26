"""The `flow-manager` commands that need a stack: serve, run, status, stop, flows,
executions, delete.

`register(subparsers)` adds them to the CLI (cli.py owns the parser). Every command
talks to the local stack by default (http://127.0.0.1:3000), or to `--endpoint URL`
/ FLOW_MANAGER_URL, signing requests with SigV4 when the endpoint is not local.

Exit codes: 0 success (an execution completed), 1 an execution that failed, was
aborted or timed out (or a server error), 2 a usage, validation or connection error,
130 interrupted (Ctrl-C; a started execution goes on). A bad input or an unreachable
API is one line on stderr, never a traceback. With `--json` the JSON is alone on
stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from flow_manager_local.client import (
    ENDPOINT_VARIABLE,
    LOCAL_ENDPOINT,
    ApiClient,
    ApiResponse,
    ApiUnavailable,
    SigningError,
    segment,
)
from flow_manager_local.progress import TERMINAL, Progress, TaskLimits, summary

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_RUN_TIMEOUT_SECONDS = 900.0
POLL_FIRST_SECONDS = 0.2
POLL_MAX_SECONDS = 0.5  # also how often the live progress line moves
STOP_WAIT_SECONDS = 30.0
MAX_PAGES = 100  # a list is never followed forever, even if the API kept answering tokens


class CommandError(Exception):
    """A problem the user can fix: printed as one line, exit `code`."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def register(subparsers: Any) -> None:
    """Add serve, run, status, flows, executions and approve to the CLI's subparsers."""
    serve = subparsers.add_parser(
        "serve",
        help="run the local stack (moto + the template's functions + the API) until Ctrl-C",
        description="Start the local stack in the foreground: moto (DynamoDB, IAM, Lambda, "
        "Step Functions) on loopback, every resource of template.yaml, each function's "
        "handler in its own worker processes, and the API on http://127.0.0.1:PORT.",
    )
    serve.add_argument("--port", type=_port, default=3000, help="the API's port (default 3000)")
    serve.add_argument(
        "--moto-port", type=_port, default=3001, help="moto's port (default 3001; 0: any free)"
    )
    serve.add_argument(
        "--template", type=Path, default=None, help="SAM template (default: ./template.yaml)"
    )
    serve.add_argument("--stack-name", default="flow-manager", help="AWS::StackName (names)")
    serve.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        help="at most this many warm workers per function (default 4)",
    )
    serve.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as for sam (default: "
        + " ".join(f"{k}={v}" for k, v in LOCAL_PARAMETERS.items())
        + "; the rest take the template's Default)",
    )
    serve.add_argument("--verbose", action="store_true", help="also log every request to moto")
    serve.set_defaults(func=_guarded(serve_command))

    run = subparsers.add_parser(
        "run",
        help="create or update a flow from a file, run it, and watch it to the end",
    )
    run.add_argument("file", metavar="FLOW.json", help='a flow file: {"flow": {...}}')
    run.add_argument(
        "--context",
        default=None,
        metavar="JSON|@FILE",
        help="the execution's context: a JSON object, or @file.json (default {})",
    )
    run.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_RUN_TIMEOUT_SECONDS,
        help="stop watching after this many seconds (default 900)",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the final execution as JSON, alone on stdout (progress on stderr)",
    )
    _endpoint_argument(run)
    run.set_defaults(func=_guarded(run_command))

    stop = subparsers.add_parser("stop", help="stop a running execution (it ends aborted)")
    stop.add_argument("execution_id", metavar="EXECUTION_ID")
    stop.add_argument("--json", action="store_true", help="print the execution as JSON")
    _endpoint_argument(stop)
    stop.set_defaults(func=_guarded(stop_command))

    delete = subparsers.add_parser("delete", help="delete a flow (its state machine too)")
    delete.add_argument("flow_id", metavar="FLOW_ID")
    delete.add_argument("--force", action="store_true", help="stop its running executions first")
    _endpoint_argument(delete)
    delete.set_defaults(func=_guarded(delete_command))

    status = subparsers.add_parser("status", help="show an execution's status and task results")
    status.add_argument("execution_id", metavar="EXECUTION_ID")
    status.add_argument("--json", action="store_true", help="print the execution as JSON")
    _endpoint_argument(status)
    status.set_defaults(func=_guarded(status_command))

    flows = subparsers.add_parser("flows", help="list the flows")
    flows.add_argument("--json", action="store_true", help="print the flows as JSON")
    _endpoint_argument(flows)
    flows.set_defaults(func=_guarded(flows_command))

    executions = subparsers.add_parser("executions", help="list a flow's executions")
    executions.add_argument("flow_id", metavar="FLOW_ID")
    executions.add_argument(
        "--status",
        choices=("running", "completed", "failed", "aborted", "timed_out"),
        help="only executions with this status",
    )
    executions.add_argument("--json", action="store_true", help="print the executions as JSON")
    _endpoint_argument(executions)
    executions.set_defaults(func=_guarded(executions_command))

    register_approve(subparsers)
    from flow_manager_local.retry_command import register_retry  # it imports this module

    register_retry(subparsers)
    register_diagram(subparsers)


def _endpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        default=None,
        help=f"the API's base URL (default ${ENDPOINT_VARIABLE} or {LOCAL_ENDPOINT}); "
        "requests to a non-local URL are signed with your AWS credentials (SigV4)",
    )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """One line on stderr and an exit code for every error the user can act on."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except CommandError as exc:
            print(f"flow-manager: {exc}", file=sys.stderr)
            return exc.code
        except (ApiUnavailable, SigningError) as exc:
            print(f"flow-manager: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return run


# ---- serve ------------------------------------------------------------------------------


def find_template(explicit: Path | None) -> Path:
    """--template, else template.yaml in this directory or above, else the project's own."""
    if explicit is not None:
        if not explicit.is_file():
            raise CommandError(f"no template at {explicit}")
        return explicit
    for directory in (Path.cwd(), *Path.cwd().parents):
        candidate = directory / "template.yaml"
        if candidate.is_file():
            return candidate
    project = Path(__file__).resolve().parents[2] / "template.yaml"
    if project.is_file():
        return project
    raise CommandError("no template.yaml here or above: pass --template PATH")


# The local stack is for trying flows out: the sample tasks' demo switches are on
# (a deployed stack's default is off). Like samconfig's local_start_api overrides.
LOCAL_PARAMETERS: dict[str, str] = {"DemoSwitches": "enabled"}


def local_parameters(declared: Iterable[str], overrides: Sequence[str]) -> dict[str, str]:
    """LOCAL_PARAMETERS that the template declares, with `KEY=VALUE` overrides (sam's
    --parameter-overrides form; read_stack refuses an undeclared or disallowed one)."""
    names = set(declared)
    parameters = {k: v for k, v in LOCAL_PARAMETERS.items() if k in names}
    for item in overrides:
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise CommandError(f"--parameter-overrides takes KEY=VALUE, got {item!r}")
        parameters[key.strip()] = value
    return parameters


def serve_command(args: argparse.Namespace) -> int:
    from flow_manager_local.stack import StackOptions, serve
    from flow_manager_local.template import StackSettings, TemplateError, load_template

    template = find_template(args.template)
    try:
        declared = load_template(template).get("Parameters") or {}
    except TemplateError as exc:
        raise CommandError(str(exc)) from None
    options = StackOptions(
        template=template,
        port=args.port,
        moto_port=args.moto_port,
        max_workers=args.concurrency,
        settings=StackSettings(
            stack_name=args.stack_name,
            parameters=local_parameters(declared, args.parameter_overrides),
        ),
        verbose=args.verbose,
    )
    return serve(options)


# ---- run --------------------------------------------------------------------------------


def load_flow_document(file: str) -> dict[str, Any]:
    """The `{"flow": {...}}` body of a flow file (seed 000's `{"flow_data": ...}` too)."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CommandError(f"cannot read {file}: {reason}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{file}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise CommandError(f"{file}: not valid JSON: nested too deeply") from None
    if isinstance(document, dict) and isinstance(document.get("flow_data"), dict):
        document = document["flow_data"]
    if not isinstance(document, dict) or not isinstance(document.get("flow"), dict):
        raise CommandError(f'{file}: expected a flow document {{"flow": {{...}}}}')
    return document


def parse_context(value: str | None) -> Any:
    if value is None:
        return {}
    source = "--context"
    text = value
    if value.startswith("@"):
        source = value[1:]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CommandError(f"cannot read the context file {source}: {reason}") from None
    try:
        context = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{source}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(context, dict):
        raise CommandError(f"{source}: the context must be a JSON object")
    return context


def run_command(args: argparse.Namespace) -> int:
    document = load_flow_document(args.file)
    context = parse_context(args.context)
    api = ApiClient.connect(args.endpoint)
    # With --json, stdout carries the JSON alone: `run ... --json > out.json` works.
    progress_out = sys.stderr if args.json else sys.stdout
    flow_id, version = put_flow(api, document, args.file)
    print(
        f"flow {flow_id} v{version}" if version is not None else f"flow {flow_id}",
        file=progress_out,
    )
    started = api.post(f"/flows/{segment(flow_id)}/executions", {"context": context})
    if started.status == 422:
        raise CommandError(_problems(f"the context for {flow_id}", started), EXIT_USAGE)
    _expect(started, f"starting {flow_id}")
    execution_id = _field(started.body, "execution_id")
    if not execution_id:
        raise CommandError(f"starting {flow_id}: the answer has no execution_id", EXIT_FAILED)
    try:  # from the moment the id is shown, Ctrl-C says how to find the execution
        print(f"execution {execution_id}", file=progress_out)
        report = watch(
            api, execution_id, timeout=args.timeout, out=progress_out, limits=task_limits(document)
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: execution {execution_id} goes on without this watch.\n"
            f"  its result:  flow-manager status {execution_id}\n"
            f"  stop it:     flow-manager stop {execution_id}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return _show_execution(report, as_json=args.json)


def task_limits(document: Mapping[str, Any]) -> dict[str, TaskLimits]:
    """Each task's attempts and timeout from the flow file, for the live display."""
    flow = document.get("flow")
    tasks = flow.get("tasks") if isinstance(flow, dict) else None
    limits: dict[str, TaskLimits] = {}
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict) or not isinstance(task.get("name"), str):
            continue
        retry = task.get("retry")
        attempts = retry.get("max_attempts") if isinstance(retry, dict) else None
        timeout = task.get("timeout_seconds")
        limits[task["name"]] = TaskLimits(
            max_attempts=attempts if isinstance(attempts, int) else 1,
            timeout_seconds=timeout if isinstance(timeout, int | float) else None,
        )
    return limits


def put_flow(api: ApiClient, document: dict[str, Any], file: str) -> tuple[str, int | None]:
    """Create the flow, or update it when its id exists (If-Match the current version)."""
    created = api.post("/flows", document)
    if created.status == 409:
        flow_id = str(document["flow"].get("id") or "")
        for _ in range(3):  # another writer may win between our read and our write
            current = api.get(f"/flows/{segment(flow_id)}")
            _expect(current, f"reading flow {flow_id}")
            etag = current.header("ETag") or _quoted(_field(current.body, "version"))
            headers = {"If-Match": etag} if etag else {}
            updated = api.put(f"/flows/{segment(flow_id)}", document, headers=headers)
            if updated.status == 412:
                continue
            return _flow_written(updated, file)
        raise CommandError(f"flow {flow_id} kept changing while updating it; try again")
    return _flow_written(created, file)


def _flow_written(response: ApiResponse, file: str) -> tuple[str, int | None]:
    if response.status == 422:
        raise CommandError(_problems(file, response), EXIT_USAGE)
    _expect(response, f"saving {file}")
    body = response.body if isinstance(response.body, dict) else {}
    flow_id = _field(body, "flow_id") or _field(body, "id") or _field(body.get("flow"), "id")
    version = body.get("version")
    if not flow_id:
        raise CommandError(f"saving {file}: the answer has no flow id", EXIT_FAILED)
    return str(flow_id), version if isinstance(version, int) else None


def watch(
    api: ApiClient,
    execution_id: str,
    *,
    timeout: float,
    out: TextIO | None = None,
    limits: Mapping[str, TaskLimits] | None = None,
) -> dict[str, Any]:
    """Poll the execution until it ends, showing progress on `out`; its last report."""
    progress = Progress(out, limits=limits)
    deadline = time.monotonic() + timeout
    try:
        for report in _poll(api, execution_id, deadline):
            progress.update(report)
            if report.get("status") in TERMINAL:
                return report
    finally:
        progress.finish()
    raise CommandError(
        f"execution {execution_id} still running after {timeout:.0f} s; "
        f"check later with `flow-manager status {execution_id}`",
        EXIT_FAILED,
    )


def _poll(api: ApiClient, execution_id: str, deadline: float) -> Iterator[dict[str, Any]]:
    interval = POLL_FIRST_SECONDS
    while time.monotonic() < deadline:
        response = api.get(f"/executions/{segment(execution_id)}")
        _expect(response, f"reading execution {execution_id}")
        if isinstance(response.body, dict):
            yield response.body
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(POLL_MAX_SECONDS, interval * 1.5)


def _show_execution(report: Mapping[str, Any], *, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for line in summary(report, marks=sys.stdout.isatty()):
            print(line)
    status = report.get("status")
    if status in ("completed", "running"):
        return EXIT_OK
    return EXIT_FAILED


# ---- status, flows, executions -------------------------------------------------------


def status_command(args: argparse.Namespace) -> int:
    api = ApiClient.connect(args.endpoint)
    response = api.get(f"/executions/{segment(args.execution_id)}")
    _expect(response, f"reading execution {args.execution_id}")
    if not isinstance(response.body, dict):
        raise CommandError("the API answered something that is not an execution", EXIT_FAILED)
    return _show_execution(response.body, as_json=args.json)


def stop_command(args: argparse.Namespace) -> int:
    api = ApiClient.connect(args.endpoint)
    response = api.delete(f"/executions/{segment(args.execution_id)}")
    _expect(response, f"stopping execution {args.execution_id}")
    if not isinstance(response.body, dict):
        raise CommandError("the API answered something that is not an execution", EXIT_FAILED)
    report = response.body
    # Step Functions aborts asynchronously: show the execution once it has ended.
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    for polled in _poll(api, args.execution_id, deadline):
        report = polled
        if polled.get("status") in TERMINAL:
            break
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for line in summary(report, marks=sys.stdout.isatty()):
            print(line)
    return EXIT_OK


def delete_command(args: argparse.Namespace) -> int:
    api = ApiClient.connect(args.endpoint)
    query = {"force": "true"} if args.force else {}
    response = api.delete(f"/flows/{segment(args.flow_id)}", query=query)
    _expect(response, f"deleting flow {args.flow_id}")
    print(f"deleted flow {args.flow_id}")
    return EXIT_OK


def flows_command(args: argparse.Namespace) -> int:
    api = ApiClient.connect(args.endpoint)
    items = list(_pages(api, "/flows", {}, "flows"))
    if args.json:
        print(json.dumps(items, indent=2))
        return EXIT_OK
    if not items:
        print("no flows")
        return EXIT_OK
    rows = [
        (
            str(_field(f, "flow_id") or _field(f, "id") or "?"),
            str(f.get("version", "")),
            str(f.get("name", "")),
            str(f.get("updated_at") or f.get("created_at") or ""),
        )
        for f in items
    ]
    _table(("FLOW", "VERSION", "NAME", "UPDATED"), rows)
    return EXIT_OK


def executions_command(args: argparse.Namespace) -> int:
    api = ApiClient.connect(args.endpoint)
    path = f"/flows/{segment(args.flow_id)}/executions"
    items = list(_pages(api, path, {"status": args.status}, "executions"))
    if args.json:
        print(json.dumps(items, indent=2))
        return EXIT_OK
    if not items:
        print(f"no executions of {args.flow_id}" + (f" {args.status}" if args.status else ""))
        return EXIT_OK
    rows = [
        (
            str(e.get("execution_id", "?")),
            str(e.get("status", "")),
            str(e.get("flow_version", "")),
            str(e.get("start_time") or ""),
            str(e.get("end_time") or ""),
        )
        for e in items
    ]
    _table(("EXECUTION", "STATUS", "VERSION", "STARTED", "ENDED"), rows)
    return EXIT_OK


def _pages(
    api: ApiClient, path: str, query: Mapping[str, str | None], key: str
) -> Iterator[dict[str, Any]]:
    """Every item of a paginated list, following `next_token` (bounded)."""
    token: str | None = None
    for _ in range(MAX_PAGES):
        response = api.get(path, query={**query, "next_token": token})
        _expect(response, f"listing {path}")
        body = response.body
        items = body.get(key) if isinstance(body, dict) else body
        if not isinstance(items, list):
            items = body.get("items") if isinstance(body, dict) else None
        for item in items or []:
            if isinstance(item, dict):
                yield item
        token = _field(body, "next_token") if isinstance(body, dict) else None
        if not token:
            return


# ---- approve ----------------------------------------------------------------------------


def register_approve(subparsers: Any) -> None:
    approve = subparsers.add_parser(
        "approve",
        help="approve (or --reject) an approval task that waits",
        description="Decide an approval task of a running execution: the task succeeds "
        "(approved) or fails (rejected) with the decision as its result, and the flow "
        "goes on along its condition.",
    )
    approve.add_argument("execution_id", metavar="EXECUTION_ID")
    approve.add_argument("task", metavar="TASK", help="the approval task's name")
    approve.add_argument("--reject", action="store_true", help="reject instead of approving")
    approve.add_argument("--comment", default=None, metavar="TEXT", help="why (kept in the result)")
    approve.add_argument("--json", action="store_true", help="print the decision as JSON")
    _endpoint_argument(approve)
    approve.set_defaults(func=_guarded(approve_command))


def approve_command(args: argparse.Namespace) -> int:
    api = ApiClient.connect(args.endpoint)
    body: dict[str, Any] = {"approve": not args.reject}
    if args.comment is not None:
        body["comment"] = args.comment
    path = f"/executions/{segment(args.execution_id)}/approvals/{segment(args.task)}"
    response = api.post(path, body)
    _expect(response, f"deciding {args.task} of execution {args.execution_id}")
    if args.json:
        print(json.dumps(response.body, indent=2))
        return EXIT_OK
    decided = "rejected" if args.reject else "approved"
    by = _field(response.body, "by")
    print(
        f"{decided} {args.task} of execution {args.execution_id}"
        + (f" (by {by})" if by else "")
        + f"; follow it with `flow-manager status {args.execution_id}`"
    )
    return EXIT_OK


# ---- helpers ----------------------------------------------------------------------------


def _field(body: object, name: str) -> str | None:
    if isinstance(body, dict):
        value = body.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def _quoted(value: str | None) -> str | None:
    return f'"{value}"' if value else None


def _expect(response: ApiResponse, doing: str) -> None:
    if response.ok:
        return
    code = EXIT_FAILED if response.status >= 500 else EXIT_USAGE
    raise CommandError(f"{doing}: {response.error_line()}", code)


def _problems(subject: str, response: ApiResponse) -> str:
    """Every problem of a 422, one per line, each with its location."""
    error = response.error
    details = error.get("details") or []
    lines = [f"{subject}: {error.get('message') or 'invalid'}"]
    for detail in details:
        if isinstance(detail, dict):
            location = detail.get("location") or detail.get("loc") or ""
            if isinstance(location, list):
                location = ".".join(str(p) for p in location)
            message = detail.get("message") or detail.get("msg") or json.dumps(detail)
            lines.append(f"  {location}: {message}" if location else f"  {message}")
        else:
            lines.append(f"  {detail}")
    return "\n".join(lines)


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in (headers, *rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


# ---- diagram ----------------------------------------------------------------------------


def register_diagram(subparsers: Any) -> None:
    diagram = subparsers.add_parser(
        "diagram",
        help="print a flow (or an execution's path) as a Mermaid flowchart",
        description="FILE: draw the flow file offline (no stack needed). FLOW_ID: the "
        "stored flow's current version. --execution ID: the version that execution ran, "
        "with its path, failed task and running or waiting task marked. Paste the output "
        "into a ```mermaid block (GitHub renders it) or https://mermaid.live.",
    )
    diagram.add_argument(
        "target", metavar="FILE|FLOW_ID", nargs="?", default=None, help="a flow file or id"
    )
    diagram.add_argument("--execution", metavar="ID", default=None, help="an execution's id")
    diagram.add_argument(
        "--catalog", metavar="CATALOG.json", default=None, help="for FILE: as for validate"
    )
    _endpoint_argument(diagram)
    diagram.set_defaults(func=_guarded(diagram_command))


def is_flow_file(target: str) -> bool:
    return target == "-" or target.endswith(".json") or Path(target).is_file()


def diagram_command(args: argparse.Namespace) -> int:
    target: str | None = args.target
    if args.execution is not None:
        if target is not None and is_flow_file(target):
            raise CommandError("--execution draws the version the execution ran: give no FILE")
        return _print_diagram(args, f"/executions/{segment(args.execution)}/diagram", target)
    if target is None:
        raise CommandError("diagram needs a FILE, a FLOW_ID or --execution ID")
    if not is_flow_file(target):
        return _print_diagram(args, f"/flows/{segment(target)}/diagram", None)
    from flow_manager.diagram import flow_diagram
    from flow_manager_local import cli  # its validation, as `flow-manager validate` runs it

    checked = cli._check(target, cli._catalog(args.catalog), version=1)
    if isinstance(checked, list):
        raise CommandError(_invalid_lines(target, checked), EXIT_FAILED)
    sys.stdout.write(flow_diagram(checked[1]))
    return EXIT_OK


def _print_diagram(args: argparse.Namespace, path: str, flow_id: str | None) -> int:
    api = ApiClient.connect(args.endpoint)
    response = api.get(path)
    _expect(response, f"reading {path}")
    text = _field(response.body, "mermaid")
    if text is None:
        raise CommandError(f"{path}: the answer has no diagram", EXIT_FAILED)
    if flow_id is not None:
        execution = api.get(f"/executions/{segment(args.execution)}")
        _expect(execution, f"reading execution {args.execution}")
        ran = _field(execution.body, "flow_id")
        if ran != flow_id:
            raise CommandError(f"execution {args.execution} ran flow {ran}, not {flow_id}")
    sys.stdout.write(text)
    return EXIT_OK


def _invalid_lines(file: str, problems: Sequence[Any]) -> str:
    noun = "problem" if len(problems) == 1 else "problems"
    return "\n".join(
        [f"{file}: invalid flow, {len(problems)} {noun}:", *(f"  {p}" for p in problems)]
    )
