"""`flow-manager retry EXECUTION_ID [--from TASK] [--context JSON] [--version same|current]`:
start the retry of a failed execution (POST /executions/{id}/retry) and watch it live,
as `run` watches a new execution. Exit codes as `run`'s (commands.py)."""

from __future__ import annotations

import argparse
from typing import Any

from flow_manager_local.client import ApiClient, segment
from flow_manager_local.commands import (
    DEFAULT_RUN_TIMEOUT_SECONDS,
    EXIT_FAILED,
    EXIT_USAGE,
    CommandError,
    _endpoint_argument,
    _expect,
    _field,
    _guarded,
    _positive_float,
    _problems,
    _show_execution,
    parse_context,
    watch,
)


def register_retry(subparsers: Any) -> None:
    retry = subparsers.add_parser(
        "retry",
        help="retry a failed execution from its failed task, keeping earlier results",
        description="Start a new execution that resumes a failed, aborted or timed-out one "
        "at its failed task (or --from TASK): the tasks that ran before it keep their "
        "results and are not run again. Then watch it to the end, as `run` does.",
    )
    retry.add_argument("execution_id", metavar="EXECUTION_ID")
    retry.add_argument(
        "--from", dest="from_task", default=None, metavar="TASK", help="restart at this task"
    )
    retry.add_argument(
        "--context",
        default=None,
        metavar="JSON|@FILE",
        help="a new context (default: the failed execution's)",
    )
    retry.add_argument(
        "--version",
        choices=("same", "current"),
        default="same",
        help="the flow version to run: the one that failed (default) or the current one",
    )
    retry.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_RUN_TIMEOUT_SECONDS,
        help="stop watching after this many seconds (default 900)",
    )
    retry.add_argument("--json", action="store_true", help="print the final execution as JSON")
    _endpoint_argument(retry)
    retry.set_defaults(func=_guarded(retry_command))


def retry_command(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"version": args.version}
    if args.from_task is not None:
        body["from_task"] = args.from_task
    if args.context is not None:
        body["context"] = parse_context(args.context)
    api = ApiClient.connect(args.endpoint)
    answer = api.post(f"/executions/{segment(args.execution_id)}/retry", body)
    if answer.status in (409, 422):
        raise CommandError(_problems(f"retrying {args.execution_id}", answer), EXIT_USAGE)
    _expect(answer, f"retrying {args.execution_id}")
    execution_id = _field(answer.body, "execution_id")
    if not execution_id:
        raise CommandError("the retry's answer has no execution_id", EXIT_FAILED)
    print(f"execution {execution_id} (retry of {args.execution_id})")
    report = watch(api, execution_id, timeout=args.timeout)
    return _show_execution(report, as_json=args.json)
