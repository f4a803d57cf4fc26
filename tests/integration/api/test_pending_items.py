"""What a killed request leaves pending is cleaned by DynamoDB's TTL (template.yaml),
and nothing published ever expires."""

from __future__ import annotations

import os
from typing import Any

import pytest

from flow_manager import aws
from flow_manager.store import PENDING_TTL_SECONDS, TTL_ATTRIBUTE, flow_pk, version_sk
from tests.integration.api.conftest import Api
from tests.integration.api.samples import chain
from tests.integration.api.test_convergence import fail_once
from tests.support.sfn import REGION


def raw_item(sk: str) -> dict[str, Any]:
    db = aws.client("dynamodb", REGION)
    key = {"pk": {"S": flow_pk("data_pipeline")}, "sk": {"S": sk}}
    item: dict[str, Any] = db.get_item(TableName=os.environ["FLOWS_TABLE"], Key=key)["Item"]
    return item


def test_the_flows_table_expires_items_by_their_ttl_attribute(api: Api) -> None:
    # Given the FlowsTable made from template.yaml / When its TTL is described
    db = aws.client("dynamodb", REGION)
    ttl = db.describe_time_to_live(TableName=os.environ["FLOWS_TABLE"])
    # Then it is on, on the attribute pending items carry
    assert ttl["TimeToLiveDescription"]["AttributeName"] == TTL_ATTRIBUTE
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def test_an_abandoned_create_expires_a_day_after_its_lease(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a creation that died after writing its pending head and version
    fail_once(api.module.flows().engine, "publish", monkeypatch)
    api.request("POST", "/flows", {"flow": chain()})
    # When its items are read
    head, version = raw_item("FLOW"), raw_item(version_sk(1))
    # Then both expire a day after their lease
    for item in (head, version):
        lease = int(item["lease_until"]["N"])
        assert int(item[TTL_ATTRIBUTE]["N"]) == lease + PENDING_TTL_SECONDS


def test_a_published_flow_never_expires(api: Api) -> None:
    # Given a flow created to the end / When its items are read
    api.create(chain())
    head, version = raw_item("FLOW"), raw_item(version_sk(1))
    # Then neither carries the TTL attribute
    assert TTL_ATTRIBUTE not in head
    assert TTL_ATTRIBUTE not in version
