"""Concurrent updates of one flow on the local stack: does every acknowledged update stay?

    .venv/bin/python benchmarks/concurrent_puts.py [--bursts 28] [--clients 20]

Starts a local stack, creates a flow, then runs bursts of CLIENTS concurrent
`PUT /flows/{id}` that all name the current version in If-Match. After each burst:
- lost: a PUT answered 200 with version N but GET shows another version or definition;
- stuck: the next PUT (If-Match the version GET shows) does not answer 200.
Issue 7 item 13 measured 2 lost of 28 bursts (then stuck for good) before the fix.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from flow_manager_local.client import ApiClient, ApiResponse
from flow_manager_local.launch import ROOT, start_local_stack

FLOW_FILE = ROOT / "events" / "flows" / "data_pipeline.json"


def document(flow_id: str, name: str) -> dict[str, Any]:
    flow = json.loads(FLOW_FILE.read_text(encoding="utf-8"))["flow"]
    return {"flow": {**flow, "id": flow_id, "name": name}}


def burst(api: ApiClient, flow_id: str, version: int, clients: int, tag: str) -> list[Any]:
    answers: list[tuple[str, ApiResponse]] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(n: int) -> None:
        name = f"{tag}-{n}"
        start.wait()
        answer = api.put(
            f"/flows/{flow_id}", document(flow_id, name), headers={"If-Match": f'"{version}"'}
        )
        with lock:
            answers.append((name, answer))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bursts", type=int, default=28)
    parser.add_argument("--clients", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        stack = start_local_stack(Path(scratch) / "serve.log")
        try:
            api = ApiClient.connect(stack.url, timeout=60)
            flow_id = "concurrent_puts"
            created = api.post("/flows", document(flow_id, "start"))
            assert created.status == 201, created.error_line()
            lost = stuck = 0
            statuses: Counter[int] = Counter()
            for round_ in range(options.bursts):
                version = int(api.get(f"/flows/{flow_id}").body["version"])
                answers = burst(api, flow_id, version, options.clients, f"r{round_}")
                statuses.update(a.status for _, a in answers)
                current = api.get(f"/flows/{flow_id}").body
                for name, answer in answers:
                    if answer.status == 200 and (
                        current["version"] != answer.body["version"] or current["name"] != name
                    ):
                        lost += 1
                probe = api.put(
                    f"/flows/{flow_id}",
                    document(flow_id, f"probe{round_}"),
                    headers={"If-Match": f'"{current["version"]}"'},
                )
                if probe.status != 200:
                    stuck += 1
            print(
                f"bursts={options.bursts} clients={options.clients} lost_updates={lost} "
                f"stuck_after_burst={stuck} statuses={dict(sorted(statuses.items()))}"
            )
        finally:
            stack.interrupt()


if __name__ == "__main__":
    main()
