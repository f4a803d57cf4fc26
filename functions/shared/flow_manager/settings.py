"""The one place that reads the environment: a typed Settings object (DESIGN §2).

template.yaml gives ApiFunction exactly these variables; the local stack and the tests
set the same ones. Domain code takes a Settings, never `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flow_manager.catalog import parse_catalog
from flow_manager.engine import PREFIX_PATTERN
from flow_manager.errors import ConfigurationError, InvalidCatalog

_TRUE = frozenset({"1", "true", "yes", "on"})


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    flows_table: Annotated[str, Field(min_length=1)]
    state_machine_role_arn: Annotated[str, Field(min_length=1)]
    # `<stack name>_` (DESIGN §11): see engine.SEPARATOR.
    state_machine_prefix: Annotated[str, Field(pattern=PREFIX_PATTERN)] = "flow-manager_"
    task_catalog: dict[str, str]
    region: Annotated[str, Field(min_length=1)] = "us-east-1"
    tracing_enabled: bool = False
    # DEMO_SWITCHES (the template's DemoSwitches): whether context.demo may be used.
    demo_switches: bool = False
    # The seeds' run routes answer with the result when the execution ends within this
    # time, else 202 with where to poll. API Gateway gives a request 29 s in all: the
    # wait also ends in time for the answer's own calls (flow_manager/aws.py budget).
    run_wait_seconds: Annotated[float, Field(ge=0, le=25)] = 20.0
    # How long a half-done create/update holds its pending version before another
    # request may take over (a Lambda that died mid-request never releases it).
    pending_lease_seconds: Annotated[int, Field(ge=1, le=900)] = 60
    # The ResultsBucket (DESIGN §4.7): reports read large task results from it.
    results_bucket: str | None = None
    # EventBridge Scheduler (flow_manager.schedules): the stack's schedule group and the
    # role Scheduler assumes to start the flows' state machines. Unset: no schedules.
    schedule_group: str | None = None
    scheduler_role_arn: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        required = ("FLOWS_TABLE", "STATE_MACHINE_ROLE_ARN", "TASK_CATALOG")
        missing = [name for name in required if not env.get(name)]
        if missing:
            raise ConfigurationError(f"environment variables not set: {', '.join(missing)}")
        # The demo switches import the task SDK and the flow model: not for a cold /health.
        from flow_manager.demo_switches import demo_switches_enabled

        try:
            catalog = parse_catalog(env["TASK_CATALOG"], "TASK_CATALOG")
        except InvalidCatalog as exc:
            raise ConfigurationError(exc.message) from None
        values: dict[str, object] = {
            "flows_table": env["FLOWS_TABLE"],
            "state_machine_role_arn": env["STATE_MACHINE_ROLE_ARN"],
            "task_catalog": catalog,
            "tracing_enabled": env.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in _TRUE,
            "demo_switches": demo_switches_enabled(env),
        }
        optional = {
            "state_machine_prefix": "STATE_MACHINE_PREFIX",
            "region": "AWS_REGION",
            "run_wait_seconds": "RUN_WAIT_SECONDS",
            "pending_lease_seconds": "PENDING_LEASE_SECONDS",
            "results_bucket": "RESULTS_BUCKET",
            "schedule_group": "SCHEDULE_GROUP",
            "scheduler_role_arn": "SCHEDULER_ROLE_ARN",
        }
        for field, name in optional.items():
            if env.get(name):
                values[field] = env[name]
        if "region" not in values and env.get("AWS_DEFAULT_REGION"):
            values["region"] = env["AWS_DEFAULT_REGION"]
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigurationError(f"invalid settings: {problems}") from None


@cache
def load_settings() -> Settings:
    """The settings of this process, read once (tests call `load_settings.cache_clear()`)."""
    return Settings.from_env()
