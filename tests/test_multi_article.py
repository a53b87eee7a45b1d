"""A store of several articles: a question about any of them is answered from it, and every citation names it.

Three articles (the seed and two short ones on other subjects) in one real store, with scripted model replies
(the LLM is the only fake, as in test_chain.py). Checked for the prompt layouts the chain uses: the whole store
in the prompt (small stores); in stores larger than ``CONTEXT_CHARS``, where the right article must also be found
by retrieval, the whole short article of the best passage, or only the retrieved passages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from doubles import ScriptedChatModel

import assistant.answer.chain
from assistant.answer.chain import AnswerChain
from assistant.answer.evidence import number_evidence
from assistant.settings import Settings
from ingest.articles import Article
from ingest.loading import load_article
from ingest.splitting import split_article
from ingest.store import PassageStore, open_store

GAO = """Le conseil municipal de Gao vote le budget du marché

Le conseil municipal de Gao a voté mardi un budget pour réparer le marché central. Les commerçants attendaient \
ces travaux depuis l'incendie de l'an dernier.

Le maire a promis que les travaux commenceraient avant la saison des pluies.
"""
DAKAR = """À Dakar, la pêche artisanale face à la raréfaction du poisson

Les pêcheurs de Soumbédioune rentrent souvent avec des pirogues presque vides. Ils accusent les chalutiers \
étrangers de vider les eaux du large.

Une association de pêcheurs demande au gouvernement de contrôler les licences de pêche.
"""
#: (article file, question, words of the sentence that answers it, the words the model is scripted to copy)
CASES = [
    ("gao.txt", "Qu'a voté le conseil municipal de Gao ?", "a voté mardi un budget",
     "un budget pour réparer le marché central"),
    ("dakar.txt", "Qui les pêcheurs accusent-ils de vider les eaux ?", "accusent les chalutiers",
     "les chalutiers étrangers"),
    ("seed", "Que sont devenus les rares survivants ?", "faits prisonniers", "ont été faits prisonniers"),
]  # fmt: skip


@pytest.fixture
def articles(tmp_path: Path, seed_path: Path) -> dict[str, Article]:
    (tmp_path / "gao.txt").write_text(GAO, encoding="utf-8")
    (tmp_path / "dakar.txt").write_text(DAKAR, encoding="utf-8")
    return {name: load_article(tmp_path / name) for name in ("gao.txt", "dakar.txt")} | {
        "seed": load_article(seed_path)
    }


def _ingested(settings: Settings, embedder, articles: dict[str, Article]) -> PassageStore:
    """A real store holding ``articles``, split with the settings' passage size."""
    store = open_store(settings, embedder)
    for article in articles.values():
        store.ingest(article, split_article(article, settings.chunk_size))
    return store


@pytest.fixture
def store(settings: Settings, embedder, articles: dict[str, Article]) -> PassageStore:
    return _ingested(settings, embedder, articles)


def _reply_citing(chain: AnswerChain, question: str, words: str, claim: str) -> str:
    """The model's reply citing the sentence holding ``words``, numbered as the chain will number its context."""
    retrieved = chain.retriever.search(question)
    keys = [e.key for e in number_evidence(chain.context_passages(retrieved)) if words in e.text]
    assert keys, f"the sentence with {words!r} is not in the context for {question!r}"
    return f'{{"claims": [{{"answer": "{claim}", "evidence": ["{keys[0]}"]}}]}}'


def _check_answers(settings: Settings, store: PassageStore, articles: dict[str, Article]) -> None:
    for name, question, words, claim in CASES:
        probe = AnswerChain(settings, store, ScriptedChatModel([]))
        reply = _reply_citing(probe, question, words, claim)
        chain = AnswerChain(settings, store, ScriptedChatModel([reply, '{"verdict": "yes"}', '{"verdict": "yes"}']))
        answer = chain.answer(question)
        article = articles[name]
        assert not answer.abstained, (question, answer.dropped)
        assert answer.citations, question
        for citation in answer.citations:
            assert (citation.doc_id, citation.title) == (article.doc_id, article.title), question
            assert article.text[citation.start : citation.end] == citation.quote
            assert words in citation.quote


def test_each_article_is_cited_with_its_own_title(
    settings: Settings, store: PassageStore, articles: dict[str, Article]
) -> None:
    assert len(store.articles()) == 3
    _check_answers(settings, store, articles)


def test_each_article_is_found_and_cited_when_only_retrieved_passages_fit(
    settings: Settings, store: PassageStore, articles: dict[str, Article], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assistant.answer.chain, "CONTEXT_CHARS", 0)
    _check_answers(settings, store, articles)


@pytest.fixture
def one_passage_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings retrieving one short passage (about a sentence) from a store too large to be the whole prompt."""
    monkeypatch.setattr(assistant.answer.chain, "CONTEXT_CHARS", 1000)
    return settings.model_copy(update={"top_k": 1, "chunk_size": 80})


@pytest.fixture
def sentence_store(one_passage_settings: Settings, embedder, articles: dict[str, Article]) -> PassageStore:
    return _ingested(one_passage_settings, embedder, articles)


PROMISE = "Le maire a promis que les travaux commenceraient avant la saison des pluies."


def test_a_short_article_is_read_whole_when_the_store_is_not(
    one_passage_settings: Settings, sentence_store: PassageStore
) -> None:
    """The model reads every sentence of the short article its one retrieved passage comes from, and the answer
    cites the sentence next to the one retrieval found."""
    question = "Quand les travaux du marché de Gao commenceront-ils ?"
    probe = AnswerChain(one_passage_settings, sentence_store, ScriptedChatModel([]))
    assert all(PROMISE not in p.text for p in probe.retriever.search(question))
    reply = _reply_citing(probe, question, PROMISE, "avant la saison des pluies")
    model = ScriptedChatModel([reply, '{"verdict": "yes"}', '{"verdict": "yes"}'])
    answer = AnswerChain(one_passage_settings, sentence_store, model).answer(question)
    assert not answer.abstained, answer.dropped
    assert [c.quote for c in answer.citations] == [PROMISE]
    assert any(PROMISE in p.text for p in answer.read), "an evaluation sees the sentence was in the model's view"


def test_a_question_asked_in_translation_reads_only_the_retrieved_passages(
    one_passage_settings: Settings, sentence_store: PassageStore
) -> None:
    """Asked in English about the French article, the model reads the translated question over the passage found,
    not the whole article: with more sentences it copied wrong words more often (see ``context_passages``)."""
    translation = "Quand les travaux du marché de Gao commenceront-ils ?"
    model = ScriptedChatModel([translation, '{"claims": []}'])
    chain = AnswerChain(one_passage_settings, sentence_store, model)
    answer = chain.answer("When will the works on the Gao market start?")
    assert answer.asked == translation
    context = model.requests[-1].messages[0].content
    assert "S1: " in context and "S2: " not in context
