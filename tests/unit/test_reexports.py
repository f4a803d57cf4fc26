"""reexports.defer: a package whose __init__ only re-exports is loaded name by name,
and any other __init__ runs as usual; Powertools' two such packages stay unloaded in a
cold ApiFunction, and give the same objects as when imported as usual."""

from __future__ import annotations

import importlib
import json
import py_compile
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.fresh_api import API, run_fresh
from tests.support.scratch_packages import importable

NAME = "flow_manager_reexports_example"
MakePackage = Callable[..., Path]

sys.path.insert(0, str(API))
from reexports import DEFERRED, defer  # noqa: E402


@pytest.fixture
def make_package(tmp_path: Path) -> Iterator[MakePackage]:
    """Writes a package NAME with the given __init__ and submodules; each submodule
    leaves a mark (a file named after it) when it runs."""

    def make(init: str, **submodules: str) -> Path:
        root = tmp_path / NAME
        root.mkdir()
        (root / "__init__.py").write_text(init)
        for name, body in submodules.items():
            mark = f"__import__('pathlib').Path(__file__).with_name('ran-{name}').touch()\n"
            (root / f"{name}.py").write_text(mark + body)
        return root

    with importable(tmp_path, NAME):
        yield make


REEXPORTING = '''"""Two names from two submodules."""
from __future__ import annotations
from .alpha import Alpha
from flow_manager_reexports_example.beta import make as make_beta
from . import gamma
__all__ = ["Alpha", "make_beta", "gamma"]
'''
SUBMODULES = {
    "alpha": "class Alpha: ...\n",
    "beta": "def make(): return 'beta'\n",
    "gamma": "VALUE = 3\n",
}


def test_a_deferred_package_runs_no_submodule_until_a_name_is_read(
    make_package: MakePackage,
) -> None:
    # Given a package whose __init__ only re-exports
    root = make_package(REEXPORTING, **SUBMODULES)
    # When it is deferred and imported
    assert defer(NAME)
    package = importlib.import_module(NAME)
    # Then no submodule ran, and its __all__ is known
    assert sorted(p.name for p in root.glob("ran-*")) == []
    assert package.__all__ == ["Alpha", "make_beta", "gamma"]


def test_reading_a_name_imports_only_its_submodule_and_gives_its_object(
    make_package: MakePackage,
) -> None:
    # Given a deferred re-exporting package
    root = make_package(REEXPORTING, **SUBMODULES)
    defer(NAME)
    # When one name is imported from it, another read, and a submodule named
    from flow_manager_reexports_example import Alpha  # type: ignore[import-not-found]

    package = importlib.import_module(NAME)
    made = package.make_beta()
    gamma = package.gamma
    # Then each is the submodule's own object, and only those submodules ran
    assert Alpha is importlib.import_module(f"{NAME}.alpha").Alpha
    assert made == "beta"
    assert gamma is importlib.import_module(f"{NAME}.gamma")
    assert gamma.VALUE == 3
    assert sorted(p.name for p in root.glob("ran-*")) == ["ran-alpha", "ran-beta", "ran-gamma"]
    assert {"Alpha", "make_beta", "gamma"} <= set(dir(package))


def test_a_name_the_init_does_not_import_is_an_attribute_error(make_package: MakePackage) -> None:
    # Given a deferred re-exporting package
    make_package(REEXPORTING, **SUBMODULES)
    defer(NAME)
    # When a name it never had is read
    # Then it is the AttributeError a plain package gives, naming the name
    with pytest.raises(AttributeError, match="has no attribute 'Missing'"):
        _ = importlib.import_module(NAME).Missing


def test_a_submodule_the_init_does_not_name_still_imports(make_package: MakePackage) -> None:
    # Given a deferred re-exporting package with a submodule its __init__ leaves out
    make_package(REEXPORTING, **SUBMODULES, delta="VALUE = 4\n")
    defer(NAME)
    # When that submodule is imported
    delta = importlib.import_module(f"{NAME}.delta")
    # Then it is the submodule
    assert delta.VALUE == 4


def test_a_submodule_the_init_imports_from_is_an_attribute_as_after_a_usual_import(
    make_package: MakePackage,
) -> None:
    # Given a deferred re-exporting package
    make_package(REEXPORTING, **SUBMODULES)
    defer(NAME)
    # When a submodule its __init__ imports from is read as an attribute, never imported
    package = importlib.import_module(NAME)
    # Then it is that submodule, as the usual import would have made it, and the
    # package keeps its docstring
    assert package.alpha is importlib.import_module(f"{NAME}.alpha")
    assert package.__doc__ == "Two names from two submodules."


