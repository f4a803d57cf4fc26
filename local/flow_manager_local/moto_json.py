"""Answers of moto's server written as JSON here rather than by moto's generic serializer
(moto_history, moto_dynamodb), which walks each output shape member by member: under
load that was most of the serve process's GIL time (docs/performance-cold-start-and-
reports.md). The results are already in the API's shape; only the values JSON cannot
hold change, as the JSON protocol carries them: timestamps to epoch seconds (to the
millisecond, as moto's serializer writes them), binary values to base64.
"""

from __future__ import annotations

import base64
import calendar
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CONTENT_TYPE = "application/x-amz-json-1.0"  # awsJson1_0: Step Functions, DynamoDB


def json_answer(
    result: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """moto's (status, headers, body) for `result`; TypeError for a value that is not
    data (a model object), which moto's serializer then has to write."""
    body = json.dumps(result, separators=(",", ":"), default=_wire_value)
    return 200, {"Content-Type": CONTENT_TYPE, **(headers or {})}, body


def epoch(stamp: str | datetime) -> int | float:
    """moto's JSON timestamps: whole seconds, plus milliseconds when there are any."""
    moment = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = calendar.timegm(moment.utctimetuple())
    if moment.microsecond:
        return seconds + (moment.microsecond // 1000) / 1000.0
    return seconds


def _wire_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return epoch(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):  # DynamoDB's B and BS values: moto keeps them raw
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON")
