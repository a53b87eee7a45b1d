"""Questions that quote the article back and ask who says it or where it is: « Qui a dit « … » ? », "Who said "…"?",
"Is "…" in the article?", or a quotation pasted alone between quotation marks.

The answer chain asks the model for the words that answer a question; for these it found none to copy (the words
are the question's own), and « « Nos forces ont définitivement anéanti ces colonnes de l'ennemi samedi » : qui a
dit ça ? » got "The article does not say" while the citation lookup finds the sentence and its speaker in a second,
without the model. Such a question is therefore answered by the lookup (:mod:`assistant.quotes.lookup`), whose
reply is the article's own words, or a plain "not found".

Only a quotation of a clause counts, and only when the rest of the question asks for its speaker or its place: the
quotation marks of "the association "Non au CDG Express"" or « une « victoire éclatante » » hold a name or a phrase
the question asks about, and « Pourquoi parlent-ils de « … » ? » asks a question the lookup does not answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A quotation: French guillemets, curly or straight double quotes.
_QUOTATION = re.compile(r"«\s*([^«»]+?)\s*»|“([^“”]+?)”|\"([^\"]+?)\"")
_WORD = re.compile(r"\w+")
#: The fewest words a quotation must have to be one the user checks: names and phrases quoted in questions
#: ("Non au CDG Express", « victoire éclatante », "highest") have fewer.
MIN_QUOTED_WORDS = 5
#: The most words the rest of the question may have: "Où l'article dit-il" or "who is quoted saying", not a
#: question of its own about the quoted words.
MAX_OTHER_WORDS = 8
#: Words asking for a quotation's speaker or place, or naming the article it would be in.
_ASKS_WHO_OR_WHERE = frozenset("qui who whom whose où where source article articles texte text".split())


@dataclass(frozen=True)
class AskedQuote:
    """A quotation a question asks about, and the question's own words around it ("" for a quotation alone), which
    tell the language to answer in: "Who said « Nos forces … » ?" is asked in English."""

    quote: str
    asking: str


def quote_asked_about(question: str) -> AskedQuote | None:
    """The quotation ``question`` asks about, when it asks only who says it or where it is (or is that quotation
    alone), else None."""
    quotations = [next(group for group in found.groups() if group) for found in _QUOTATION.finditer(question)]
    if not quotations:
        return None
    quoted = max(quotations, key=lambda text: len(_WORD.findall(text)))
    if len(_WORD.findall(quoted)) < MIN_QUOTED_WORDS:
        return None
    asking = " ".join(_QUOTATION.sub(" ", question).split())
    other = {word.lower() for word in _WORD.findall(asking)}
    if not other or (len(_WORD.findall(asking)) <= MAX_OTHER_WORDS and _ASKS_WHO_OR_WHERE & other):
        return AskedQuote(quoted, asking if other else "")
    return None
