"""Packages a test writes into a scratch directory and imports."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def importable(directory: Path, package: str) -> Iterator[None]:
    """`package`, written below `directory`, importable within; forgotten after (its
    modules leave sys.modules, so the next test imports its own)."""
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
            del sys.modules[name]
