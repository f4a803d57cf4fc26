"""The domain services a request uses, made on first use from the typed settings (so a
cold /health builds none of them, and no AWS client exists before a route needs it),
or all at once before a SnapStart snapshot (`prime`)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from flow_manager.settings import load_settings

if TYPE_CHECKING:  # imported by the first call: a router needs only its own services
    from flow_manager.executions import Executions
    from flow_manager.flows import Flows
    from flow_manager.schedules import Schedules


@cache
def flows() -> Flows:
    from flow_manager.flows import Flows

    return Flows.from_settings(load_settings())


@cache
def executions() -> Executions:
    from flow_manager.executions import Executions

    return Executions(flows())


@cache
def schedules() -> Schedules:
    from flow_manager.schedules import Schedules

    return Schedules(executions())


def prime() -> None:
    """Make now what the routes make on first use: the services, their domain modules
    and the AWS clients they call (a SnapStart hook: flow_manager/snapstart.py)."""
    from flow_manager.aws import client
    from flow_manager.errors import ConfigurationError
    from flow_manager.results_store import s3_client
    from flow_manager.stored_reports import StoredReports  # noqa: F401  (every finished GET)

    try:
        settings = load_settings()
    except ConfigurationError:
        return  # every route that needs the settings answers 500 and logs why
    schedules()  # and the executions and flows behind them
    for service in ("dynamodb", "stepfunctions", "scheduler"):
        client(service, settings.region)
    if settings.results_bucket:
        s3_client(settings.region)


def reset() -> None:
    """Forget the settings and the services made from them (tests change the environment).
    AWS clients are kept: they depend on the service and region only."""
    load_settings.cache_clear()
    flows.cache_clear()
    executions.cache_clear()
    schedules.cache_clear()
