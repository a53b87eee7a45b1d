"""Sentences and paragraphs of a text as exact ``(start, end)`` offsets.

The splitter cuts passages on them, the answer stage numbers a passage's sentences with them, and the quote
lookup and attribution walk an article by them: one definition, so a cited sentence, a passage boundary and a
located quote always agree on where a sentence or a paragraph starts and ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A sentence ends with . ! ? or … (possibly several), maybe followed by closing quotes or brackets (a French
# closing guillemet may follow a space, often a no-break one: « Oui. »), then whitespace.
_SENTENCE_END = re.compile(r"[.!?…]+(?:[\"')\]”’]|[ \u00a0\u202f]?»)*(?=\s|$)")
_CLOSERS = "»\"')]”’ \u00a0\u202f"
_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n\s*")
# Words after which a period is not a sentence end (French and English honorifics and short forms).
_ABBREVIATIONS = frozenset(
    {"m", "mm", "mme", "mmes", "mlle", "mlles", "dr", "pr", "me", "st", "ste", "mr", "mrs", "ms", "prof", "gen",
     "gén", "col", "sgt", "lt", "cf", "vs", "env", "art", "no", "n°", "p", "pp", "vol", "fig", "av", "apr", "j.-c",
     "e.g", "i.e", "jr", "sr", "inc", "ltd", "co", "corp"}
)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Paragraphs of normalised text as ``(start, end)`` offsets, leading indentation excluded.

    If the text has blank lines, paragraphs are the blank-line separated blocks (hard-wrapped text, and the
    output of the Markdown/HTML readers); otherwise every line is a paragraph (the seed article's layout).
    """
    pattern = re.compile(r"[^\n](?:.|\n(?!\n))*" if "\n\n" in text else r"[^\n]+")
    return trimmed_spans(text, (match.span() for match in pattern.finditer(text)))


def trimmed_spans(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans with surrounding white space cut off; spans that held only white space are dropped."""
    trimmed = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            trimmed.append((start, end))
    return trimmed


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as trimmed ``(start, end)`` offsets.

    A period after a known abbreviation or an initial ("M. Goïta", "J. Smith") does not end a sentence, nor does
    one followed by a lowercase word ("etc. et"): a missed boundary only makes a passage a little longer, while
    a false one would cut a citation in two.
    """
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text, start, end):
        sentence_start = block_start
        for match in _SENTENCE_END.finditer(text, block_start, block_end):
            boundary = match.end()
            if not _is_sentence_end(text, match.start(), boundary, block_end):
                continue
            spans.append((sentence_start, boundary))
            sentence_start = boundary
        spans.append((sentence_start, block_end))
    return trimmed_spans(text, spans)


def _blocks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``text[start:end]`` cut at blank lines: a heading, a caption or an image's text ends there without a period,
    and must not run into the next paragraph's first sentence."""
    cuts = [(m.start(), m.end()) for m in _BLANK_LINE.finditer(text, start, end)]
    starts = [start] + [e for _, e in cuts]
    ends = [s for s, _ in cuts] + [end]
    return list(zip(starts, ends, strict=True))


def _is_sentence_end(text: str, punct_start: int, boundary: int, limit: int) -> bool:
    after = boundary
    while after < limit and text[after].isspace():
        after += 1
    if after >= limit:
        return True
    if text[after].islower():
        return False
    if text[punct_start] == "." and text[punct_start:boundary].rstrip(_CLOSERS) == ".":
        word_start = punct_start
        while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "(«\"“":
            word_start -= 1
        word = text[word_start:punct_start].lower()
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            return False
    return True
