"""Cut an article into passages of about ``chunk_size`` characters, each an exact span of ``Article.text``.

A passage is what gets embedded, retrieved and cited, so three properties matter more than a precise length:

* ``article.text[p.start:p.end] == p.text`` always, so a quote found in a passage can be located and highlighted;
* a passage ends at a sentence end (or, for a sentence longer than twice the target, at a space), never mid-word,
  so a cited passage reads as whole sentences;
* a passage stays inside one section (and one page of a PDF) and, when it can, one paragraph, and records them,
  so a citation can say where in the article it comes from.

This is a small regex splitter over offsets rather than ``langchain_text_splitters``: those splitters return
strings, recover positions by searching each chunk back in the document (``add_start_index``) and move
separators around (a ``". "`` separator starts the next chunk unless ``keep_separator="end"``), so exactness would
have to be re-checked after the fact; computing offsets first makes the round trip exact by construction, and
section and paragraph boundaries are hard limits rather than separator preferences. Headings are not passages:
they label the passages under them.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.articles import Article, Passage
from ingest.spans import paragraph_spans, sentence_spans

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def passage_id(doc_id: str, version: str, start: int, text: str) -> str:
    """The one definition of a passage id: derived from the document, its version and the passage's content.

    The same file ingested twice yields the same ids (idempotent re-ingest); an edited file yields new ids, so
    the new passages can be written next to the old ones before the switch and never overwrite them.
    """
    key = f"{doc_id}\x1f{version}\x1f{start}\x1f{text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def split_article(article: Article, chunk_size: int = 300) -> list[Passage]:
    """Split ``article.text`` into passages of roughly ``chunk_size`` characters (see the module docstring).

    Long paragraphs are cut into ``round(length / chunk_size)`` passages of similar length at the sentence ends
    closest to the even cut points, so a 450-character paragraph gives two passages of ~225 rather than 300 + 150.
    Consecutive short paragraphs of one section are packed together up to ``chunk_size`` so that one-line
    paragraphs (list items, datelines) do not become passages too small to retrieve.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    text = article.text
    heading_at = {section.start: section.heading for section in article.sections}

    # (span, paragraph index, section, whole paragraph?) for every passage-to-be, in text order.
    pieces: list[tuple[_Span, int, str, bool]] = []
    section = ""
    for paragraph, (start, end) in enumerate(paragraph_spans(text)):
        if start in heading_at:
            section = heading_at[start]
            continue
        groups = _pack(_sentence_units(text, start, end, chunk_size), chunk_size)
        whole = len(groups) == 1
        pieces.extend((group, paragraph, section, whole) for group in groups)

    merged = _merge_short_paragraphs(pieces, chunk_size, article.page_at)
    passages = []
    for position, (span, paragraph, section_name, _) in enumerate(merged):
        body = text[span.start : span.end]
        passages.append(
            Passage(
                id=passage_id(article.doc_id, article.version, span.start, body),
                doc_id=article.doc_id,
                title=article.title,
                text=body,
                start=span.start,
                end=span.end,
                section=section_name,
                paragraph=paragraph,
                position=position,
                page=article.page_at(span.start),
            )
        )
    return passages


def _sentence_units(text: str, start: int, end: int, chunk_size: int) -> list[_Span]:
    """Sentences of one paragraph, with any sentence over ``2 * chunk_size`` cut at spaces into ~chunk_size parts."""
    units: list[_Span] = []
    for s, e in sentence_spans(text, start, end):
        if e - s <= 2 * chunk_size:
            units.append(_Span(s, e))
        else:
            units.extend(_split_words(text, s, e, chunk_size))
    return units


def _split_words(text: str, start: int, end: int, chunk_size: int) -> list[_Span]:
    """Cut one over-long sentence at word boundaries into parts of at most ``chunk_size`` (a single longer word,
    such as a URL, stays whole rather than being cut mid-word)."""
    parts: list[_Span] = []
    part_start: int | None = None
    part_end = start
    for word in _WORD.finditer(text, start, end):
        if part_start is None:
            part_start = word.start()
        elif word.end() - part_start > chunk_size:
            parts.append(_Span(part_start, part_end))
            part_start = word.start()
        part_end = word.end()
    if part_start is not None:
        parts.append(_Span(part_start, part_end))
    return parts


def _pack(units: list[_Span], chunk_size: int) -> list[_Span]:
    """Group consecutive sentences into spans of similar length close to ``chunk_size``.

    The number of passages is fixed up front from the paragraph length; each cut is made at the sentence end
    closest to an even share of what remains. A group never grows past ``2 * chunk_size`` while a cut is possible.
    """
    if not units:
        return []
    total = units[-1].end - units[0].start
    remaining = max(1, round(total / chunk_size))
    groups: list[_Span] = []
    group_start = units[0].start
    group_end = units[0].end
    for unit in units[1:]:
        grown = unit.end - group_start
        current = group_end - group_start
        target = (units[-1].end - group_start) / remaining if remaining > 1 else math.inf
        too_long = grown > 2 * chunk_size
        if too_long or abs(grown - target) > abs(current - target):
            groups.append(_Span(group_start, group_end))
            remaining = max(1, remaining - 1)
            group_start = unit.start
        group_end = unit.end
    groups.append(_Span(group_start, group_end))
    return groups


def _merge_short_paragraphs(
    pieces: list[tuple[_Span, int, str, bool]], chunk_size: int, page_at: Callable[[int], int | None]
) -> list[tuple[_Span, int, str, bool]]:
    """Join consecutive whole paragraphs of one section and one page when one of them is under a third of
    ``chunk_size`` and together they still fit in ``chunk_size``; the merged passage keeps the first paragraph's
    index. A passage stays on one page so that the page a citation names holds its quote."""
    merged: list[tuple[_Span, int, str, bool]] = []
    for span, paragraph, section, whole in pieces:
        if merged:
            last_span, last_paragraph, last_section, last_whole = merged[-1]
            fits = span.end - last_span.start <= chunk_size
            short = min(last_span.length, span.length) < chunk_size / 3
            same_page = page_at(span.start) == page_at(last_span.start)
            if whole and last_whole and section == last_section and fits and short and same_page:
                merged[-1] = (_Span(last_span.start, span.end), last_paragraph, section, True)
                continue
        merged.append((span, paragraph, section, whole))
    return merged
