"""Reading generated flowcharts back: the classes and taken edges our generator writes,
and Mermaid's own parser (tests/mermaid, node + jsdom) when it is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

MERMAID_DIR = Path(__file__).resolve().parents[1] / "mermaid"
PARSE_TIMEOUT_SECONDS = 120


def classes(text: str) -> dict[str, str]:
    """node id → class, from the diagram's `class a,b name` lines."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "class":
            for node in parts[1].split(","):
                found[node] = parts[2]
    return found


def edges(text: str) -> list[tuple[str, str, str]]:
    """(source, target, label) of every edge, in order (their linkStyle indexes)."""
    found = []
    for line in text.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[1].startswith(("-->", "-.->")):
            _, _, rest = line.strip().partition(" ")
            label = ""
            if "|" in rest:
                label = rest.split("|")[1].strip('"')
            found.append((parts[0], rest.rsplit(" ", 1)[-1], label))
    return found


def taken(text: str) -> list[tuple[str, str]]:
    """(source, target) of the edges the diagram draws as taken."""
    indexes: list[int] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "linkStyle":
            indexes += [int(i) for i in parts[1].split(",")]
    all_edges = edges(text)
    return [(all_edges[i][0], all_edges[i][1]) for i in indexes]


def mermaid_available() -> bool:
    return shutil.which("node") is not None and (MERMAID_DIR / "node_modules" / "mermaid").is_dir()


def parse(texts: list[str]) -> list[dict[str, Any]]:
    """What Mermaid's parser makes of each text (see tests/mermaid/parse.mjs)."""
    if not mermaid_available():
        pytest.skip("Mermaid's parser is not installed: make tests/mermaid/node_modules")
    done = subprocess.run(
        ["node", str(MERMAID_DIR / "parse.mjs")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=PARSE_TIMEOUT_SECONDS,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results
