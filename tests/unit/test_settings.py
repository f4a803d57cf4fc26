"""Settings: the one typed view of ApiFunction's environment (template.yaml's contract)."""

from __future__ import annotations

import json

import pytest

from flow_manager.errors import ConfigurationError
from flow_manager.settings import Settings

CATALOG = {"fetch_data": "arn:aws:lambda:us-east-1:123456789012:function:f"}
ENVIRONMENT = {
    "FLOWS_TABLE": "flows",
    "STATE_MACHINE_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
    "STATE_MACHINE_PREFIX": "stack_",
    "TASK_CATALOG": json.dumps(CATALOG),
    "AWS_REGION": "eu-west-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def test_the_template_environment_reads_into_settings() -> None:
    settings = Settings.from_env(ENVIRONMENT)
    assert settings.flows_table == "flows"
    assert settings.state_machine_prefix == "stack_"
    assert settings.task_catalog == CATALOG
    assert settings.region == "eu-west-1"
    assert settings.tracing_enabled is False


def test_tracing_is_on_unless_powertools_is_told_it_is_disabled() -> None:
    environment = {k: v for k, v in ENVIRONMENT.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    assert Settings.from_env(environment).tracing_enabled is True
    assert Settings.from_env({**ENVIRONMENT, "POWERTOOLS_TRACE_DISABLED": "false"}).tracing_enabled


def test_a_missing_variable_is_named() -> None:
    environment = {k: v for k, v in ENVIRONMENT.items() if k != "FLOWS_TABLE"}
    with pytest.raises(ConfigurationError, match="FLOWS_TABLE"):
        Settings.from_env(environment)


def test_a_catalog_that_is_not_json_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="TASK_CATALOG"):
        Settings.from_env({**ENVIRONMENT, "TASK_CATALOG": "{nope"})


def test_an_invalid_wait_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="run_wait_seconds"):
        Settings.from_env({**ENVIRONMENT, "RUN_WAIT_SECONDS": "forever"})
