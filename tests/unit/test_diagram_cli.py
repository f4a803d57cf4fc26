"""`flow-manager diagram`: a flow file drawn offline, and its usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flow_manager.diagram import flow_diagram
from flow_manager.model import FlowDocument
from flow_manager_local.cli import main

ROOT = Path(__file__).parents[2]
ORDER = ROOT / "events" / "flows" / "order_flow.json"


def test_diagram_of_a_file_prints_the_generators_flowchart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagram", str(ORDER)]) == 0
    expected = flow_diagram(FlowDocument.model_validate_json(ORDER.read_text()).flow)
    assert capsys.readouterr().out == expected


def test_diagram_of_an_invalid_file_lists_its_problems_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(ORDER.read_text())
    document["flow"]["start_task"] = "nowhere"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    assert main(["diagram", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "invalid flow" in captured.err
    assert "nowhere" in captured.err


def test_diagram_without_a_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram"]) == 2
    assert "FILE, a FLOW_ID or --execution" in capsys.readouterr().err


def test_diagram_of_a_file_with_an_execution_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagram", str(ORDER), "--execution", "e1"]) == 2
    assert "give no FILE" in capsys.readouterr().err


def test_diagram_of_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "missing.json"]) == 2
    assert "cannot read missing.json" in capsys.readouterr().err