def test_a_name_that_is_also_a_submodules_stays_the_name_when_the_submodule_is_imported(
    make_package: MakePackage,
) -> None:
    # Given a deferred package that re-exports a function named as its own submodule
    make_package(
        "from .event_source import event_source\n",
        event_source="def event_source(): return 'decorator'\n",
    )
    defer(NAME)
    # When the submodule is imported before the name is read
    importlib.import_module(f"{NAME}.event_source")
    from flow_manager_reexports_example import event_source

    # Then the name is still the function, as the usual import leaves it
    assert callable(event_source)
    assert event_source() == "decorator"


def test_an_attribute_error_inside_a_submodule_is_an_import_error_that_names_it(
    make_package: MakePackage,
) -> None:
    # Given a deferred package whose submodule fails with an AttributeError on import
    make_package("from .broken import Name\n", broken="import os\nos.no_such_function()\n")
    defer(NAME)
    # When the name is read
    # Then the error says what failed, not that the package has no such name
    with pytest.raises(ImportError, match="no_such_function"):
        _ = importlib.import_module(NAME).Name


def test_a_package_without_its_source_is_imported_as_usual(make_package: MakePackage) -> None:
    # Given a re-exporting package whose __init__ is there as bytecode only
    root = make_package("from .alpha import Alpha\n", **SUBMODULES)
    py_compile.compile(str(root / "__init__.py"), cfile=str(root / "__init__.pyc"))
    (root / "__init__.py").unlink()
    # When it is asked to be deferred
    # Then it is imported as usual, and works
    assert defer(NAME) is False
    assert (root / "ran-alpha").exists()
    assert importlib.import_module(NAME).Alpha.__name__ == "Alpha"


@pytest.mark.parametrize(
    "statement",
    [
        "print('side effect')",
        "VALUE = 1",
        "if True:\n    from .alpha import Alpha",
        "from .alpha import *",
        "import os",
        "__all__ = sorted(['Alpha'])",
    ],
)
def test_an_init_that_does_more_than_import_runs_as_usual(
    make_package: MakePackage, statement: str
) -> None:
    # Given an __init__ that re-exports and does one thing more
    root = make_package(f"from .alpha import Alpha\n{statement}\n", **SUBMODULES)
    # When it is asked to be deferred
    deferred = defer(NAME)
    # Then it is not: the package was imported as usual, its __init__ ran whole
    assert deferred is False
    assert (root / "ran-alpha").exists()
    assert importlib.import_module(NAME).Alpha is importlib.import_module(f"{NAME}.alpha").Alpha


def test_a_package_imported_already_is_left_as_it_is(make_package: MakePackage) -> None:
    # Given a re-exporting package imported as usual
    make_package(REEXPORTING, **SUBMODULES)
    package = importlib.import_module(NAME)
    # When it is asked to be deferred
    # Then nothing changes
    assert defer(NAME) is False
    assert sys.modules[NAME] is package


# A fresh process: with `defer` (argv[1] == "app": imports app, which defers) or without
# (imports the packages as usual), prints where each exported name's object comes from,
# and which of the modules the deferral should spare were imported.
CHILD = r"""
import importlib, json, sys
if sys.argv[1] == "app":
    import app
packages = json.loads(sys.argv[2])
names = {}
for package in packages:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        where = getattr(value, "__module__", "?")
        names[f"{package}.{name}"] = f"{where}.{getattr(value, '__qualname__', repr(value))}"
spared = ["asyncio", "aws_lambda_powertools.event_handler.appsync",
          "aws_lambda_powertools.utilities.data_classes.kinesis_stream_event"]
print(json.dumps({"names": names, "imported": [m for m in spared if m in sys.modules]}))
"""


def _fresh(mode: str, *, read: tuple[str, ...]) -> dict[str, object]:
    result: dict[str, object] = run_fresh(CHILD, mode, json.dumps(list(read)))
    return result


def test_a_cold_api_function_imports_no_resolver_or_event_class_it_does_not_use() -> None:
    # Given the Powertools this project pins
    # When a fresh process imports ApiFunction's app
    cold = _fresh("app", read=())
    # Then AppSync's resolver (and asyncio) and the event classes of other services are
    # not imported: Powertools' __init__ files still only re-export, and are deferred
    assert cold["imported"] == []


def test_every_deferred_name_is_what_a_usual_import_gives() -> None:
    # Given every name Powertools' deferred packages export
    # When they are read after ApiFunction deferred them, and after a usual import
    deferred = _fresh("app", read=DEFERRED)["names"]
    usual = _fresh("plain", read=DEFERRED)["names"]
    # Then each is the class or function of the same name from the same module (two
    # processes: compared by where each comes from)
    assert isinstance(deferred, dict)
    assert len(deferred) > 30
    assert deferred == usual
