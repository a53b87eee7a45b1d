"""How text is folded before it is compared: one definition per comparison, shared by every stage.

``normalise`` folds what a model or a user changes without meaning to (case, quote marks, spaces), for comparing
quotes and phrases; ``fold`` is the same, character by character, keeping where each character came from, for
finding a quote's exact span; ``tokenize`` gives accent-free word tokens for BM25 and for matching words across
French and English.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"\w+")


def normalise(text: str) -> str:
    """Fold what a model or a user changes without meaning to: case, accents' form, quote marks, spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[’‘`´]", "'", text)
    text = re.sub(r"[«»“”„\"]", '"', text)
    return re.sub(r"\s+", " ", text).strip()


def fold(text: str) -> tuple[str, list[int]]:
    """``normalise(text)`` built character by character, with the original offset of every folded character.

    Whitespace runs become one space (mapped to the run's first character) and leading/trailing whitespace is
    dropped, exactly as :func:`normalise` does for the whole string; the article text is NFC, so folding
    character by character composes nothing differently.
    """
    chars: list[str] = []
    origin: list[int] = []
    space_at: int | None = None
    for index, char in enumerate(text):
        if char.isspace():
            if chars and space_at is None:
                space_at = index
            continue
        piece = normalise(char)
        if not piece:
            continue
        if space_at is not None:
            chars.append(" ")
            origin.append(space_at)
            space_at = None
        chars.extend(piece)
        origin.extend([index] * len(piece))
    return "".join(chars), origin


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-free word tokens: « Qaïda » and "Qaida" must meet in BM25."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return [t for t in _TOKEN.findall(plain) if len(t) > 1]
