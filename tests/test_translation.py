"""Crossing languages: which translations by the model may be used (the model itself is not called here)."""

from __future__ import annotations

import pytest
from doubles import ScriptedChatModel

from assistant.answer.chain import AnswerChain
from assistant.answer.translation import faithful_question, faithful_translation, needs_translation, translated_date
from assistant.settings import Settings
from ingest.articles import Passage
from ingest.store import PassageStore


def test_a_translation_is_shown_only_if_it_keeps_the_figures_and_names() -> None:
    assert needs_translation("trois ans", "Le mandat dure trois ans.", "en")
    assert not needs_translation("1999", "Le mandat a pris fin en 1999.", "en")
    assert not needs_translation("three years", "The term lasts three years.", "en")
    assert faithful_translation("le 9 mai 1945", "on 9 May 1945")
    assert not faithful_translation("le 9 mai 1945", "on 9 May")
    assert faithful_translation("Les séparatistes maliens", "The Malian separatists")
    assert not faithful_translation("le colonel Assimi Goïta", "the colonel")
    assert not faithful_translation("trois ans", "")


def test_a_translated_question_is_used_only_if_it_is_still_the_question() -> None:
    question = "En quelle année le duché de Normandie a-t-il été fondé ?"
    assert faithful_question(question, "In what year was the Duchy of Normandy founded?")
    assert not faithful_question(question, "The Duchy of Normandy was founded in 911.")  # answered, not translated
    assert not faithful_question(question, "In 911?")  # a figure the question does not hold
    assert not faithful_question("What happened in 1808?", "Que s'est-il passé ?")  # a figure lost
    assert not faithful_question(question, "In what year?\nIt was founded in 911.")
    assert faithful_question("Who signed it", "Qui l'a signé")


def test_a_translation_that_loses_or_adds_a_negation_is_not_used() -> None:
    question = "How many prisoners did not reach their destination?"
    assert faithful_question(question, "Combien de prisonniers n'ont pas atteint leur destination ?")
    assert not faithful_question(question, "Combien de prisonniers n'ont-ils atteint leur destination ?")
    assert not faithful_question("Who signed the treaty?", "Qui n'a jamais signé le traité ?")
    assert faithful_question("Quelle est la plus grande ville ?", "What is the largest city?")  # « plus » alone
    assert faithful_translation("n'ont jamais été retrouvés", "were never found")
    assert not faithful_translation("n'ont jamais été retrouvés", "were found")
    assert not faithful_translation("sans que l'on sache si cette proposition", "knowing whether this proposal")


def _passage(text: str) -> Passage:
    return Passage("p", "d", "T", text, 0, len(text), "", 0, 0)


def test_the_question_is_translated_when_a_passage_found_is_in_the_other_language() -> None:
    french = _passage("Les séparatistes ont revendiqué une victoire à Tinzaouatene.")
    english = _passage("The separatists claimed a victory at Tinzaouatene.")
    assert AnswerChain.other_language("Who claimed a victory?", [english, french], "en") == "fr"
    assert AnswerChain.other_language("Who claimed a victory?", [english], "en") is None
    assert AnswerChain.other_language("Qui a revendiqué une victoire ?", [english], "fr") == "en"


def test_a_passage_in_the_other_language_far_down_the_ranking_does_not_translate_the_question() -> None:
    french = [_passage(f"Les séparatistes ont revendiqué une victoire le {day} juillet.") for day in range(1, 5)]
    english = _passage("The separatists claimed a victory at Tinzaouatene.")
    assert AnswerChain.other_language("Qui a revendiqué une victoire ?", [*french, english], "fr") is None
    assert AnswerChain.other_language("Qui a revendiqué une victoire ?", [*french[:3], english], "fr") == "en"


@pytest.mark.parametrize(
    ("copy", "language", "shown"),
    [
        ("December 12", "fr", "12 décembre"),
        ("December 1, 1754", "fr", "1er décembre 1754"),
        ("12 May 1945", "fr", "12 mai 1945"),
        ("le 9 mai 1945", "en", "May 9, 1945"),
        ("juin 1968", "en", "June 1968"),
        ("Mars", "en", None),  # a lone month name may be a planet
        ("12 décembre", "fr", None),  # already in the answer's language
        ("Paris 12", "fr", None),
    ],
)
def test_a_date_is_written_the_way_the_answer_s_language_writes_it(copy: str, language: str, shown: str | None) -> None:
    assert translated_date(copy, language) == shown  # type: ignore[arg-type]


def test_a_date_copied_from_the_other_language_is_shown_without_asking_the_model(
    settings: Settings, store: PassageStore
) -> None:
    chain = AnswerChain(settings, store, ScriptedChatModel([]))  # any request would fail the test
    assert chain.shown_text("December 12", "On December 12, Washington reached the fort.", "fr") == "12 décembre"
