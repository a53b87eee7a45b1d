"""Questions in several parts ("who …, and where …?"): which parts can be asked alone, and one answer from the
answers to each.

Asked whole, the bundled model answered such a question with one claim: "Who claimed victory and where did the
fighting take place?" got "In Mali [1]", and "who" went unanswered without a word said. Each part is therefore
asked as a question of its own (its own passages, its own copy, its own checks), and the answer joins what was
verified for each part, saying which part the article does not answer. A part that names nothing but its question
word ("Who won and where?") cannot be searched or judged alone: such a question is asked whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from assistant.answer.answers import Answer, Claim
from assistant.answer.render import CitationNumbers, render
from assistant.text.catalogue import CATALOGUE
from assistant.text.language import Language
from assistant.text.lexicon import QUESTION_WORDS, REFERRING_WORDS
from assistant.text.normalise import tokenize

#: The most parts a question is answered in, each one a full answer (its own retrieval and model reply); a
#: question joining more is asked whole, so an answer stays within three replies' time and three claims' length.
MAX_PARTS = 3
_WORD = re.compile(r"\w+")
_JOINED_QUESTION = re.compile(
    rf",?\s+(?:et|and)\s+(?=(?:d['’])?(?:{'|'.join(sorted(QUESTION_WORDS))})\b)", re.IGNORECASE
)


def question_parts(question: str) -> tuple[str, ...]:
    """The questions a question asks: two or more when it opens with a question word and joins another question by
    "and"/« et » (« Qui a signé le communiqué, et quelle est la population de Bamako ? »), else itself."""
    opening = _WORD.search(question)
    if not opening or opening.group().lower() not in QUESTION_WORDS:
        return (question,)
    pieces = [p.strip(" ,?") for p in _JOINED_QUESTION.split(question) if p.strip(" ,?")]
    if len(pieces) < 2:
        return (question,)
    mark = " ?" if question.rstrip().endswith(" ?") else "?"
    return tuple(p[:1].upper() + p[1:] + mark for p in pieces)


def separate_questions(question: str) -> tuple[str, ...]:
    """The parts of ``question`` to ask one by one: its :func:`question_parts` when there are at most
    :data:`MAX_PARTS` and each names something of its own, a word that is neither a question word nor one that
    refers back ("Where?" and "Where was it?" name nothing); else the question itself, asked whole."""
    parts = question_parts(question)
    if not 1 < len(parts) <= MAX_PARTS:
        return (question,)
    if all(set(tokenize(part)) - QUESTION_WORDS - REFERRING_WORDS for part in parts):
        return parts
    return (question,)


def joined_answer(
    question: str, standalone: str, language: Language, parts: Sequence[str], answers: Sequence[Answer]
) -> Answer:
    """One answer from the answers to each part: their claims in order, citations numbered again by first use (a
    sentence cited for two parts keeps one number), a claim shown twice shown once, and a notice naming each part
    the article does not answer. With no part answered it is the refusal."""
    numbers = CitationNumbers()
    claims: list[Claim] = []
    for answer in answers:
        cited = {c.n: c for c in answer.citations}
        for claim in answer.claims:
            claim = replace(claim, citations=tuple(numbers.number(cited[n]) for n in claim.citations))
            if claim not in claims:
                claims.append(claim)
    unanswered = [part for part, answer in zip(parts, answers, strict=True) if answer.abstained]
    joined = Answer(
        question=question,
        standalone_question=standalone,
        language=language,
        answer=render(claims) if claims else CATALOGUE[language]["refusal"],
        abstained=not claims,
        asked=" ".join(answer.asked for answer in answers),
        citations=numbers.citations,
        claims=claims,
        retrieved=list({p.id: p for answer in answers for p in answer.retrieved}.values()),
        read=list({p.id: p for answer in answers for p in answer.read}.values()),
        dropped=[reason for answer in answers for reason in answer.dropped],
        drafts=[draft for answer in answers for draft in answer.drafts],
    )
    if claims and unanswered:
        joined.notice = " ".join(CATALOGUE[language]["part_not_answered"].format(part=part) for part in unanswered)
    return joined
