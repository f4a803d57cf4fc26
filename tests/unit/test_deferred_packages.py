"""moto_speedups.defer_package_init: a package's __init__ waits for its first real use."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from flow_manager_local.moto_speedups import defer_package_init
from tests.support.scratch_packages import importable

NAME = "flow_manager_deferred_example"


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """A package whose __init__ leaves a mark when it runs, with one submodule."""
    root = tmp_path / NAME
    root.mkdir()
    (root / "__init__.py").write_text(
        "from pathlib import Path\nPath(__file__).with_name('ran').touch()\nVALUE = 42\n"
    )
    (root / "sub.py").write_text("ANSWER = 'sub'\n")
    with importable(tmp_path, NAME):
        yield root


def test_a_submodule_imports_without_running_its_packages_init(package: Path) -> None:
    # Given the package is deferred
    defer_package_init((NAME,))
    # When one of its submodules is imported
    sub = importlib.import_module(f"{NAME}.sub")
    # Then the submodule works, and the package's __init__ has not run
    assert sub.ANSWER == "sub"
    assert not (package / "ran").exists()


def test_reading_the_package_runs_its_init_once(package: Path) -> None:
    # Given the package is deferred and a submodule imported
    defer_package_init((NAME,))
    importlib.import_module(f"{NAME}.sub")
    # When code reads a name the package's __init__ defines
    value = importlib.import_module(NAME).VALUE
    (package / "ran").unlink()
    again = importlib.import_module(NAME).VALUE
    # Then the __init__ ran (once) and gave it
    assert (value, again) == (42, 42)
    assert not (package / "ran").exists()
