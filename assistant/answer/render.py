"""What a verified answer looks like: its text with citation markers, and the citation record of a cited
sentence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

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


class CitationNumbers:
    """Citations numbered by first use, as an answer shows them: a sentence cited again keeps its number."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._numbers: dict[tuple[str, int], int] = {}

    def number(self, cited: Citation) -> int:
        """The number of the sentence ``cited`` quotes, given it (and ``cited`` kept under it) on its first use."""
        where = (cited.doc_id, cited.start)
        if where not in self._numbers:
            self._numbers[where] = len(self.citations) + 1
            self.citations.append(replace(cited, n=self._numbers[where]))
        return self._numbers[where]


def render(claims: Sequence[Claim]) -> str:
    """The answer text with each claim followed by its citation markers, e.g. ``Samedi [1]; Kidal [2]``."""
    return CLAIM_SEPARATOR.join(f"{c.text} {''.join(f'[{n}]' for n in c.citations)}" for c in claims)
