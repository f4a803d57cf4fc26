"""What the local console (/ui) ships, and how soon after `flow-manager serve` starts a
person sees an execution's path drawn.

    .venv/bin/python benchmarks/console.py

Prints:
- bytes per file under /ui, as served plainly and gzip-compressed (Accept-Encoding);
- from launching `flow-manager serve` to a drawn execution page in headless chromium:
  the stack healthy, the order sample created, an execution started and its page open
  with the diagram of its path drawn (and each step's time).

Needs Debian's chromium (apt-get install chromium). Nothing here asserts.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from flow_manager_local.client import ApiClient
from flow_manager_local.launch import ROOT, start_local_stack
from flow_manager_local.webui import read_assets

ORDER_FLOW = ROOT / "events" / "flows" / "order_flow.json"
CONTEXT = {"amount": 10, "country": "DE", "records": [{"id": "a", "value": 1}]}


def served_bytes(url: str, name: str, gzip: bool) -> int:
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    request = urllib.request.Request(f"{url}/ui/{name}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(response.read())


def main() -> int:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.mkdtemp()) / "serve.log"
    began = time.perf_counter()
    stack = start_local_stack(log)
    try:
        healthy = time.perf_counter()
        api = ApiClient.connect(stack.url, timeout=60)
        api.post("/flows", json.loads(ORDER_FLOW.read_text("utf-8")))
        started = api.post("/flows/order_flow/executions", {"context": CONTEXT})
        execution_id = started.body["execution_id"]
        posted = time.perf_counter()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium)
            launched = time.perf_counter()
            page = browser.new_page()
            page.goto(f"{stack.url}/ui/#/executions/{execution_id}")
            page.wait_for_selector("#diagram[data-state=drawn] svg", timeout=60_000)
            drawn = time.perf_counter()
            browser.close()
        print("console files (bytes as served: plain / gzip):")
        total_plain = total_gzip = 0
        for name in sorted(read_assets()):
            plain = served_bytes(stack.url, name, gzip=False)
            packed = served_bytes(stack.url, name, gzip=True)
            total_plain, total_gzip = total_plain + plain, total_gzip + packed
            print(f"  /ui/{name:<24} {plain:>9,} / {packed:>9,}")
        print(f"  {'total':<28} {total_plain:>9,} / {total_gzip:>9,}")
        print("from `flow-manager serve` to a drawn execution page:")
        print(f"  stack healthy              {healthy - began:6.2f} s")
        print(f"  flow created, run started  {posted - healthy:6.2f} s")
        print(f"  chromium launched          {launched - posted:6.2f} s")
        print(f"  page open, path drawn      {drawn - launched:6.2f} s")
        print(f"  total                      {drawn - began:6.2f} s")
    finally:
        stack.interrupt()
    return 0


if __name__ == "__main__":
    sys.exit(main())
