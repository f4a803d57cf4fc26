"""Many clients updating one flow at once (issue 7 item 13): one wins each round, what
it was told is what every later read sees, and the flow stays updatable."""

from __future__ import annotations

import threading

from tests.integration.api.conftest import Answer, Api
from tests.integration.api.samples import chain, renamed

CLIENTS = 20
BURSTS = 4


def burst(api: Api, version: int, tag: str) -> list[Answer]:
    """CLIENTS concurrent PUTs that all read `version`, each with its own definition."""
    answers: list[Answer] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        body = {"flow": renamed(chain(), f"{tag}-{n}")}
        start.wait()
        answer = api.request(
            "PUT", "/flows/data_pipeline", body, headers={"If-Match": f'"{version}"'}
        )
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_updates_never_lose_the_acknowledged_one(api: Api) -> None:
    # Given a flow at version 1
    api.create(chain())
    version = 1
    for round_ in range(BURSTS):
        # When twenty clients update it from the same version at once
        answers = burst(api, version, f"round{round_}")
        # Then exactly one is told it made the next version, the others are refused
        winners = [a for a in answers if a.status == 200]
        assert len(winners) == 1, sorted(a.status for a in answers)
        assert all(a.status in (409, 412) for a in answers if a.status != 200)
        (winner,) = winners
        # And what the winner was told is what reads see
        current = api.request("GET", "/flows/data_pipeline").body
        assert (current["version"], current["name"]) == (
            winner.body["version"],
            winner.body["name"],
        )
        assert current["version"] == version + 1
        version = current["version"]
    # And the flow still takes the next update
    last = api.request(
        "PUT",
        "/flows/data_pipeline",
        {"flow": renamed(chain(), "after")},
        headers={"If-Match": f'"{version}"'},
    )
    assert (last.status, last.body["version"]) == (200, version + 1)
