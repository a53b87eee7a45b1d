"""What a verified answer looks like: its text with citation markers, and the citation record of a cited
sentence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from assistant.answer.answers import Citation, Claim
from assistant.answer.evidence import Evidence

#: Claims of one answer are joined with this: each is the article's words for one part of the question.
CLAIM_SEPARATOR = "; "
#: The end of a sentence: its final mark, closing quotes or brackets, spaces (French « … partons. » puts one before
#: the guillemet) and citation markers.
_SENTENCE_END = re.compile(r"[.!?…][\s\"'»”’)\]]*(?:\[\d+\]\s*)*$")


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
    """The answer text with each claim followed by its citation markers, e.g. ``Samedi [1]; Kidal [2]``, or, for
    claims that are whole sentences (a summary's), ``Sentence one. [1] Sentence two. [2]``."""
    text = ""
    for claim in claims:
        if text:
            text += separator_after(text)
        text += f"{claim.text} {''.join(f'[{n}]' for n in claim.citations)}"
    return text


def ends_a_sentence(text: str) -> bool:
    """Whether ``text`` ends a sentence, its citation markers after it or not: what decides, for the CLI, the chat
    and the summaries alike, that a claim is followed by a space, needs no full stop, or can stand alone."""
    return _SENTENCE_END.search(text) is not None


def separator_after(claim: str, separator: str = CLAIM_SEPARATOR) -> str:
    """What follows a claim before the next: ``separator``, or a space after a claim that ends a sentence."""
    return " " if ends_a_sentence(claim) else separator
