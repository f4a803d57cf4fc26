"""The stack's root template: the one process every function's template is forked from.

It has imported the SDK and pydantic and parsed the models of PRIMED_SERVICES once for
all functions (runtime._Root), so those pages are shared by every function's template
and workers instead of being made again in each; `Spawner` asks it for a function's
template (zygote.Zygote with `root`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from flow_manager_local.console import Console, pump
from flow_manager_local.template import FunctionSpec
from flow_manager_local.worker_processes import (
    BASE_ENVIRONMENT,
    INIT_TIMEOUT_SECONDS,
    PRIMED_SERVICES,
    RUNTIME_SCRIPT,
    STOP_GRACE_SECONDS,
    forced_environment,
)
from flow_manager_local.zygote import Zygote

# Read by the interpreter as it starts (LC_CTYPE, the streams' encoding): a template
# forked from the root template has the root's.
LOCALE_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE")


def root_environment(*, endpoint_url: str, region: str) -> dict[str, str]:
    """What the root template sees (TemplateRoot): no function's own variables."""
    return {**BASE_ENVIRONMENT, **forced_environment(endpoint_url, region)}


class TemplateRoot:
    """The one process every function's template is forked from (runtime._Root): it
    has imported the SDK and parsed the models of PRIMED_SERVICES once for them all.
    Started on first use; if it cannot start, or is not forkable, each template is a
    new process again, as before. It is not forked from for a function whose code or
    layers bring their own copy of a package it imported (a vendored boto3): that
    function's init must import its own; nor for one whose environment sets another
    locale (LOCALE_VARIABLES)."""

    def __init__(self, python: str, environment: Mapping[str, str], console: Console) -> None:
        self.python = python
        self.environment = dict(environment)
        self.console = console
        self._lock = threading.Lock()
        self._zygote: Zygote | None = None
        self._failed = False
        self._closed = False
        self._packages: frozenset[str] = frozenset()
        self._stack_pipe: tuple[int, int] | None = None

    @property
    def pid(self) -> int | None:
        zygote = self._zygote
        return None if zygote is None else zygote.pid

    def zygote(self) -> Zygote | None:
        """The running root, started if need be; None if it cannot be (then never)."""
        with self._lock:
            if self._zygote is not None and self._zygote.alive:
                return self._zygote
            if self._failed or self._closed:
                return None
            if self._zygote is not None:  # it died: new processes from now on
                self._zygote.close(STOP_GRACE_SECONDS)
                self._zygote = None
                self._failed = True
                return None
            if self._stack_pipe is None:
                self._stack_pipe = os.pipe()
            zygote = Zygote(
                [self.python, "-I", "-u", str(RUNTIME_SCRIPT), "flow-manager-root"],
                self.environment,
                {"root": True, "prime": list(PRIMED_SERVICES)},
                RUNTIME_SCRIPT.parent,
                lambda stream: pump(stream, self.console, "templates"),
                stack_fd=self._stack_pipe[0],
            )
            try:
                hello = zygote.wait_ready(INIT_TIMEOUT_SECONDS)
            except (TimeoutError, EOFError):
                hello = {}
            if not hello.get("forkable"):
                self.console.line(
                    "templates",
                    "the root template cannot be forked from: "
                    "every function's template starts as a new process",
                )
                zygote.kill()
                self._failed = True
                return None
            self._packages = frozenset(str(name) for name in hello.get("packages", ()))
            self._zygote = zygote
            return zygote

    def for_function(self, spec: FunctionSpec, environment: Mapping[str, str]) -> Zygote | None:
        """The running root, to fork the function's template from; None if there is
        none, or if a fork would not be as a template started anew: the function's code
        or layers bring one of the root's packages (as a directory, a module or an
        extension), or its environment sets another locale than the root's (the
        interpreter reads it as it starts). A function that puts a directory of its own
        on sys.path as it runs is not seen here."""
        if any(environment.get(name) != self.environment.get(name) for name in LOCALE_VARIABLES):
            return None
        root = self.zygote()
        if root is None:
            return None
        for directory in (spec.code_dir, *spec.layer_dirs):
            for name in self._packages:
                if (directory / name).exists() or any(directory.glob(f"{name}.*")):
                    return None
        return root

    def close(self) -> None:
        """Stop it (the templates it forked were stopped first)."""
        with self._lock:
            self._closed = True
            zygote, self._zygote = self._zygote, None
            if zygote is not None:
                zygote.close(STOP_GRACE_SECONDS)
            if self._stack_pipe is not None:
                for end in self._stack_pipe:
                    os.close(end)
                self._stack_pipe = None
