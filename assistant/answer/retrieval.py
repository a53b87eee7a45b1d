"""Find the passages that answer a question, in French or English, over a French (or any) article store.

Dense search with the multilingual embedder carries questions across languages; BM25 is exact on names and
figures in the article's own language. The two rankings are fused by reciprocal rank fusion, which needs no
score calibration between a cosine and a BM25 score. A question can be searched in several phrasings at once (the
chain adds its translation when the first search finds passages in the other language), their rankings fused the
same way.

BM25 is Okapi BM25 with rank_bm25's parameters and idf floor, as an inverted index: one sparse column of
precomputed term weights per word, so a query touches only the passages that contain its words (rank_bm25 looped
in Python over every passage for every query word: 50 ms at 10k passages, ten times that at 100k).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse

from assistant.text.normalise import tokenize
from ingest.articles import Passage
from ingest.store import PassageStore

RetrievalMode = Literal["dense", "bm25", "hybrid"]
RRF_K = 60
#: Okapi BM25 parameters, rank_bm25's defaults: term-frequency saturation, length normalisation, and the floor of
#: a word's idf (a share of the average idf) for words in more than half of the passages.
BM25_K1 = 1.5
BM25_B = 0.75
BM25_EPSILON = 0.25


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Merge rankings of ids: each id scores the sum of 1/(k + rank) over the rankings it appears in."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores, key=lambda item: -scores[item])


class Bm25:
    """Okapi BM25 scores over a tokenized corpus, equal to ``rank_bm25.BM25Okapi``'s to the last bit.

    ``weights`` is a documents x words sparse matrix (CSC: one column per word, its inverted list) holding each
    (document, word) pair's whole contribution, idf included; a query adds up its words' columns, in query order
    and once per occurrence, exactly as rank_bm25 adds up its per-word score vectors.
    """

    def __init__(self, corpus: Sequence[Sequence[str]]) -> None:
        self.vocabulary: dict[str, int] = {}  # word -> column, in first-seen order like rank_bm25's idf sum
        vocabulary = self.vocabulary
        columns = np.array([vocabulary.setdefault(t, len(vocabulary)) for d in corpus for t in d], dtype=np.int64)
        self.size = len(corpus)
        lengths = np.array([len(document) for document in corpus], dtype=np.int64)
        rows = np.repeat(np.arange(self.size), lengths)
        counts = sparse.csc_matrix((np.ones(len(columns)), (rows, columns)), shape=(self.size, len(self.vocabulary)))
        counts.sum_duplicates()
        self.weights = self._weigh(counts, lengths)

    def _weigh(self, counts: sparse.csc_matrix, lengths: np.ndarray) -> sparse.csc_matrix:
        """Each term frequency turned into its BM25 contribution, with rank_bm25's operations in its order."""
        idf = self._idf(np.diff(counts.indptr))
        average_length = int(lengths.sum()) / self.size
        frequency, length = counts.data, lengths[counts.indices]
        column_idf = np.repeat(idf, np.diff(counts.indptr))
        norm = BM25_K1 * (1 - BM25_B + BM25_B * length / average_length)
        weights = counts.copy()
        weights.data = column_idf * (frequency * (BM25_K1 + 1) / (frequency + norm))
        return weights

    def _idf(self, document_frequency: np.ndarray) -> np.ndarray:
        """log((N - n + 0.5) / (n + 0.5)), floored at epsilon x the mean idf for words in most documents."""
        values = [math.log(self.size - n + 0.5) - math.log(n + 0.5) for n in document_frequency.tolist()]
        total = 0.0
        for value in values:  # sequential, not pairwise like numpy's sum: the floor must match rank_bm25's
            total += value
        floor = BM25_EPSILON * (total / len(values)) if values else 0.0
        return np.array([floor if value < 0 else value for value in values], dtype=np.float64)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """One score per document (0 where no query word occurs)."""
        scores = np.zeros(self.size)
        indptr, indices, data = self.weights.indptr, self.weights.indices, self.weights.data
        for token in tokens:
            column = self.vocabulary.get(token)
            if column is not None:
                start, end = indptr[column], indptr[column + 1]
                scores[indices[start:end]] += data[start:end]
        return scores

    def top(self, tokens: Sequence[str], k: int) -> list[int]:
        """Indexes of the ``k`` best-scoring documents with a positive score, best first, ties by index.

        ``np.partition`` finds the k-th best score without sorting everything (the selection ``np.argpartition``
        does); every document tied with it is kept so that ties break by index, as a stable full sort does.
        """
        scores = self.scores(tokens)
        positive = np.flatnonzero(scores > 0)
        if len(positive) > k > 0:
            threshold = np.partition(scores[positive], len(positive) - k)[len(positive) - k]
            positive = positive[scores[positive] >= threshold]
        order = np.lexsort((positive, -scores[positive]))
        return positive[order][:k].tolist()


