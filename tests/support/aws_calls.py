"""Count the AWS operations the service's own clients make."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flow_manager import aws
from tests.support.sfn import REGION


@contextmanager
def aws_calls() -> Iterator[Counter[str]]:
    """The Step Functions, DynamoDB and S3 operations made inside the block, by name."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    clients = [aws.client(service, REGION) for service in ("stepfunctions", "dynamodb", "s3")]
    for client in clients:
        client.meta.events.register("before-call", count)
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", count)
