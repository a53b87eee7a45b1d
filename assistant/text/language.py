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
    """French or English by counting function words; then the first word, then accents break ties; ``default``
    when nothing tells.

    Capitalised words after the first are names and titles (« Les Mamelles de Tirésias », "Fort Beauséjour"): they
    neither vote nor count as accents. Only what comes before an apostrophe is an elided French word (l', qu'),
    so an English possessive ("Genghis's") is not a French "s". Measured on the 374 questions of the broad and seed
    sets: 374 right, against 369 when every word voted.
    """
    words = [m.group() for m in _WORD.finditer(text)]
    common = [w for i, w in enumerate(words) if i == 0 or not w[:1].isupper()]
    french = sum(_votes(w, FRENCH_FUNCTION_WORDS) for w in common)
    english = sum(_votes(w, ENGLISH_FUNCTION_WORDS) for w in common)
    if french != english:
        return "fr" if french > english else "en"
    if common:
        first_fr, first_en = _votes(common[0], FRENCH_FUNCTION_WORDS), _votes(common[0], ENGLISH_FUNCTION_WORDS)
        if first_fr != first_en:
            return "fr" if first_fr > first_en else "en"
    return "fr" if any(_FRENCH_LETTERS.search(w) for w in common) else default


def _votes(word: str, function_words: frozenset[str]) -> int:
    """How many function words a word holds: itself, or an elided word and what follows it (l'armée, qu'il)."""
    parts = [p for p in re.split(r"['’]", word.strip("'’-").lower()) if p]
    if not parts:
        return 0
    if len(parts) == 1:
        return int(parts[0] in function_words)
    return sum(p in function_words for p in parts[:-1]) + (parts[-1] in function_words and len(parts[-1]) > 1)


def answer_language(question: str, setting: str) -> Language:
    """The language to answer in: the setting when forced, else the question's."""
    if setting in ("fr", "en"):
        return setting  # type: ignore[return-value]
    return detect_language(question)
