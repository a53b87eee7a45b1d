"""What a verified answer looks like: its text with citation markers, and the citation record of a cited
sentence."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answer.answers import Citation, Claim
from assistant.answer.evidence import Evidence

#: Claims of one answer are joined with this: each is the article's words for one part of the question.
CLAIM_SEPARATOR = "; "


def citation(n: int, item: Evidence) -> Citation:
    """Citation number ``n`` for a cited sentence: its quote, where it is, and the passage around it."""
    passage = item.passage
    return Citation(
        n=n,
        passage_id=passage.id,
        doc_id=passage.doc_id,
        title=passage.title,
        section=passage.section,
        paragraph=passage.paragraph,
        quote=item.text,
        start=item.start,
        end=item.end,
        passage_text=passage.text,
        passage_start=passage.start,
        page=passage.page,
    )


def render(claims: Sequence[Claim]) -> str:
    """The answer text with each claim followed by its citation markers, e.g. ``Samedi [1]; Kidal [2]``."""
    return CLAIM_SEPARATOR.join(f"{c.text} {''.join(f'[{n}]' for n in c.citations)}" for c in claims)
