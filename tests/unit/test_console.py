"""The local stack's console: prefixed lines, and the noise only with --verbose."""

from __future__ import annotations

import io
import logging

import pytest

from flow_manager_local.console import Console, route_logging

METRIC = '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"FlowCreated":[1.0]}'


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    captured = io.StringIO()
    monkeypatch.setattr("sys.stderr", captured)
    return captured


def test_metric_documents_are_not_shown_by_default() -> None:
    out = io.StringIO()
    Console(out, colour=False).line("ApiFunction", f"{METRIC}\nrequest done")
    assert out.getvalue() == "ApiFunction  | request done\n"


def test_metric_documents_are_shown_when_verbose() -> None:
    out = io.StringIO()
    Console(out, colour=False, verbose=True).line("ApiFunction", METRIC)
    assert METRIC in out.getvalue()


def test_motos_log_is_silent_by_default(stderr: io.StringIO) -> None:
    out = io.StringIO()
    undo = route_logging(Console(out, colour=False))
    try:
        logging.getLogger("moto.stepfunctions.parser").warning("Exception=NoSuchJsonPathError")
    finally:
        undo()
    assert (out.getvalue(), stderr.getvalue()) == ("", "")


def test_motos_log_is_prefixed_when_verbose(stderr: io.StringIO) -> None:
    out = io.StringIO()
    undo = route_logging(Console(out, colour=False, verbose=True))
    try:
        logging.getLogger("moto.stepfunctions.parser").warning("Exception=NoSuchJsonPathError")
    finally:
        undo()
    assert out.getvalue().startswith("moto         | WARNING moto.stepfunctions.parser: ")
    assert stderr.getvalue() == ""
