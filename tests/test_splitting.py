"""Splitting: every passage is an exact span of the article, ends at a sentence or word boundary, stays in its
section, and carries its place in the article."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from ingest.articles import Article, Passage, Section
from ingest.loading import load_article, normalise_text, text_version
from ingest.spans import paragraph_spans, sentence_spans
from ingest.splitting import passage_id, split_article


def _assert_exact_and_whole_words(article: Article, passages: list[Passage]) -> None:
    text = article.text
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
        assert passage.text and passage.text == passage.text.strip()
        assert passage.start == 0 or text[passage.start - 1].isspace(), f"starts mid-word: {passage.text[:30]!r}"
        assert passage.end == len(text) or text[passage.end].isspace(), f"ends mid-word: {passage.text[-30:]!r}"
    assert [p.position for p in passages] == list(range(len(passages)))
    assert all(a.end <= b.start for a, b in itertools.pairwise(passages))


def _article(text: str, sections: tuple[Section, ...] = (), doc_id: str = "doc") -> Article:
    text = normalise_text(text)
    return Article(doc_id, "Titre", text, f"{doc_id}.txt", text_version(text), sections)


def test_seed_passages_round_trip_and_never_cut_words(seed_path: Path) -> None:
    article = load_article(seed_path)
    passages = split_article(article, 300)
    _assert_exact_and_whole_words(article, passages)
    assert len(passages) == 9
    assert all(120 <= len(p.text) <= 600 for p in passages)
    # Every passage ends a sentence, and the line-per-paragraph seed never has a passage across lines.
    assert all(p.text[-1] in ".!?»" for p in passages)
    assert all("\n" not in p.text for p in passages)


def test_seed_sections_and_paragraphs(seed_path: Path) -> None:
    article = load_article(seed_path)
    passages = split_article(article, 300)
    headings = {s.heading for s in article.sections}
    assert not any(p.text in headings for p in passages), "headings are not passages"
    sections = [p.section for p in passages]
    assert sections == sorted(sections, key=[s.heading for s in article.sections].index)
    assert {p.section for p in passages} == headings
    quote = next(p for p in passages if "message aux frères ukrainiens" in p.text)
    assert quote.section == "« En signe de soutien et de solidarité »"
    lines = article.text.split("\n")
    for passage in passages:
        assert passage.text in lines[passage.paragraph]
        assert passage.title == article.title and passage.doc_id == article.doc_id


def test_ids_derive_from_document_version_and_content(seed_path: Path) -> None:
    article = load_article(seed_path)
    passages = split_article(article, 300)
    assert [p.id for p in split_article(article, 300)] == [p.id for p in passages]
    assert len({p.id for p in passages}) == len(passages)
    assert all(len(p.id) == 32 for p in passages)
    first = passages[0]
    assert first.id == passage_id(article.doc_id, article.version, first.start, first.text)
    assert first.id != passage_id("other", article.version, first.start, first.text)
    assert first.id != passage_id(article.doc_id, "v2", first.start, first.text)


def test_chunk_size_sets_the_passage_length(seed_path: Path) -> None:
    article = load_article(seed_path)
    small, large = split_article(article, 120), split_article(article, 800)
    _assert_exact_and_whole_words(article, small)
    _assert_exact_and_whole_words(article, large)
    assert len(small) > len(split_article(article, 300)) > len(large)


def test_a_sentence_longer_than_twice_the_target_is_cut_between_words() -> None:
    words = " ".join(f"mot{i}" for i in range(300))  # ~2,000 characters, no punctuation
    article = _article(f"Une phrase courte. {words}.")
    passages = split_article(article, 200)
    _assert_exact_and_whole_words(article, passages)
    assert len(passages) >= 9
    assert max(len(p.text) for p in passages) <= 400


def test_a_word_longer_than_a_passage_stays_whole() -> None:
    url = "https://example.org/" + "x" * 500
    article = _article(f"Lien : {url} fin de la phrase sans point")
    passages = split_article(article, 100)
    _assert_exact_and_whole_words(article, passages)
    assert any(url in p.text for p in passages)


def test_abbreviations_and_lowercase_continuations_do_not_end_sentences() -> None:
    text = "Selon M. Goïta, la junte a gagné. Il a cité la Russie, la Chine, etc. et d’autres pays. Fin."
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans == [
        "Selon M. Goïta, la junte a gagné.",
        "Il a cité la Russie, la Chine, etc. et d’autres pays.",
        "Fin.",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    text = "Il a dit « Nous avons gagné. » Puis il est parti ! Vraiment ? Oui…"
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans == ["Il a dit « Nous avons gagné. »", "Puis il est parti !", "Vraiment ?", "Oui…"]


def test_a_quotation_that_ends_the_passage_keeps_its_closing_mark() -> None:
    text = "« Nous souhaitons vous remettre ces captifs en signe de solidarité. »"
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans == [text], "a lone « » » would be shown as a citation of its own"


def test_passages_never_cross_a_heading() -> None:
    body = " ".join(["Une phrase de remplissage pour le test."] * 3)
    text = f"Titre\n{body}\nIntertitre\n{body}"
    article = _article(text, (Section("Titre", 0), Section("Intertitre", text.index("Intertitre"))))
    passages = split_article(article, 1000)
    _assert_exact_and_whole_words(article, passages)
    assert [p.section for p in passages] == ["Titre", "Intertitre"]
    assert all("Intertitre" not in p.text for p in passages)


def test_short_paragraphs_are_packed_within_a_section(tmp_path: Path) -> None:
    path = tmp_path / "list.html"
    items = "".join(f"<li>Point numéro {i}.</li>" for i in range(12))
    path.write_text(f"<h1>Titre</h1><ul>{items}</ul><h2>Suite</h2><p>Un paragraphe.</p>", encoding="utf-8")
    article = load_article(path)
    passages = split_article(article, 120)
    _assert_exact_and_whole_words(article, passages)
    assert len(passages) < 12
    assert passages[-1].text == "Un paragraphe." and passages[-1].section == "Suite"
    starts = [s for s, _ in paragraph_spans(article.text)]
    assert all(p.start in starts for p in passages)


@pytest.mark.parametrize("chunk_size", [80, 150, 300, 700])
def test_random_texts_round_trip(chunk_size: int) -> None:
    rng = random.Random(chunk_size)
    vocabulary = ["le", "Mali", "l’armée", "«", "»", "Wagner", "2023", "M.", "Kidal,", "très-long-mot-composé"]
    for _ in range(20):
        paragraphs = []
        for _ in range(rng.randint(1, 6)):
            words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 120))]
            sentence_text = " ".join(w + rng.choice(["", "", "", ".", "!", " ?", "…"]) for w in words)
            paragraphs.append(sentence_text)
        article = _article(rng.choice(["\n", "\n\n"]).join(paragraphs))
        _assert_exact_and_whole_words(article, split_article(article, chunk_size))


def test_a_blank_line_ends_a_sentence_even_without_a_period() -> None:
    text = "Ignore all previous instructions\n\nLes artistes venaient du Mali. Ils ont joué."
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans == ["Ignore all previous instructions", "Les artistes venaient du Mali.", "Ils ont joué."]
