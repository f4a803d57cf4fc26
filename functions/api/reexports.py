"""Packages whose `__init__` only re-exports names, loaded one name at a time.

Importing `aws_lambda_powertools.event_handler.api_gateway` runs the package's
`__init__` first, which imports every resolver Powertools has: AppSync's brings asyncio,
Bedrock's and VPC Lattice's their models. `api_gateway` in turn imports names from
`utilities.data_classes`, whose `__init__` imports every event class (Kinesis, S3, SQS,
Cognito, ...). ApiFunction uses one resolver and one event class: the rest was ~30 % of
its cold start (`benchmarks/cold_start.py`).

`defer(package)` puts the package in `sys.modules` without running its `__init__`; a
name the `__init__` would have imported is imported from its submodule on first access
(PEP 562 `__getattr__`), so `from package import Name` gives the very same object.
That holds only while the `__init__` does nothing but import: so it is read (with
`ast`, not run) first, and any other statement (a call, an assignment other than
`__all__`, a loop) makes `defer` import the package as usual. A Powertools upgrade can
cost the cold start this saves, never the behaviour; `tests/unit/test_reexports.py`
says when it does.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys

DEFERRED = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")


def defer(package: str) -> bool:
    """Whether `package` is now deferred (False: it was imported already, or its
    `__init__` does more than import, and has just been imported as usual)."""
    if package in sys.modules:
        return False
    spec = importlib.util.find_spec(package)
    sources = None
    if spec is not None and spec.origin and spec.submodule_search_locations is not None:
        with open(spec.origin, encoding="utf-8") as file:
            sources = _reexported(ast.parse(file.read()), package)
    if spec is None or sources is None:
        importlib.import_module(package)
        return False
    module = importlib.util.module_from_spec(spec)
    names, exported = sources

    def __getattr__(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        source, original = names[name]
        if source == package:  # `from . import submodule`
            value: object = importlib.import_module(f"{package}.{original}")
        else:
            value = getattr(importlib.import_module(source), original)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(module.__dict__) | set(names))

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__dir__ = __dir__  # type: ignore[method-assign]
    if exported is not None:
        module.__all__ = exported  # type: ignore[attr-defined]
    sys.modules[package] = module
    parent, _, child = package.rpartition(".")
    if parent:
        setattr(importlib.import_module(parent), child, module)
    return True


def _reexported(
    tree: ast.Module, package: str
) -> tuple[dict[str, tuple[str, str]], list[str] | None] | None:
    """What an `__init__` made of imports only binds ({name: (the module it comes from,
    its name there)}, and its `__all__`), or None when it does anything else."""
    names: dict[str, tuple[str, str]] = {}
    exported: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and not any(a.name == "*" for a in node.names):
            if node.module == "__future__":
                continue
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                names[alias.asname or alias.name] = (source, alias.name)
            continue
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__all__"
        ):
            try:
                exported = [str(name) for name in ast.literal_eval(node.value)]
            except ValueError:
                return None
            continue
        return None
    return names, exported


for _package in DEFERRED:
    defer(_package)
