"""The code-side check of what the model cites: each claim must be supported by the sentences it names.

Every sentence of the context has an id and the quote shown is the sentence cut from the article, so what remains
to check in code is what a model can still get wrong: ids that do not exist, claims with no evidence, figures and
names the evidence does not hold, an "it is not known" the evidence does not say, a question for a quantity or a
name answered without one, and instructions planted in an article. Each check is a named function in
:data:`CHECKS`, run in order; the first that fails gives the reason the claim is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from assistant.answer.answers import Citation, Claim
from assistant.answer.evidence import Evidence
from assistant.answer.render import citation
from assistant.text.lexicon import COUNT_WORDS, NUMBER_WORDS
from assistant.text.normalise import content_words, normalise, tokenize, word_stems
from ingest.articles import Passage

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
SUBJECT_STEMS = 3
#: A re-pointed sentence must hold at least this many, and this share, of the claim's other words.
REPOINT_WORDS = 2
REPOINT_SHARE = 0.6
_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w’'-]*[\w]", re.UNICODE)
_COUNT_QUESTION = re.compile(
    r"\b(how many|how much|what number|what is the (population|number|size|toll|amount)|combien|quel nombre|"
    r"quelle (est la )?(population|quantité)|quel est le (nombre|bilan|montant))\b",
    re.IGNORECASE,
)
_NAME_QUESTION = re.compile(
    r"\b(quel est le nom|quels sont les noms|comment s'appelle|comment se nomme|what is the name|what was the name|"
    r"what are the names|what is .{0,40} called|what was .{0,40} called)\b",
    re.IGNORECASE,
)
_COUNT_WORD = re.compile(rf"\b({COUNT_WORDS})\b", re.IGNORECASE)

#: Questions that ask whether something is known: the article's own "it is not known" is their answer.
_KNOWN_QUESTION = re.compile(
    r"\b(is it (known|clear|certain|confirmed|sure)|do (we|they|you) know|does anyone know|"
    r"sait-on|on sait si|est-ce qu'on sait|est-ce que l'on sait|est-il (connu|certain|confirmé|sûr)|"
    r"est-ce (connu|certain|confirmé|sûr))\b",
    re.IGNORECASE,
)
#: Wording that says something is not known: a claim that says so must cite a sentence that says so too.
_UNCERTAIN = re.compile(
    r"\b(not known|unknown|unclear|not clear|uncertain|no way of knowing|not confirmed|unconfirmed|"
    r"could not be (verified|confirmed)|remains to be seen|"
    r"sans que l'on sache|sans qu'on sache|on ne sait pas|on ignore|n'est pas connu|inconnu|incertain|"
    r"pas (été )?confirmé|pas pu être (vérifié|confirmé)|reste à savoir)",
    re.IGNORECASE,
)
#: Sentences that give orders to an assistant. An article can carry them (a planted prompt injection); they are
#: never support for a claim, and a claim that repeats what one tells the assistant to say ("PWNED") is dropped.
_QUOTED = re.compile(r"['\"«“‘]\s*([^'\"«»“”‘’]{1,80}?)\s*['\"»”’]")
_INSTRUCTION = re.compile(
    r"\b(ignore (the|all|any|your|previous|prior|above|earlier)\b|disregard (the|all|any|your|previous)\b|"
    r"(answer|reply|respond|say) (only |just )?(with )?['\"«]|"
    r"reveal (your|the) (hidden |system )?(prompt|instructions)|you are now\b|new instructions?\b|"
    r"system (prompt|override)|"
    r"ignorez? (la question|les instructions|l'article|tout)|ne tiens? pas compte|oubliez? (les|tes|vos) instructions|"
    r"r[ée]pond(s|ez) (seulement |uniquement )?(par )?['\"«])",
    re.IGNORECASE,
)


def unsupported_numbers(claim: str, evidence: Iterable[Evidence]) -> list[str]:
    """Figures in the claim that no cited sentence states about the claim's subject.

    In a claim that says more than its figure, a figure counts as held only by a cited sentence that also shares
    a word stem with the claim: citing one sentence for its year and another for its subject ("since 2012, the
    junta...") is not support. A bare answer ("Since 2023.") needs only a cited sentence holding the figure.
    A figure the sentence spells in words counts ("une quinzaine" holds 15).
    """
    stems = word_stems(_NUMBER.sub(" ", claim))
    held = {
        n
        for e in evidence
        if len(stems) < SUBJECT_STEMS or stems & word_stems(_NUMBER.sub(" ", e.text))
        for n in _figures(e.text)
    }
    return [n for n in _NUMBER.findall(claim) if n.replace(",", ".") not in held]


def _figures(text: str) -> set[str]:
    """The figures a sentence states, in digits or in words."""
    digits = {n.replace(",", ".") for n in _NUMBER.findall(text)}
    return digits | {NUMBER_WORDS[w] for w in tokenize(text) if w in NUMBER_WORDS}


def _claim_names(claim: str) -> list[str]:
    """Capitalised words of a claim, less its first word (capitalised because it starts the sentence)."""
    names = _NAME.findall(claim)
    return names[1:] if claim[:1].isupper() else names


def unsupported_names(claim: str, cited: Iterable[Evidence], context: Iterable[Evidence]) -> list[str]:
    """Names the claim takes from elsewhere in the context, not from its own evidence.

    A name the articles spell elsewhere but the cited sentences do not hold is the mark of a claim stitched
    from unrelated sentences ("the commander killed was <a name from another paragraph>"). Names the articles
    never spell (an English rendering such as "Malian") are left to the other checks.
    """
    own = " ".join(e.text for e in cited)
    known = {w for e in context for w in _NAME.findall(e.text)}
    return [w for w in dict.fromkeys(_claim_names(claim)) if w in known and w not in own]


def asks_for_count(question: str) -> bool:
    """Whether the question asks for a quantity, which only a figure the evidence states can answer."""
    return bool(_COUNT_QUESTION.search(question))


def asks_for_name(question: str) -> bool:
    """Whether the question asks what someone or something is called, which only a name can answer."""
    return bool(_NAME_QUESTION.search(question))


def gives_a_new_name(question: str, claim: str) -> bool:
    """Whether the claim names something the question did not already name."""
    asked = {w.casefold() for w in _NAME.findall(question)}
    return any(w.casefold() not in asked for w in _claim_names(claim))


def states_a_count(claim: str) -> bool:
    """Whether the claim gives a quantity, in digits or in words."""
    return bool(_NUMBER.search(claim) or _COUNT_WORD.search(claim))


def gives_orders(sentence: str) -> bool:
    """Whether a sentence of an article is an instruction addressed to an assistant, not reporting."""
    return bool(_INSTRUCTION.search(normalise(sentence)))


def states_uncertainty(text: str) -> bool:
    """Whether the text says that something is not known or not confirmed, in French or English."""
    return bool(_UNCERTAIN.search(normalise(text)))


def asks_whether_known(question: str) -> bool:
    """Whether the question asks if something is known or certain ("Is it known whether...", "Sait-on si...")."""
    return bool(_KNOWN_QUESTION.search(normalise(question)))


def uncertain_sentence(question: str, evidence: Sequence[Evidence], ranked: Sequence[Passage]) -> Evidence | None:
    """The sentence of the best-ranked passages that says the thing asked about is not known, if one does.

    The small model reads "it is not known" in the article as "the article does not say" and refuses; for a
    question that asks whether something is known, that sentence is the answer, and it is checked here in code:
    it must state the uncertainty and share a word with what the question asks about.
    """
    asked = word_stems(_KNOWN_QUESTION.sub(" ", normalise(question)))
    for passage in ranked:
        for item in evidence:
            if item.passage.id == passage.id and states_uncertainty(item.text) and asked & word_stems(item.text):
                return item
    return None


def repoint(claim: str, cited: list[Evidence], context: Sequence[Evidence]) -> list[Evidence]:
    """The sentence a claim comes from, when the model wrote it from one sentence but gave the id of another.

    Two cases are safe to repair: the claim copies a sentence, or the cited sentences lack the claim's names and
    exactly the sentences that hold all of them also hold most of the claim's other words. The second is the
    commonest slip measured with the 1.5B model ("X signed the communiqué", citing the sentence before).
    """
    folded = normalise(claim).rstrip(".")
    if len(folded) >= 25:
        for item in context:
            if folded in normalise(item.text) and item not in cited:
                return [item]
    missing = unsupported_names(claim, cited, context)
    if not missing:
        return cited
    words = content_words(_NAME.sub(" ", claim))
    holders = [e for e in context if all(name in e.text for name in missing)]
    scored = [(len(words & content_words(e.text)), e) for e in holders]
    best = max(scored, key=lambda pair: pair[0], default=(0, None))
    if best[1] is not None and best[0] >= REPOINT_WORDS and best[0] >= REPOINT_SHARE * len(words):
        return [best[1]]
    return cited


def off_topic(question: str, claim: str, cited: Iterable[Evidence]) -> bool:
    """Whether a claim of some length shares no word stem with the question or with what it cites.

    Small models echo the prompt's example or drift to another subject while citing a real sentence; a claim
    that answers restates some of the question or of its evidence. Short answers ("Saturday.") are exempt.
    """
    stems = word_stems(claim)
    if len(stems) < SUBJECT_STEMS:
        return False
    return not stems & (word_stems(question) | {s for e in cited for s in word_stems(e.text)})


def obeys_orders(claim: str, cited: Iterable[Evidence], context: Iterable[Evidence]) -> bool:
    """Whether a claim cites an instruction planted in the articles, or repeats what one says to answer."""
    orders = [e.text for e in context if gives_orders(e.text)]
    if any(e.text in orders for e in cited):
        return True
    folded = normalise(claim)
    return any(
        normalise(payload) in folded for text in orders for payload in _QUOTED.findall(text) if payload.strip()
    )


@dataclass(frozen=True)
class Draft:
    """A claim as the model wrote it: the question, its text, the sentences it cites and all it could have cited."""

    question: str
    claim: str
    cited: Sequence[Evidence]
    context: Sequence[Evidence]


Check = Callable[[Draft], str | None]
"""A support check: why the draft is not supported, or None when it passes."""


def cites_evidence(draft: Draft) -> str | None:
    """A claim must cite at least one sentence that exists."""
    return None if draft.cited else "no valid evidence"


def follows_no_planted_order(draft: Draft) -> str | None:
    """An instruction written into an article is never support, and its payload is never an answer."""
    if obeys_orders(draft.claim, draft.cited, draft.context):
        return "it follows an instruction written in the article"
    return None


def stays_on_topic(draft: Draft) -> str | None:
    """A claim of some length must share a word with the question or with what it cites."""
    if off_topic(draft.question, draft.claim, draft.cited):
        return "the claim shares no word with the question or its evidence"
    return None


def figures_in_evidence(draft: Draft) -> str | None:
    """Every figure of the claim must be stated by a cited sentence about the claim's subject."""
    missing = unsupported_numbers(draft.claim, draft.cited)
    return f"figures {missing} not in the evidence" if missing else None


def names_in_evidence(draft: Draft) -> str | None:
    """A name the articles spell must come from the claim's own evidence."""
    names = unsupported_names(draft.claim, draft.cited, draft.context)
    return f"names {names} not in the evidence" if names else None


def uncertainty_in_evidence(draft: Draft) -> str | None:
    """A claim that says something is not known must cite a sentence that says so."""
    if states_uncertainty(draft.claim) and not any(states_uncertainty(e.text) for e in draft.cited):
        return "the claim says it is not known, the evidence does not"
    return None


def gives_the_quantity_asked(draft: Draft) -> str | None:
    """A question that asks for a quantity is answered only by a claim that states one."""
    if asks_for_count(draft.question) and not states_a_count(draft.claim):
        return "the question asks for a quantity and the claim gives none"
    return None


def gives_the_name_asked(draft: Draft) -> str | None:
    """A question that asks for a name is answered only by a claim that names something new."""
    if asks_for_name(draft.question) and not gives_a_new_name(draft.question, draft.claim):
        return "the question asks for a name and the claim gives none"
    return None


#: The support checks, in the order they run: the first that fails gives the reason a claim is dropped.
CHECKS: tuple[Check, ...] = (
    cites_evidence,
    follows_no_planted_order,
    stays_on_topic,
    figures_in_evidence,
    names_in_evidence,
    uncertainty_in_evidence,
    gives_the_quantity_asked,
    gives_the_name_asked,
)


def support_problem(question: str, claim: str, cited: list[Evidence], context: Sequence[Evidence]) -> str | None:
    """Why a claim is not supported by its evidence, or None when every check passes."""
    draft = Draft(question, claim, cited, context)
    for check in CHECKS:
        problem = check(draft)
        if problem:
            return problem
    return None


@dataclass
class SupportedClaims:
    """What survives verification: supported claims, their citations, and what was dropped and why."""

    claims: list[Claim] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def verify(
    question: str,
    raw_claims: Sequence[tuple[str, Sequence[str]]],
    evidence: Sequence[Evidence],
    article_text: Callable[[str], str],
) -> SupportedClaims:
    """Keep the claims that their cited sentences support; number citations by first use.

    ``raw_claims`` is the model's reply as (text, [evidence ids]); ``article_text`` gives the stored text of an
    article. Ids that do not exist are ignored; a claim that copies a sentence is re-pointed to it; a claim that
    fails a support check, or whose quote is no longer the article's own text at its offsets (the article was
    re-ingested meanwhile), is dropped: it is never shown as cited.
    """
    context = [e for e in evidence if article_text(e.passage.doc_id)[e.start : e.end] == e.text]
    by_key = {e.key: e for e in context}
    result = SupportedClaims()
    numbers: dict[tuple[str, int], int] = {}
    for text, keys in raw_claims:
        text = text.strip()
        if not text:
            continue
        cited = [by_key[k] for k in dict.fromkeys(k.strip().upper() for k in keys) if k in by_key]
        cited = repoint(text, cited, context)
        problem = support_problem(question, text, cited, context)
        if problem:
            result.dropped.append(f"{problem}: {text}")
            continue
        ns = []
        for item in cited:
            key = (item.passage.doc_id, item.start)
            if key not in numbers:
                numbers[key] = len(result.citations) + 1
                result.citations.append(citation(numbers[key], item))
            ns.append(numbers[key])
        result.claims.append(Claim(text=text, citations=tuple(ns)))
    return result
