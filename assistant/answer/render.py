"""What a verified answer looks like: its text with citation markers, the citation record of a cited sentence,
and when the article's words are translated for it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.answers import Citation, Claim
from assistant.answer.evidence import Evidence
from assistant.text.language import Language, detect_language
from assistant.text.normalise import tokenize

#: Claims of one answer are joined with this: each is the article's words for one part of the question.
CLAIM_SEPARATOR = "; "
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_NAME = re.compile(r"(?<![\w’'-])[A-ZÀ-ÖØ-Þ][\w’'-]*\w")


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
    )


def render(claims: Sequence[Claim]) -> str:
    """The answer text with each claim followed by its citation markers, e.g. ``Samedi [1]; Kidal [2]``."""
    return CLAIM_SEPARATOR.join(f"{c.text} {''.join(f'[{n}]' for n in c.citations)}" for c in claims)


def needs_translation(span: str, sentence: str, language: Language) -> bool:
    """Whether words copied from ``sentence`` must be translated to be shown in ``language``: the sentence is in
    the other language and the copy has words, not only figures."""
    return bool(_LETTERS.search(span)) and detect_language(sentence, default=language) != language


def faithful_translation(span: str, translation: str) -> bool:
    """Whether a translation keeps what a translation must not change: the copy's figures and its names (words
    capitalised inside it). A translation that drops or alters one is not shown; the article's words are."""
    if not translation.strip() or "\n" in translation.strip():
        return False
    figures = set(_FIGURE.findall(translation))
    if not set(_FIGURE.findall(span)) <= figures:
        return False
    words = set(tokenize(translation))
    names = [m.group() for m in _NAME.finditer(span) if m.start() > 0]
    return all(set(tokenize(name)) <= words for name in names)
