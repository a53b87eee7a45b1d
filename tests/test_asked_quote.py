"""Questions that quote the article back and ask who says it or where it is are answered by the lookup."""

from __future__ import annotations

import pytest

from assistant.quotes.asked import quote_asked_about

QUOTE = "Nos forces ont définitivement anéanti ces colonnes de l’ennemi samedi"


@pytest.mark.parametrize(
    ("question", "asking"),
    [
        (f"Qui a dit « {QUOTE} » ?", "Qui a dit ?"),
        (f"« {QUOTE} » : qui a dit ça ?", ": qui a dit ça ?"),
        (f"Who said “{QUOTE}”?", "Who said ?"),
        (f'Where does the article say "{QUOTE}"?', "Where does the article say ?"),
        (f"D'où vient la phrase « {QUOTE} » ?", "D'où vient la phrase ?"),
        (f"« {QUOTE} »", ""),  # a quotation pasted alone
    ],
)
def test_a_question_asking_who_says_a_quotation_or_where_it_is_asks_about_that_quotation(
    question: str, asking: str
) -> None:
    asked = quote_asked_about(question)
    assert asked is not None and asked.quote == QUOTE and asked.asking == asking


@pytest.mark.parametrize(
    "question",
    [
        "Qui a revendiqué une « victoire éclatante » ?",  # a phrase, not a quotation to check
        "Sur quelle ligne l'association \"Non au CDG Express\" souhaite-t-elle qu'il y ait des trains ?",  # a name
        "Who suggested that imperialism was the \"highest\" form of capitalism?",
        f"Pourquoi les séparatistes disent-ils « {QUOTE} » ?",  # why, not who or where
        f"Quand le porte-parole des séparatistes a-t-il écrit « {QUOTE} » dans son communiqué ?",
        "Qui a signé le communiqué ?",
    ],
)
def test_a_question_about_the_facts_is_left_to_the_answer_chain(question: str) -> None:
    assert quote_asked_about(question) is None