@dataclass(frozen=True)
class _IndexedArticle:
    """One article's active passages and their tokens, kept until its revision changes."""

    revision: str
    passages: list[Passage]
    tokens: list[list[str]]


class _Bm25Index:
    """BM25 over the store's active passages, refreshed only when the store's content changes.

    A refresh reads and tokenizes only the articles whose revision changed, then rebuilds the sparse index from
    the tokens in memory: after one article is ingested into a 100k-passage store, the next question waits for
    that article's passages, not for all 100k to be read again.
    """

    def __init__(self) -> None:
        self._state: str | None = None
        self._articles: dict[str, _IndexedArticle] = {}
        self._passages: list[Passage] = []
        self._bm25: Bm25 | None = None

    def passages(self, store: PassageStore) -> list[Passage]:
        """The store's active passages, in (doc_id, position) order, refreshed when its content changed."""
        state = store.state()
        if state != self._state:
            self._refresh(store)
            self._state = state
        return self._passages

    def _refresh(self, store: PassageStore) -> None:
        revisions = store.revisions()
        changed = [d for d, r in revisions.items() if d not in self._articles or self._articles[d].revision != r]
        if not changed and revisions.keys() == self._articles.keys():
            return
        fresh: dict[str, list[Passage]] = {doc_id: [] for doc_id in changed}
        for passage in store.passages(changed):
            fresh[passage.doc_id].append(passage)
        self._articles = {
            doc_id: _IndexedArticle(revisions[doc_id], fresh[doc_id], [tokenize(p.text) for p in fresh[doc_id]])
            if doc_id in fresh
            else self._articles[doc_id]
            for doc_id in sorted(revisions)
        }
        self._passages = [p for article in self._articles.values() for p in article.passages]
        corpus = [tokens for article in self._articles.values() for tokens in article.tokens]
        self._bm25 = Bm25(corpus) if any(corpus) else None

    def rank(self, store: PassageStore, query: str, k: int) -> list[Passage]:
        """The ``k`` passages BM25 scores highest for ``query`` (only those sharing a word with it)."""
        self.passages(store)
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return []
        return [self._passages[i] for i in self._bm25.top(tokens, k)]


class HybridRetriever:
    """Dense search and BM25 over a :class:`PassageStore`, fused by reciprocal rank (see the module docstring)."""

    def __init__(self, store: PassageStore, k: int = 4, mode: RetrievalMode = "hybrid") -> None:
        self.store = store
        self.k = k
        self.mode = mode
        self.bm25 = _Bm25Index()

    def search(self, *queries: str, k: int | None = None) -> list[Passage]:
        """The best ``k`` passages for a question given in one or more phrasings (its translation, say)."""
        k = k or self.k
        depth = max(k * 3, 10)
        rankings: list[list[Passage]] = []
        for text in queries:
            if self.mode != "bm25":
                rankings.append([p for p, _ in self.store.search(text, depth)])
            if self.mode != "dense":
                rankings.append(self.bm25.rank(self.store, text, depth))
        by_id = {p.id: p for ranking in rankings for p in ranking}
        fused = reciprocal_rank_fusion([[p.id for p in r] for r in rankings])
        return [by_id[i] for i in fused[:k]]

    def passages(self) -> list[Passage]:
        """Every active passage of the store, cached until the store changes (the BM25 corpus)."""
        return self.bm25.passages(self.store)
