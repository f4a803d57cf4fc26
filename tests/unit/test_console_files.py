"""The local console's files (DESIGN §9): what the package ships, the pinned Mermaid copy,
and how the page writes API data (as text, never as HTML)."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest

from flow_manager_local.webui import read_assets

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "local" / "flow_manager_local" / "ui"
VENDOR = UI / "vendor"
LOCK = ROOT / "tests" / "mermaid" / "package-lock.json"
NPM_COPY = ROOT / "tests" / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"


def pinned_mermaid() -> str:
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    version: str = lock["packages"]["node_modules/mermaid"]["version"]
    return version


def test_the_shipped_mermaid_is_the_version_the_tests_pin() -> None:
    # Given the copy in the package and the lock file of the diagram tests
    bundle = (VENDOR / "mermaid.min.js").read_text(encoding="utf-8")
    # When the bundle's own version is read (its package.json stub, and what it hands
    # each diagram's renderer)
    stub = set(re.findall(r'=\{version:"(\d+\.\d+\.\d+)"\}', bundle))
    drawn = set(re.findall(r'renderer\.draw\(\w,\w,"(\d+\.\d+\.\d+)"', bundle))
    # Then it is the pinned one, and the note beside it says so
    assert stub == drawn == {pinned_mermaid()}
    assert f"mermaid {pinned_mermaid()}" in (VENDOR / "README.md").read_text(encoding="utf-8")


def test_the_shipped_mermaid_is_the_npm_packages_file_byte_for_byte() -> None:
    if not NPM_COPY.is_file():
        pytest.skip("tests/mermaid/node_modules is not installed (make unit installs it)")
    shipped = hashlib.sha256((VENDOR / "mermaid.min.js").read_bytes()).hexdigest()
    assert shipped == hashlib.sha256(NPM_COPY.read_bytes()).hexdigest()
    assert shipped in (VENDOR / "README.md").read_text(encoding="utf-8")


def test_mermaids_licence_ships_next_to_it() -> None:
    assert "MIT License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")


def test_every_console_file_is_package_data() -> None:
    # Given the package-data globs of pyproject.toml
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["flow_manager_local"]
    # When every file under ui/ is matched against them
    files = [p.relative_to(UI.parent).as_posix() for p in UI.rglob("*") if p.is_file()]
    missed = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)]
    # Then an installed package ships them all
    assert files
    assert missed == []


def test_the_console_serves_its_page_script_style_and_mermaid() -> None:
    assert {"index.html", "app.js", "app.css", "vendor/mermaid.min.js"} <= set(read_assets())


def test_the_page_never_writes_html_from_strings() -> None:
    # API data (flow names, task results) is hostile: the script builds DOM nodes and text
    script = (UI / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    assert 'securityLevel: "strict"' in script


def test_the_page_has_no_inline_script_or_remote_resource() -> None:
    page = (UI / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.S)
    assert scripts
    assert all(body.strip() == "" for body in scripts)
    assert not re.search(r"\bon\w+\s*=", page)  # no inline event handlers either
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
