"""One version everywhere: pyproject.toml, the package metadata, the layer's constant."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import flow_manager

ROOT = Path(__file__).resolve().parents[2]


def test_the_layers_version_is_pyprojects() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert flow_manager.__version__ == project["version"]


def test_the_layers_version_is_the_installed_packages() -> None:
    assert flow_manager.__version__ == importlib.metadata.version("flow-manager")
