"""Find the passages that answer a question, in French or English, over a French (or any) article store.

Dense search with the multilingual embedder carries questions across languages; BM25 is exact on names and
figures in the article's own language. The two rankings are fused by reciprocal rank fusion, which needs no
score calibration between a cosine and a BM25 score. A question not in the article's language can also be
searched through its translation (made by the LLM), which lets BM25 help there too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field
from rank_bm25 import BM25Okapi

from ingest.records import Passage
from ingest.store import PassageStore

RetrievalMode = Literal["dense", "bm25", "hybrid", "hybrid-translate"]
RRF_K = 60
_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-free word tokens: « Qaïda » and "Qaida" must meet in BM25."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return [t for t in _TOKEN.findall(plain) if len(t) > 1]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Merge rankings of ids: each id scores the sum of 1/(k + rank) over the rankings it appears in."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores, key=lambda item: -scores[item])


class _Bm25Index:
    """BM25 over the store's active passages, rebuilt only when the store's content changes."""

    def __init__(self) -> None:
        self._state: str | None = None
        self._passages: list[Passage] = []
        self._bm25: BM25Okapi | None = None

    def passages(self, store: PassageStore) -> list[Passage]:
        """The store's active passages, read again only when its content changed."""
        state = store.state()
        if state != self._state:
            self._passages = store.passages()
            corpus = [tokenize(p.text) for p in self._passages]
            self._bm25 = BM25Okapi(corpus) if corpus else None
            self._state = state
        return self._passages

    def rank(self, store: PassageStore, query: str, k: int) -> list[Passage]:
        self.passages(store)
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        return [self._passages[i] for i in order[:k] if scores[i] > 0]


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over a :class:`PassageStore`; each Document carries its Passage in metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: PassageStore
    k: int = 4
    mode: RetrievalMode = "hybrid"
    translate: Callable[[str], str] | None = None
    bm25: _Bm25Index = Field(default_factory=_Bm25Index)

    def search(self, query: str, k: int | None = None, foreign: bool = False) -> list[Passage]:
        """The best ``k`` passages for ``query``; ``foreign`` marks a question not in the articles' language."""
        k = k or self.k
        depth = max(k * 3, 10)
        queries = [query]
        if self.mode == "hybrid-translate" and foreign and self.translate is not None:
            queries.append(self.translate(query))
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

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(page_content=p.text, id=p.id, metadata={"passage": p, "title": p.title})
            for p in self.search(query)
        ]
