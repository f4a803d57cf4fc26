"""The diagrams embedded in README.md and docs/flow-language.md are what the generator
draws for the samples they name: each ```mermaid block follows a marker
`<!-- diagram: events/flows/NAME.json -->`. Regenerate one with
`flow-manager diagram events/flows/NAME.json`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flow_manager.diagram import flow_diagram
from flow_manager.model import FlowDocument
from tests.support.mermaid import parse

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "docs/flow-language.md")
BLOCK = re.compile(r"<!-- diagram: (?P<sample>[^ ]+) -->\n```mermaid\n(?P<text>.*?)```", re.S)


def embedded(document: str) -> list[tuple[str, str]]:
    return [(m["sample"], m["text"]) for m in BLOCK.finditer((ROOT / document).read_text())]


def drawn(sample: str) -> str:
    return flow_diagram(FlowDocument.model_validate_json((ROOT / sample).read_text()).flow)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_document_embeds_sample_diagrams(document: str) -> None:
    assert embedded(document), f"{document} has no <!-- diagram: ... --> block"


@pytest.mark.parametrize(
    ("document", "sample", "text"),
    [(d, s, t) for d in DOCUMENTS for s, t in embedded(d)],
    ids=lambda value: value if isinstance(value, str) and value.endswith((".md", ".json")) else "",
)
def test_an_embedded_diagram_is_what_the_generator_draws(
    document: str, sample: str, text: str
) -> None:
    assert text == drawn(sample), f"{document}: run `flow-manager diagram {sample}`"


def test_every_sample_is_drawn_in_the_language_doc() -> None:
    samples = {s for s, _ in embedded("docs/flow-language.md")}
    assert samples == {f"events/flows/{p.name}" for p in (ROOT / "events" / "flows").glob("*.json")}


def test_mermaid_parses_every_embedded_diagram() -> None:
    texts = [t for d in DOCUMENTS for _, t in embedded(d)]
    assert all(result["ok"] for result in parse(texts))
