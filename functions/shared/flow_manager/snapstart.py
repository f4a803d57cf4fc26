"""What a function makes before Lambda SnapStart's snapshot instead of at its first request.

The functions make their AWS clients on first use (aws.py): without SnapStart, a
request that reaches no AWS service never pays boto3's import (~150 ms) or a client
(~80 ms). With SnapStart the snapshot is taken after init, so whatever the first
request makes is made again after every restore. `before_snapshot(hook)` registers a
hook with `snapshot_restore_py`, which Lambda's Python runtimes include: Lambda runs it
once, before it takes the snapshot, and never without SnapStart. So a handler module
names what its requests would make (its clients, the modules behind its routes), and
with SnapStart on every restored environment starts with them.

A hook makes clients and imports modules, and starts no thread. Making a client
resolves the function's credentials: under SnapStart, from Lambda's container
credentials provider (one request to it, before the snapshot), whose credentials boto3
refreshes when they expire, after a restore as at any time. A client opens its own
connections at its first call, after the restore.

The local stack's runtime provides the same module: a function's template process runs
the hooks before it forks its workers, so the workers share what they made. Where the
module is missing (tests, the CLI) nothing is registered; on Lambda without SnapStart
the hooks are registered and never run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def before_snapshot(hook: Callable[[], Any]) -> None:
    """Run `hook` before SnapStart's snapshot (the local stack: before it forks)."""
    try:
        from snapshot_restore_py import register_before_snapshot  # type: ignore[import-not-found]
    except ImportError:  # no SnapStart runtime: what the hook makes is made on first use
        return
    register_before_snapshot(hook)
