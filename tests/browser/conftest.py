"""The console (/ui) in a real headless browser: Debian's chromium driven by Playwright
(`executable_path`; Playwright's own browser downloads are never used), against the
local stack on free loopback ports, started once for the session.

Without chromium the tests skip saying so, except under CI (`CI=true`), where .ci/run
installs it and a missing browser is a failure. Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flow_manager_local.client import ApiClient
from flow_manager_local.launch import LocalStackProcess, running_local_stack
from tests.e2e.support import ROOT

SCREENSHOTS = ROOT / "build" / "screenshots"
ORDER_FLOW = json.loads((ROOT / "events" / "flows" / "order_flow.json").read_text("utf-8"))
# What the page records of Content-Security-Policy violations (an init script is the
# browser's own, so the policy does not apply to it).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium): no browser to test in")
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[LocalStackProcess]:
    with running_local_stack(tmp_path_factory.mktemp("console-stack") / "serve.log") as process:
        yield process


@pytest.fixture(scope="session")
def api(stack: LocalStackProcess) -> ApiClient:
    return ApiClient.connect(stack.url, timeout=60)


@pytest.fixture(scope="session")
def order_flow(api: ApiClient) -> str:
    """The order sample (events/flows/order_flow.json), created once."""
    response = api.post("/flows", ORDER_FLOW)
    assert response.status in (200, 201), response.error_line()
    return "order_flow"


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, stack: LocalStackProcess) -> Iterator[Any]:
    """A fresh page of the console's origin; it fails the test on a script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=stack.url)
    context.add_init_script(RECORD_VIOLATIONS)
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def violations(page: Any) -> list[str]:
    found: list[str] = page.evaluate("window.__violations")
    return found
