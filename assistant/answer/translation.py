"""Crossing languages: when the article's words need translating for the answer, and which translations may be
used, by the model's own output checked in code.

A question asked in the other language than its article's is translated before the model copies from the article
(asked in English, a 1.5B model translates the French words it should copy, and a translation cannot be checked
against the article), and the copied words are translated back for the answer. The small model sometimes answers
a question it was asked to translate ("Who founded X?" -> "X was founded by Y."), or drops a name, a figure or a
negation: each translation is used only if it keeps what a translation must not change, else the original is.
"""

from __future__ import annotations

import re

from assistant.text.language import Language, detect_language
from assistant.text.lexicon import MONTHS
from assistant.text.normalise import tokenize

_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_NAME = re.compile(r"(?<![\w’'-])[A-ZÀ-ÖØ-Þ][\w’'-]*\w")
#: A negation, English or French: a word that negates alone, or « ne »/« n' » with its second word a few words on.
_NEGATION = re.compile(
    r"\b(?:not|never|no|none|nobody|nothing|neither|nor|without|cannot|jamais|aucune?|sans|ni)\b|n['’]t\b"
    r"|\bn(?:e\s+|['’])(?:[\w-]+[\s'’-]+){0,3}?(?:pas|plus|rien|personne|guère|point)\b",
    re.IGNORECASE,
)


def needs_translation(span: str, sentence: str, language: Language) -> bool:
    """Whether words copied from ``sentence`` must be translated to be shown in ``language``: the sentence is in
    the other language and the copy has words, not only figures."""
    return bool(_LETTERS.search(span)) and detect_language(sentence, default=language) != language


_MONTH = {name.lower(): (number, lang) for lang, names in MONTHS.items() for number, name in enumerate(names)}
#: A copy that is a date and nothing else: « 12 décembre 1754 », « 1er mai », "December 12, 1754", "12 May", "May
#: 1945".
_DATE = re.compile(
    r"^(?:le\s+|on\s+)?(?:(?P<day>\d{1,2})(?:er)?\s+(?P<day_month>[^\W\d_]+)"
    r"|(?P<en_month>[^\W\d_]+)\s+(?P<en_day>\d{1,2})(?:st|nd|rd|th)?,?"
    r"|(?P<month>[^\W\d_]+))(?:\s+(?P<year>\d{3,4}))?$",
    re.IGNORECASE,
)


def translated_date(span: str, language: Language) -> str | None:
    """A copy that is only a date, written in ``language`` by code: the bundled model wrote "December 12" as
    « Décembre 12 », words a French reader does not write (and the benchmark's « 12 décembre » does not match);
    None when the copy is not a date in the other language."""
    match = _DATE.match(span.strip())
    if not match:
        return None
    name = match["day_month"] or match["en_month"] or match["month"]
    month = _MONTH.get(name.lower())
    day, year = match["day"] or match["en_day"], match["year"]
    written_in = "en" if match["en_month"] else month and month[1]  # only English puts the month first
    if month is None or month[1] != written_in or month[1] == language or not (day or year):
        return None  # not a month of the other language written its way, or a lone month name ("Mars", "May")
    written = MONTHS[language][month[0]]
    if language == "fr":
        text = " ".join(filter(None, ("1er" if day == "1" else day, written, year)))
    else:
        text = " ".join(filter(None, (written, f"{day}," if day and year else day, year)))
    return text


def faithful_translation(span: str, translation: str) -> bool:
    """Whether a translation keeps what a translation must not change: the copy's figures, its names (words
    capitalised inside it) and its negation (:func:`negated`). A translation that drops or alters one is not shown;
    the article's words are."""
    if not translation.strip() or "\n" in translation.strip() or negated(span) != negated(translation):
        return False
    figures = set(_FIGURE.findall(translation))
    if not set(_FIGURE.findall(span)) <= figures:
        return False
    words = set(tokenize(translation))
    names = [m.group() for m in _NAME.finditer(span) if m.start() > 0]
    return all(set(tokenize(name)) <= words for name in names)


def faithful_question(question: str, translation: str, *, may_add_figures: bool = False) -> bool:
    """Whether a translated (or rewritten) question is still the question: one line, the same figures, negated when
    the original is (:func:`negated`), and still a question when the original was one (an answer in its place ends
    with a full stop). A follow-up rewritten from the conversation ``may_add_figures`` ("and the year before?" →
    "… in 2011?"), never drop one."""
    text = translation.strip()
    if not text or "\n" in text or negated(question) != negated(text):
        return False
    kept, given = sorted(_DIGITS.findall(text)), sorted(_DIGITS.findall(question))
    if not (set(given) <= set(kept) if may_add_figures else kept == given):
        return False
    return text.endswith("?") or not question.strip().endswith("?")


def negated(text: str) -> bool:
    """Whether the text holds a negation ("did not", « n'ont pas », « aucun »). A translation that loses one asks or
    says the opposite: "How many prisoners did not reach …?" came back as « Combien de prisonniers n'ont-ils atteint
    … ? », without « pas », and the model answered how many did. On the broad set that question alone, of 52
    translated questions and 12 translated answers, changes: it is now asked as the user wrote it, and refused
    instead of answered wrong."""
    return bool(_NEGATION.search(text))
