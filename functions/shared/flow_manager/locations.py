"""Problems that name what they point at: `flow.conditions[1]` is also `condition 'c2'`.

A location stays the machine-readable path (clients match on it); the message gains
the name of the task, condition or branch the path ends in, and every
`...conditions[N]` / `...tasks[N]` it mentions is followed by that item's name, so a
person need not count list items to find the mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flow_manager.errors import Problem

MAX_NAME_SHOWN = 80
_NAMED_LISTS = {"tasks": "task", "conditions": "condition", "branches": "branch"}
_SEGMENT = re.compile(r"([A-Za-z_]\w*)((?:\[\d+\])*)")
_INDEXED = re.compile(r"\b((?:[A-Za-z_]\w*(?:\[\d+\])*\.)*(?:tasks|conditions|branches)\[\d+\])")


def item_name(document: object, path: str) -> str | None:
    """`condition 'c2'` for a path into `document` ending in conditions[1] (or deeper
    inside it); None when the path names no task, condition or branch by index."""
    node: Any = document
    named: str | None = None
    for match in _SEGMENT.finditer(path):
        key, indexes = match.group(1), match.group(2)
        node = node.get(key) if isinstance(node, Mapping) else None
        for index in re.findall(r"\d+", indexes):
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
            kind = _NAMED_LISTS.get(key)
            if kind is None:
                continue
            name = node.get("name") if isinstance(node, Mapping) else None
            # A name too long to be one (it has its own problem) would only be noise.
            usable = isinstance(name, str) and 0 < len(name) <= MAX_NAME_SHOWN
            named = f"{kind} '{name}'" if usable else None
    return named


def with_names(problems: Iterable[Problem], document: object) -> list[Problem]:
    """Each problem with the names of the items its location and message index."""
    return [_named(problem, document) for problem in problems]


def _named(problem: Problem, document: object) -> Problem:
    original = problem.message

    def name_reference(match: re.Match[str]) -> str:
        name = item_name(document, match.group(1))
        if name is None or name.split(" ", 1)[1] in original:  # named already
            return match.group(1)
        return f"{match.group(1)} ({name})"

    message = _INDEXED.sub(name_reference, original)
    own = item_name(document, problem.location)
    if own and own.split(" ", 1)[1] not in message:  # the message may name it already
        message = f"{own}: {message}"
    return Problem(problem.location, message)
