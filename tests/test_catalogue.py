"""Every string shown to a user exists in both languages: a key missing in one would fail only when it is shown."""

from __future__ import annotations

import string

from assistant.text.catalogue import CATALOGUE


def test_both_languages_have_the_same_keys() -> None:
    assert set(CATALOGUE) == {"fr", "en"}
    assert sorted(CATALOGUE["fr"]) == sorted(CATALOGUE["en"])


def test_both_languages_fill_the_same_placeholders() -> None:
    def placeholders(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, french in CATALOGUE["fr"].items():
        assert placeholders(french) == placeholders(CATALOGUE["en"][key]), key
