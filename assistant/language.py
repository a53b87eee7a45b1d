"""Decide in code whether a question is French or English.

The answer language is never left to the model (a 1.5B model answers English questions in French about a
French article). The product speaks exactly two languages, so a function-word vote is more reliable on a
five-word question than a general language identifier trained on a hundred languages, and costs nothing.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["fr", "en"]

_FRENCH = frozenset(
    """le la les un une des du de d l au aux et ou est sont a ont qui que quoi quel quelle quels quelles
    quand comment pourquoi où combien dans sur pour par avec sans ce cette ces son sa ses leur leurs il elle
    ils elles on nous vous je tu ne pas plus se s qu c été être avoir fait selon depuis lors vers entre
    chez dit y en mais donc car très aussi tout tous toute toutes est-ce peut-on""".split()
)
_ENGLISH = frozenset(
    """the a an and or is are was were be been has have had who what which when where why how many much
    in on for by with without this that these those his her its their it they we you i not no more do
    does did of to from at as according since about into did can could would should will whom whose
    there any""".split()
)
_WORD = re.compile(r"[a-zà-öø-ÿœæ'’-]+", re.IGNORECASE)
_FRENCH_LETTERS = re.compile(r"[àâçéèêëîïôûùüÿœ]", re.IGNORECASE)


def detect_language(text: str, default: Language = "fr") -> Language:
    """French or English by counting function words; accents break ties; ``default`` when nothing tells."""
    words = [w.strip("'’-").lower() for w in _WORD.findall(text)]
    parts = [p for w in words for p in re.split(r"['’]", w) if p]
    french = sum(p in _FRENCH for p in parts)
    english = sum(p in _ENGLISH for p in parts)
    if french == english:
        return "fr" if _FRENCH_LETTERS.search(text) else default
    return "fr" if french > english else "en"


def answer_language(question: str, setting: str) -> Language:
    """The language to answer in: the setting when forced, else the question's."""
    if setting in ("fr", "en"):
        return setting  # type: ignore[return-value]
    return detect_language(question)
