"""A task function's module, loaded from functions/tasks/<kind>/app.py on its own (every
function's module is named `app`, so each gets a name of its own here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_task_app(kind: str, prefix: str = "task_app") -> ModuleType:
    """A fresh copy each time it is given a new `prefix`: its import runs again."""
    path = ROOT / "functions" / "tasks" / kind / "app.py"
    spec = importlib.util.spec_from_file_location(f"{prefix}_{kind}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
