"""One place that writes the local stack's output: whole lines, prefixed, never interleaved.

Worker processes, the gateway and moto all print from their own threads; a line
written through `Console` is written whole, prefixed with who wrote it (a function's
logical id, `gateway`, `stack`), and coloured when the output is a terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import IO, TextIO

_COLOURS = ("36", "35", "33", "32", "34", "91", "96", "95", "93", "92")


METRIC_PREFIX = '{"_aws"'  # an EMF metrics document (Powertools Metrics' flush)


class Console:
    """`verbose`: also the lines most people do not need: the functions' metric
    documents and moto's own log (see `route_logging`)."""

    def __init__(
        self, stream: TextIO | None = None, *, colour: bool | None = None, verbose: bool = False
    ) -> None:
        self._stream = stream or sys.stdout
        self.verbose = verbose
        if colour is None:
            colour = self._stream.isatty() and "NO_COLOR" not in os.environ
        self._colour = colour
        self._lock = threading.Lock()
        self._assigned: dict[str, str] = {}
        self._width = 12

    def _paint(self, source: str) -> str:
        if source not in self._assigned:
            self._assigned[source] = _COLOURS[len(self._assigned) % len(_COLOURS)]
            self._width = max(self._width, len(source))
        label = source.ljust(self._width)
        if not self._colour:
            return label
        return f"\x1b[{self._assigned[source]}m{label}\x1b[0m"

    def register(self, *sources: str) -> None:
        """Give these sources their colours and align every prefix on the longest one."""
        with self._lock:
            for source in sources:
                self._paint(source)

    def line(self, source: str, text: str) -> None:
        """Write `text` (one or more lines) as `source | line`."""
        with self._lock:
            prefix = self._paint(source)
            for part in text.rstrip("\n").split("\n"):
                if not self.verbose and part.lstrip().startswith(METRIC_PREFIX):
                    continue
                self._stream.write(f"{prefix} | {part}\n")
            self._stream.flush()

    def plain(self, text: str) -> None:
        """Write `text` as is (the banner)."""
        with self._lock:
            self._stream.write(text if text.endswith("\n") else text + "\n")
            self._stream.flush()


class _ConsoleHandler(logging.Handler):
    def __init__(self, console: Console, source: str) -> None:
        super().__init__()
        self.console = console
        self.source = source

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.line(self.source, self.format(record))
        except Exception:  # a log line must never break the request that wrote it
            self.handleError(record)


def route_logging(console: Console, logger_name: str = "moto") -> Callable[[], None]:
    """Send `logger_name`'s records (moto's own, e.g. its ASL interpreter's
    `Exception=NoSuchJsonPathError ...` for every failed task) to the console prefixed
    with its name, and only when verbose; returns the undo."""
    logger = logging.getLogger(logger_name)
    handler = _ConsoleHandler(console, logger_name)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.propagate = False  # not also unprefixed through the root (or lastResort) handler
    logger.setLevel(logging.INFO if console.verbose else logging.CRITICAL + 1)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]

    return undo


def pump(stream: IO[str], console: Console, source: str) -> threading.Thread:
    """Copy every line of `stream` to `console` under `source`, in a daemon thread."""

    def run() -> None:
        try:
            for text in stream:
                console.line(source, text)
        except (OSError, ValueError):
            pass  # the pipe went away with its process: nothing more to copy
        finally:
            stream.close()

    thread = threading.Thread(target=run, name=f"logs-{source}", daemon=True)
    thread.start()
    return thread
