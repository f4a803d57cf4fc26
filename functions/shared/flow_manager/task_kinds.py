"""What each sample task kind is and which parameters it takes (GET /tasks).

Each kind's parameters are a Pydantic model; its JSON Schema is what GET /tasks
shows. The task functions (functions/tasks/<kind>/app.py) name their model as
`PARAMETERS` and document the same fields; a test keeps the two in step. Unknown
parameters are allowed: a flow may carry data for its own use.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class SampleParameters(BaseModel):
    """Every sample kind's switches to fail (functions/tasks/README.md)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    fail: bool | str | None = Field(
        default=None, description="true: a failure result; a text: the failure's error."
    )
    raise_: bool | str | None = Field(
        default=None,
        alias="raise",
        description="Raise an exception of this type (true: DemoError), retried by `retry`.",
    )
    fail_attempts: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="Raise SimulatedTransientError on the first N attempts."
    )
    sleep_seconds: Annotated[float, Field(ge=0, le=900)] | None = Field(
        default=None, description="Sleep this long before working (shows timeouts)."
    )
    failure_rate: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None,
        description="Fail with this probability: 1 always, 0 never, in between a draw "
        "fixed by the execution id and the task name.",
    )


class FetchDataParameters(SampleParameters):
    records: list[JsonValue] | None = Field(default=None, description="The records, given.")
    url: str | None = Field(default=None, description="GET this http(s) URL for the records.")
    timeout_seconds: float | None = Field(default=None, description="The GET's (default 10).")
    batch_id: str | None = Field(default=None, description="Seed of the generated sample.")
    count: Annotated[int, Field(ge=0, le=1000)] | None = Field(
        default=None, description="How many records to generate (default 10)."
    )
    limit: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="Keep the first N records."
    )


class ProcessDataParameters(SampleParameters):
    source_task: str | None = Field(
        default=None, description="Whose data.records to process (default: the latest)."
    )
    multiplier: float | None = Field(default=None, description="scaled_value = value x this.")
    min_value: float | None = Field(default=None, description="Reject records below it.")


class StoreDataParameters(SampleParameters):
    records: list[JsonValue] | None = Field(default=None, description="Store these instead.")
    source_task: str | None = Field(
        default=None, description="Whose data.records to store (default: the latest)."
    )
    dry_run: bool | None = Field(default=None, description="true: write nothing.")


class PrintParameters(SampleParameters):
    message: str | None = Field(default=None, description="What to log and return.")


class KindInfo(BaseModel):
    description: str
    parameters: type[SampleParameters]


SAMPLE_KIND_INFO: dict[str, KindInfo] = {
    "fetch_data": KindInfo(
        description="The records a flow works on: given, fetched from a URL, or a "
        "deterministic generated sample.",
        parameters=FetchDataParameters,
    ),
    "process_data": KindInfo(
        description="Validates the upstream task's records, scales and summarises them.",
        parameters=ProcessDataParameters,
    ),
    "store_data": KindInfo(
        description="Writes the upstream task's records to the data table, idempotently.",
        parameters=StoreDataParameters,
    ),
    "print": KindInfo(
        description="Logs parameters.message and returns it.", parameters=PrintParameters
    ),
}


def parameters_schema(kind: str) -> dict[str, Any] | None:
    """The JSON Schema of a sample kind's parameters; None for another kind."""
    info = SAMPLE_KIND_INFO.get(kind)
    return None if info is None else info.parameters.model_json_schema(by_alias=True)
