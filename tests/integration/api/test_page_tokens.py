"""Page tokens over the API: issued signed by the stack, refused when forged, tampered
or brought to another list (issue 7, item 6; DESIGN §11)."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

from flow_manager import aws
from flow_manager.paging import KEY_PK, KEY_SK, StoredKey
from tests.integration.api.conftest import Api
from tests.integration.api.samples import single
from tests.support.sfn import REGION


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def flows(api: Api, count: int) -> None:
    for n in range(count):
        api.create(single(f"flow{n}"))


def executions(api: Api, flow_id: str, count: int) -> None:
    for n in range(count):
        answer = api.request("POST", f"/flows/{flow_id}/executions", {"context": {"n": n}})
        assert answer.status == 202, answer.text
        api.wait(answer.body["execution_id"])


def refused(api: Api, path: str) -> bool:
    answer = api.request("GET", path)
    return answer.status == 400 and answer.error_code == "InvalidPageToken"


def test_a_flow_list_token_round_trips(api: Api) -> None:
    flows(api, 3)
    first = api.request("GET", "/flows?limit=2").body
    second = api.request("GET", f"/flows?limit=2&next_token={first['next_token']}").body
    assert [f["flow_id"] for f in first["flows"] + second["flows"]] == ["flow0", "flow1", "flow2"]


def test_a_forged_flow_list_token_is_a_bad_request(api: Api) -> None:
    # Given a token made up the way the unsigned tokens were: base64 of list and position
    flows(api, 3)
    position = {"pk": "FLOW#flow1", "sk": "FLOW", "gsi1pk": "FLOWS", "gsi1sk": "flow1"}
    forged = b64(json.dumps({"k": "flows", "p": position}).encode())
    # When a client pages with it
    # Then 400 InvalidPageToken (it used to answer 200 from that position)
    assert refused(api, f"/flows?next_token={forged}")
    assert refused(api, f"/flows?next_token={forged}.{b64(b'0' * 16)}")


def test_a_tampered_flow_list_token_is_a_bad_request(api: Api) -> None:
    flows(api, 3)
    token = api.request("GET", "/flows?limit=1").body["next_token"]
    payload, tag = token.split(".")
    position = json.loads(base64.urlsafe_b64decode(payload + "=="))
    position["p"]["gsi1sk"] = "flow0x"
    changed = b64(json.dumps(position, separators=(",", ":"), sort_keys=True).encode())
    assert refused(api, f"/flows?next_token={changed}.{tag}")


def test_a_flow_list_token_is_refused_by_an_execution_list(api: Api) -> None:
    flows(api, 2)
    token = api.request("GET", "/flows?limit=1").body["next_token"]
    assert refused(api, f"/flows/flow0/executions?next_token={token}")


def test_an_execution_list_token_is_refused_by_another_flows_list(api: Api) -> None:
    # Given two flows with executions, and a token of the first one's list
    flows(api, 2)
    executions(api, "flow0", 2)
    executions(api, "flow1", 2)
    token = api.request("GET", "/flows/flow0/executions?limit=1").body["next_token"]
    assert token is not None
    # When it is used on the second flow's list, or on the flow list
    # Then neither takes it; its own list does
    assert refused(api, f"/flows/flow1/executions?limit=1&next_token={token}")
    assert refused(api, f"/flows?next_token={token}")
    own = api.request("GET", f"/flows/flow0/executions?limit=1&next_token={token}")
    assert own.status == 200
    assert len(own.body["executions"]) == 1


def test_a_forged_execution_list_token_is_a_bad_request(api: Api) -> None:
    flows(api, 1)
    forged = b64(json.dumps({"k": "executions:flow0:*", "p": {"sfn": "x"}}).encode())
    assert refused(api, f"/flows/flow0/executions?next_token={forged}")


def test_the_key_is_made_once_and_shared_by_every_container(api: Api) -> None:
    # Given a stack whose table has no key yet, and eight containers asking at once
    table = api.module.flows().store.table
    keys = [StoredKey(table, REGION) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda key: key(), keys))
    # Then they all use the one key the table keeps
    item = aws.client("dynamodb", REGION).get_item(
        TableName=table, Key={"pk": {"S": KEY_PK}, "sk": {"S": KEY_SK}}
    )["Item"]
    assert len(set(found)) == 1
    assert found[0] == bytes(item["key"]["B"])
    assert len(found[0]) == 32


def test_a_token_issued_by_one_container_is_taken_by_another(api: Api) -> None:
    flows(api, 2)
    token = api.request("GET", "/flows?limit=1").body["next_token"]
    api.module.reset()  # a new container: services, and the key, read afresh
    assert api.request("GET", f"/flows?limit=1&next_token={token}").status == 200
