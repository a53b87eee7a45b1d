"""Citation lookup: does a pasted sentence appear in the stored articles, where exactly, and who says it?

A reader who sees a quote elsewhere (a tweet, another article, a translation) wants three answers: is it really
in the article, what are the exact original words, and who is speaking. The search runs in three stages, from
the most to the least certain, and the result says which one matched:

1. **exact**: the text is in the article once case, quote marks, apostrophes and spacing are folded the same way
   the answer verification folds them (:func:`assistant.text.normalise.normalise`); offsets are mapped back, so the
   span returned is the article's own text, typographic quotes included;
2. **approximate**: a few words changed or dropped. The best window of the article (runs of one to three
   sentences, and word windows about as long as the text) by :class:`difflib.SequenceMatcher` ratio;
3. **translation**: an English rendering of a French sentence shares almost no characters with it, so the
   multilingual embedder finds the passage and the sentence closest in meaning. This is a probable match only,
   and its score is a cosine similarity, not a character ratio.

Who is speaking is read from the article with French (and a few English) reporting patterns, see
:mod:`assistant.quotes.attribution`: the result quotes the article's own words for the speaker, never a model's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any, Literal, Protocol

from assistant.errors import UserError
from assistant.quotes.attribution import Attribution, attribute, quotation_holding
from assistant.text.catalogue import CATALOGUE
from assistant.text.language import detect_language
from assistant.text.normalise import fold, normalise
from ingest.articles import Article, Passage
from ingest.spans import paragraph_spans, sentence_spans

if TYPE_CHECKING:
    from ingest.store import PassageStore

MatchKind = Literal["exact", "approximate", "translation", "not_found"]

#: Longer pastes are cut: a quote to check is a sentence or two, and the window search grows with its length.
MAX_LOOKUP_CHARS = 1000
#: SequenceMatcher ratio from which a window counts as the same text with a few words changed. Measured on the
#: seed: sentences with two to four words changed score 0.77-0.91, French sentences about something else at most
#: 0.48.
APPROXIMATE_MIN = 0.72
#: Cosine similarity (multilingual e5) from which the closest sentence is reported as a probable translation.
#: Measured on the seed: English translations of its sentences 0.84-0.93, English sentences about something
#: else (or saying the opposite) 0.72-0.82.
TRANSLATION_MIN = 0.83
#: How far the closest sentence must stand out from the other sentences found (cosine above their mean): a
#: translation is close to one sentence, a cookie banner or a sentence about something else is about as close to
#: all of them, and multilingual e5 gives any two sentences of one topic a high cosine. Measured on the seed: ten
#: English translations of its sentences stood out by 0.055-0.137; ten English or French sentences it does not
#: contain by 0.020-0.056, and the two of those above :data:`TRANSLATION_MIN` (« Accept all cookies to continue
#: reading » at 0.853, its French version) by 0.044 and 0.037.
TRANSLATION_LEAD = 0.05
#: Sentence windows: up to this many consecutive sentences of one paragraph.
MAX_SENTENCES = 3
#: Word windows are tried in this many paragraphs, those sharing the most words with the pasted text.
WORD_WINDOW_PARAGRAPHS = 3

_EDGE = "\"'«»“”„‘’`´ \t\n\u00a0\u202f,;:"
_ELLIPSIS_MARK = r"(?:\.\.\.|…|\[…\]|\[\.\.\.\]|\(…\)|\(\.\.\.\))"
_ELLIPSIS = re.compile(rf"^{_ELLIPSIS_MARK}+|{_ELLIPSIS_MARK}+$")
_WORD = re.compile(r"\S+")


class Embedder(Protocol):
    """What the translation stage needs from an embedder (the store's LangChain embedder has both)."""

    def embed_query(self, text: str) -> list[float]: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...


Search = Callable[[str, int], Sequence[tuple[Passage, float]]]


@dataclass(frozen=True)
class LookupResult:
    """Where a pasted text is in the articles: the article's own words at ``start:end``, and who says them.

    ``quote == article.text[start:end]`` of the article ``doc_id``, and ``paragraph_text`` (the paragraph holding
    the quote, from ``paragraph_start``) lets a UI show it in context. For ``not_found`` the location is empty and
    ``score`` is the best character ratio seen (how far the closest window was).
    """

    query: str
    kind: MatchKind
    score: float
    doc_id: str = ""
    title: str = ""
    section: str = ""
    paragraph: int = -1
    start: int = 0
    end: int = 0
    quote: str = ""
    paragraph_text: str = ""
    paragraph_start: int = 0
    attribution: Attribution | None = None
    notice: str | None = None
    #: Whether the text found is inside the article's quotation marks: without an attribution, someone speaks
    #: whom the rules could not name, and the reply must not call it the article's own narration.
    quoted: bool = False

    @property
    def found(self) -> bool:
        """True for exact, approximate and translation matches."""
        return self.kind != "not_found"

    @property
    def speaker(self) -> str | None:
        """Who the article says is speaking, in the article's words, or None."""
        return self.attribution.speaker if self.attribution else None

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON form."""
        data = asdict(self)
        data["score"] = round(self.score, 3)
        data["speaker"] = self.speaker
        return data


@dataclass(frozen=True)
class _Candidate:
    score: float
    doc_id: str
    start: int
    end: int
    lead: float = 0.0


# --------------------------------------------------------------------------------------------------------------
# Public API


def lookup(
    text: str,
    articles: Sequence[Article],
    search: Search | None = None,
    embedder: Embedder | None = None,
) -> LookupResult:
    """Find ``text`` in ``articles``: exact, else approximate, else (with ``search``) a probable translation.

    ``search(query, k)`` is a dense search returning (passage, cosine) pairs, best first (``PassageStore.search``);
    ``embedder`` lets the translation stage pick the closest sentence inside the passages found, instead of
    reporting a whole passage. Without ``search`` the lookup is purely textual (and testable without a store).
    """
    query, notice = _cleaned(text)
    by_id = {a.doc_id: a for a in articles}
    needle = normalise(query)

    for article in articles:
        span = find_exact(needle, article.text)
        if span is not None:
            return _result(query, "exact", 1.0, article, span, notice)

    best = _best_approximate(needle, articles)
    if best is not None and best.score >= APPROXIMATE_MIN:
        return _result(query, "approximate", best.score, by_id[best.doc_id], (best.start, best.end), notice)

    if search is not None:
        translated = _best_translation(query, by_id, search, embedder)
        if translated is not None:
            article = by_id[translated.doc_id]
            other_language = detect_language(query) != detect_language(article.text[:2000])
            close = translated.score >= TRANSLATION_MIN and translated.lead >= TRANSLATION_LEAD
            if other_language and close:
                span = (translated.start, translated.end)
                return _result(query, "translation", translated.score, article, span, notice)

    return LookupResult(query=query, kind="not_found", score=best.score if best else 0.0, notice=notice)


def lookup_in_store(text: str, store: PassageStore) -> LookupResult:
    """:func:`lookup` over every article of the store, with its dense search and embedder for translations."""
    articles = store.articles()
    if not articles:
        raise UserError(f"no articles in store {store.location}; run `assistant ingest PATH` first")
    return lookup(text, articles, search=store.search, embedder=store.embedder)


def find_exact(needle: str, text: str) -> tuple[int, int] | None:
    """Offsets in ``text`` of the first occurrence of ``needle`` (already :func:`normalise`-d), or None.

    The comparison is made on folded text, and each folded character remembers the original character it came
    from, so the span returned covers the original characters exactly (« » and ’ included).
    """
    if not needle:
        return None
    folded, origin = fold(text)
    at = folded.find(needle)
    if at < 0:
        return None
    return origin[at], origin[at + len(needle) - 1] + 1


def locate(article: Article, offset: int) -> tuple[str, int]:
    """Section heading and paragraph index of ``offset``, by the splitter's rule, so they match citations.

    Paragraphs are counted over the whole article (title and headings included) from 0, and a paragraph's section
    is the last heading paragraph before it (see :func:`ingest.splitting.split_article`).
    """
    heading_at = {s.start: s.heading for s in article.sections}
    section = ""
    for index, (start, end) in enumerate(paragraph_spans(article.text)):
        if start in heading_at:
            section = heading_at[start]
        if offset < end:
            return section, index
    return section, max(0, len(paragraph_spans(article.text)) - 1)


# --------------------------------------------------------------------------------------------------------------
# Stages


def _cleaned(text: str) -> tuple[str, str | None]:
    """The text to look for: outer quote marks, ellipses and spaces removed, length capped."""
    query = " ".join(text.split())
    notice = None
    if len(query) > MAX_LOOKUP_CHARS:
        query = query[:MAX_LOOKUP_CHARS].rsplit(" ", 1)[0]
        # the lookup has no language of its own: its notice is English, in the CLI and in the chat
        notice = CATALOGUE["en"]["lookup_cut"].format(limit=len(query))
    previous = None
    while previous != query:
        previous = query
        query = _ELLIPSIS.sub("", query.strip(_EDGE)).strip(_EDGE)
    if not normalise(query):
        raise UserError("nothing to look up: paste a sentence or a quote from the article")
    return query, notice


def _best_approximate(needle: str, articles: Sequence[Article]) -> _Candidate | None:
    """The window of the articles closest to ``needle`` by SequenceMatcher ratio (None for no articles).

    Candidates are runs of 1..3 sentences of one paragraph (a pasted sentence or two) and word windows of about
    the needle's length (a pasted fragment). Word windows are only tried in the few paragraphs sharing the most
    words with the needle, and ``quick_ratio`` bounds prune most of them before the full ratio: a lookup stays
    well under a second on a long article.
    """
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(needle)
    words_wanted = max(1, len(needle.split()))
    lengths = sorted({max(1, round(words_wanted * f)) for f in (0.8, 0.9, 1.0, 1.1, 1.25, 1.45, 1.7)})
    vocabulary = {w for w in needle.split() if len(w) > 2}
    best: _Candidate | None = None

    def consider(candidate: str, doc_id: str, start: int, end: int) -> None:
        nonlocal best
        matcher.set_seq1(candidate)
        floor = best.score if best else -1.0
        if matcher.real_quick_ratio() <= floor or matcher.quick_ratio() <= floor:
            return
        score = matcher.ratio()
        if score > floor:
            best = _Candidate(score, doc_id, start, end)

    paragraphs: list[tuple[int, Article, int, int]] = []
    for article in articles:
        text = article.text
        for p_start, p_end in paragraph_spans(text):
            sentences = sentence_spans(text, p_start, p_end)
            for i in range(len(sentences)):
                for j in range(i, min(i + MAX_SENTENCES, len(sentences))):
                    start, end = sentences[i][0], sentences[j][1]
                    consider(normalise(text[start:end]), article.doc_id, start, end)
            shared = len(vocabulary & set(normalise(text[p_start:p_end]).split()))
            paragraphs.append((shared, article, p_start, p_end))
    for _, article, p_start, p_end in sorted(paragraphs, key=lambda p: -p[0])[:WORD_WINDOW_PARAGRAPHS]:
        words = [(m.start(), m.end(), normalise(m.group())) for m in _WORD.finditer(article.text, p_start, p_end)]
        for size in lengths:
            for i in range(0, max(0, len(words) - size) + 1):
                window = words[i : i + size]
                if window:
                    consider(" ".join(w[2] for w in window), article.doc_id, window[0][0], window[-1][1])
    if best is None:
        return None
    start, end = _trim(articles_by_id(articles)[best.doc_id].text, best.start, best.end)
    return _Candidate(best.score, best.doc_id, start, end)


def _best_translation(
    query: str, by_id: dict[str, Article], search: Search, embedder: Embedder | None
) -> _Candidate | None:
    """The sentence closest in meaning among the top passages of a dense search (or the top passage itself)."""
    hits = [(p, s) for p, s in search(query, 3) if p.doc_id in by_id]
    if not hits:
        return None
    if embedder is None:
        passage, score = hits[0]
        return _Candidate(score, passage.doc_id, passage.start, passage.end, _lead([s for _, s in hits]))
    spans: list[tuple[str, int, int]] = []
    for passage, _ in hits:
        for start, end in sentence_spans(passage.text, 0, len(passage.text)):
            spans.append((passage.doc_id, passage.start + start, passage.start + end))
    texts = [by_id[doc_id].text[start:end] for doc_id, start, end in spans]
    scores = [_cosine(embedder.embed_query(query), v) for v in embedder.embed_documents(texts)]
    best = max(range(len(spans)), key=lambda i: scores[i])
    doc_id, start, end = spans[best]
    start, end = _trim(by_id[doc_id].text, start, end)
    return _Candidate(scores[best], doc_id, start, end, _lead(scores))


def _lead(scores: Sequence[float]) -> float:
    """How far the best score stands above the mean of the others (0 when there are no others)."""
    ranked = sorted(scores, reverse=True)
    return ranked[0] - sum(ranked[1:]) / len(ranked[1:]) if len(ranked) > 1 else 0.0


# --------------------------------------------------------------------------------------------------------------
# Helpers


def articles_by_id(articles: Sequence[Article]) -> dict[str, Article]:
    """Articles keyed by doc_id."""
    return {a.doc_id: a for a in articles}


def _result(
    query: str, kind: MatchKind, score: float, article: Article, span: tuple[int, int], notice: str | None
) -> LookupResult:
    start, end = span
    section, paragraph = locate(article, start)
    p_start, p_end = paragraph_spans(article.text)[paragraph] if article.text.strip() else (0, 0)
    return LookupResult(
        query=query,
        kind=kind,
        score=score,
        doc_id=article.doc_id,
        title=article.title,
        section=section,
        paragraph=paragraph,
        start=start,
        end=end,
        quote=article.text[start:end],
        paragraph_text=article.text[p_start:max(p_end, end)],
        paragraph_start=p_start,
        attribution=attribute(article.text, start, end) if kind != "not_found" else None,
        notice=notice,
        quoted=_in_quotation_marks(article.text, start, end),
    )


def _in_quotation_marks(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is quoted: inside « » or “ ” (:func:`quotation_holding`), or after an odd number
    of straight double quotes in its paragraph, as English articles often quote."""
    if quotation_holding(text, start, end):
        return True
    paragraph_start = text.rfind("\n", 0, start) + 1
    return text.count('"', paragraph_start, start) % 2 == 1


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop quote marks, commas and spaces at the edges of a window: the quote shown starts and ends on words."""
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return start, end


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
