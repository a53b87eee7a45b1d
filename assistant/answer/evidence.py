"""The numbered sentences the model cites, and the context it reads them in.

The model never copies quotes. Measured here, a 1.5B model copying whole-sentence quotes got the passage number
wrong about one time in four and spent most of its tokens on the copy. Instead every sentence of the context
gets an id (``S1``, ``S2``...), the model names the ids that support each claim, and the quote shown is the
sentence cut from the article by its offsets: verbatim by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.articles import Passage
from ingest.spans import sentence_spans


@dataclass(frozen=True)
class Evidence:
    """One citable sentence of the context, with its exact place in the article."""

    key: str
    passage: Passage
    start: int
    end: int
    text: str


def number_evidence(passages: Sequence[Passage]) -> list[Evidence]:
    """Give every sentence of the passages a stable id, in the order the passages are shown."""
    evidence: list[Evidence] = []
    for passage in passages:
        for start, end in sentence_spans(passage.text, 0, len(passage.text)):
            evidence.append(
                Evidence(
                    key=f"S{len(evidence) + 1}",
                    passage=passage,
                    start=passage.start + start,
                    end=passage.start + end,
                    text=passage.text[start:end],
                )
            )
    return evidence


def format_context(evidence: Sequence[Evidence]) -> str:
    """The numbered sentences, grouped under their article title and section, in the order given."""
    lines: list[str] = []
    heading: tuple[str, str] | None = None
    for item in evidence:
        here = (item.passage.title, item.passage.section)
        if here != heading:
            if heading is None or here[0] != heading[0]:
                lines.append(f"\n# {item.passage.title}")
            if item.passage.section:
                lines.append(f"## {item.passage.section}")
            heading = here
        lines.append(f"{item.key}: {item.text}")
    return "\n".join(lines).strip()
