"""The seeds' example requests (../shared/seeds/), kept verbatim in tests/fixtures/seeds/.

One copy for every suite: the integration tests (moto) and the e2e tests (HTTP) send
the same bodies the seeds' clients send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"


def seed_request(name: str) -> dict[str, Any]:
    """A fresh copy of a seed's request body, e.g. `seed_request("000_create_flow")`."""
    body: dict[str, Any] = json.loads((SEEDS / f"{name}.json").read_text(encoding="utf-8"))
    return body
