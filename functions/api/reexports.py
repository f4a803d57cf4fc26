"""Packages whose `__init__` only re-exports names, loaded one name at a time.

Importing `aws_lambda_powertools.event_handler.api_gateway` runs the package's
`__init__` first, which imports every resolver Powertools has: AppSync's brings asyncio,
Bedrock's and VPC Lattice's their models. `api_gateway` in turn imports names from
`utilities.data_classes`, whose `__init__` imports every event class (Kinesis, S3, SQS,
Cognito, ...). ApiFunction uses one resolver and one event class: the rest was ~30 % of
its cold start (`benchmarks/cold_start.py`).

`defer(package)` puts the package in `sys.modules` without running its `__init__`; a
name the `__init__` would have imported is imported from its submodule on first access
(PEP 562 `__getattr__`), so `from package import Name` gives the very same object, and
a submodule it imports from is an attribute of the package, as after a usual import.
That holds only while the `__init__` does nothing but import: so it is read (with
`ast`, not run) first, and any other statement (a call, an assignment other than
`__all__`, a loop) makes `defer` import the package as usual. A Powertools upgrade can
cost the cold start this saves, never the behaviour; `tests/unit/test_reexports.py`
says when it does.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec, SourceFileLoader
from pathlib import Path

DEFERRED = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")


def defer(package: str) -> bool:
    """Whether `package` is now deferred (False: it was imported already, or its
    `__init__` does more than import, or cannot be read, and has just been imported as
    usual)."""
    if package in sys.modules:
        return False
    spec = importlib.util.find_spec(package)  # imports its parent, which may import it
    if package in sys.modules:
        return False
    tree = _source(spec)
    sources = None if tree is None else _reexported(tree, package)
    if spec is None or tree is None or sources is None:
        importlib.import_module(package)
        return False
    module = importlib.util.module_from_spec(spec)
    names, exported = sources

    def __getattr__(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        source, attribute = names[name]
        try:
            value: object = importlib.import_module(source)
        except AttributeError as error:  # not "no such name": `from` would say so
            raise ImportError(f"importing {source} for {package}.{name}: {error}") from error
        if attribute is not None:
            value = getattr(value, attribute)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(module.__dict__) | set(names))

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__dir__ = __dir__  # type: ignore[method-assign]
    module.__doc__ = ast.get_docstring(tree, clean=False)
    if exported is not None:
        module.__all__ = exported  # type: ignore[attr-defined]
    sys.modules[package] = module
    parent, _, child = package.rpartition(".")
    if parent:
        setattr(importlib.import_module(parent), child, module)
    # A name that is also a submodule's (`from .event_source import event_source`): an
    # import of the submodule would set the package's attribute to the module, before a
    # first read could give the name. So it is read now.
    for name in names.keys() & _submodules(spec):
        if names[name][1] is not None:
            __getattr__(name)
    return True


def _source(spec: ModuleSpec | None) -> ast.Module | None:
    """A package's `__init__` as a tree, or None: not a package of source files."""
    if spec is None or spec.submodule_search_locations is None:
        return None
    if not isinstance(spec.loader, SourceFileLoader) or not spec.origin:
        return None  # bytecode only, a zip, a namespace package
    try:
        return ast.parse(spec.loader.get_source(spec.name) or "", spec.origin)
    except (OSError, UnicodeError, SyntaxError, ValueError):
        return None


def _submodules(spec: ModuleSpec) -> set[str]:
    """The names of a package's submodules (modules and packages) on disk."""
    found: set[str] = set()
    for location in spec.submodule_search_locations or ():
        with contextlib.suppress(OSError):
            for entry in os.scandir(location):
                if entry.name.endswith(".py") and entry.is_file():
                    found.add(entry.name[:-3])
                elif entry.is_dir() and Path(entry.path, "__init__.py").is_file():
                    found.add(entry.name)
    return found


def _reexported(
    tree: ast.Module, package: str
) -> tuple[dict[str, tuple[str, str | None]], list[str] | None] | None:
    """What an `__init__` made of imports only binds ({name: (the module it comes from,
    its name there, or None: the module itself)}, and its `__all__`), or None when it
    does anything else. A submodule it imports from is bound too, as an import binds it."""
    names: dict[str, tuple[str, str | None]] = {}
    submodules: dict[str, tuple[str, str | None]] = {}
    exported: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and not any(a.name == "*" for a in node.names):
            if node.module == "__future__":
                continue
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                if source == package:  # `from . import submodule`
                    names[alias.asname or alias.name] = (f"{package}.{alias.name}", None)
                else:
                    names[alias.asname or alias.name] = (source, alias.name)
            if source.startswith(f"{package}."):
                child = source[len(package) + 1 :].split(".")[0]
                submodules[child] = (f"{package}.{child}", None)
            continue
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__all__"
        ):
            try:
                exported = [str(name) for name in ast.literal_eval(node.value)]
            except (ValueError, TypeError, SyntaxError):  # not a literal
                return None
            continue
        return None
    return {**submodules, **names}, exported


for _package in DEFERRED:
    defer(_package)
