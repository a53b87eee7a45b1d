"""The answer language is decided in code from the question."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.text.language import answer_language, detect_language

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Qui a signé le communiqué ?", "fr"),
        ("Et qui l'a signé ?", "fr"),
        ("Who signed the statement?", "en"),
        ("And who signed it?", "en"),
        ("Why is Kidal important?", "en"),
        ("Pourquoi Kidal est-elle importante ?", "fr"),
        ("Tinzaouatene ?", "fr"),
    ],
)
def test_detects_french_and_english_questions(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_a_name_is_no_vote_for_the_language_its_particles_come_from() -> None:
    assert detect_language("Maria de la Queillerie [1]", default="en") == "en"
    assert detect_language("Jessé de Forest [1]", default="en") == "en"
    assert detect_language("1060s [1]", default="en") == "en"
    assert detect_language("Who did King David I of Scotland marry?") == "en"
    assert detect_language("Le marquis de la Jonquière est mort en 1752.", default="en") == "fr"


def test_unknown_falls_back_to_the_default() -> None:
    assert detect_language("Wagner", default="en") == "en"
    assert detect_language("", default="fr") == "fr"


def test_setting_overrides_detection() -> None:
    assert answer_language("Who signed it?", "fr") == "fr"
    assert answer_language("Who signed it?", "auto") == "en"


@pytest.mark.skipif(not DEV.is_file(), reason="shared/eval is not beside this checkout")
def test_every_dev_question_gets_its_language() -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [detect_language(r["question"]) for r in rows] == [r["lang"] for r in rows]
