"""The task catalog: task kind → Lambda function ARN (DESIGN §6).

Each sample kind is a function in template.yaml; the seeds' task names are aliases
of them so the seeds' payloads run unchanged. Internal kinds (`approval`, the
ApprovalFunction that an approval task's state invokes with `.waitForTaskToken`) are in
the catalog so the translator and `compile --catalog` can name their ARN, but no flow
may name one as `task.function`: `user_kinds()` is what a flow may use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from flow_manager.errors import InvalidCatalog

Catalog = Mapping[str, str]

SAMPLE_KINDS: tuple[str, ...] = ("fetch_data", "process_data", "store_data", "print")
APPROVAL_KIND = "approval"
"""Internal kind (not a user's): the function that records an approval's task token."""
ALIASES: Mapping[str, str] = {
    "task1": "fetch_data",
    "task2": "process_data",
    "task3": "store_data",
    "extract": "fetch_data",
    "transform": "process_data",
    "load": "store_data",
}


def describe(catalog: Catalog, limit: int = 12) -> str:
    """`kinds: a, b; aliases: x (of a), ...`: the catalog for an error message, kinds
    apart from the aliases that name them (GET /tasks lists them the same way)."""
    aliases = {
        name: kind
        for name, kind in ALIASES.items()
        if name in catalog and catalog.get(kind) == catalog[name]
    }
    kinds = sorted(k for k in user_kinds(catalog) if k not in aliases)

    def listed(names: list[str]) -> str:
        return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")

    text = f"kinds: {listed(kinds)}"
    if aliases:
        text += f"; aliases: {listed([f'{a} ({k})' for a, k in sorted(aliases.items())])}"
    return text


def logical_id(kind: str) -> str:
    """The template's logical id of a sample kind's function: fetch_data → FetchDataFunction."""
    return "".join(part.capitalize() for part in kind.split("_")) + "Function"


def sample_catalog(arn_for: Callable[[str], str]) -> dict[str, str]:
    """The sample kinds and their aliases, each kind's ARN given by `arn_for(kind)`."""
    catalog = {kind: arn_for(kind) for kind in SAMPLE_KINDS}
    catalog.update({alias: catalog[kind] for alias, kind in ALIASES.items()})
    return catalog


def sam_catalog() -> dict[str, str]:
    """ARNs as SAM `DefinitionSubstitutions` placeholders, for the files in statemachine/
    (the internal `approval` kind included: the ApprovalFunction of DESIGN §3.1)."""

    def arn(kind: str) -> str:
        return "${" + logical_id(kind) + "Arn}"

    return {**sample_catalog(arn), APPROVAL_KIND: arn(APPROVAL_KIND)}


def placeholder_catalog(region: str = "us-east-1", account: str = "123456789012") -> dict[str, str]:
    """Plausible ARNs for offline validation and compilation (the CLI's default)."""

    def arn(kind: str) -> str:
        return f"arn:aws:lambda:{region}:{account}:function:flow-manager-{kind}"

    return {**sample_catalog(arn), APPROVAL_KIND: arn(APPROVAL_KIND)}


def parse_catalog(text: str, source: str = "catalog") -> dict[str, str]:
    """Parse a catalog given as a JSON object of kind → ARN, with errors a person can act on."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidCatalog(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidCatalog(
            f"{source}: expected a JSON object mapping task kinds to Lambda ARNs, "
            f"got {type(raw).__name__}"
        )
    bad = [k for k, v in raw.items() if not isinstance(v, str) or not v]
    if bad:
        raise InvalidCatalog(f"{source}: the ARN of {', '.join(map(repr, bad))} must be a string")
    return dict(raw)


# ---- internal kinds ---------------------------------------------------------------------

INTERNAL_KINDS: tuple[str, ...] = (APPROVAL_KIND,)


def user_kinds(catalog: Catalog) -> dict[str, str]:
    """The kinds a flow's task may name (`task.function`, or its name): all but the
    internal ones, which only the translator uses (GET /tasks lists these)."""
    return {kind: arn for kind, arn in catalog.items() if kind not in INTERNAL_KINDS}
