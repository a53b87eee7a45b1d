"""Decide in code whether a question is French or English.

The answer language is never left to the model (a 1.5B model answers English questions in French about a
French article). The product speaks exactly two languages, so a function-word vote is more reliable on a
five-word question than a general language identifier trained on a hundred languages, and costs nothing.
"""

from __future__ import annotations

import re
from typing import Literal

from assistant.text.lexicon import ENGLISH_FUNCTION_WORDS, FRENCH_FUNCTION_WORDS

Language = Literal["fr", "en"]

_WORD = re.compile(r"[a-zà-öø-ÿœæ'’-]+", re.IGNORECASE)
_FRENCH_LETTERS = re.compile(r"[àâçéèêëîïôûùüÿœ]", re.IGNORECASE)


def detect_language(text: str, default: Language = "fr") -> Language:
    """French or English by counting function words; accents break ties; ``default`` when nothing tells."""
    words = [w.strip("'’-").lower() for w in _WORD.findall(text)]
    parts = [p for w in words for p in re.split(r"['’]", w) if p]
    french = sum(p in FRENCH_FUNCTION_WORDS for p in parts)
    english = sum(p in ENGLISH_FUNCTION_WORDS for p in parts)
    if french == english:
        return "fr" if _FRENCH_LETTERS.search(text) else default
    return "fr" if french > english else "en"


def answer_language(question: str, setting: str) -> Language:
    """The language to answer in: the setting when forced, else the question's."""
    if setting in ("fr", "en"):
        return setting  # type: ignore[return-value]
    return detect_language(question)
