"""The checks a claim must pass before it is shown: named functions in one ordered list, each with its reason.

A claim is the words the model says it copied from a numbered sentence, and that sentence. Nothing the model
writes is shown unchecked: the answer must be the article's own words (so its names, figures, dates, negations and
hedges are the article's), and the evidence must answer the question as it is asked, not one like it. The second is
where a small model fails: asked about an event the article never reports, in the wording of one it does ("the 15
smallest cities" where the article says largest), it copies the answer to the question the article does answer.

:data:`CHECKS` runs in order, cheapest first; the first that fails gives the reason the claim is dropped. Each
check's worth was measured by ablation on ``../shared/eval/external-dev/`` (see the README's table): a check that
did not pay there is not in the list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Protocol

from assistant.answer.answers import Citation, Claim
from assistant.answer.evidence import Evidence
from assistant.answer.parts import question_parts
from assistant.answer.render import CitationNumbers, citation
from assistant.answer.reply import ANSWER_CHARS, Drafted
from assistant.text.lexicon import (
    ENGLISH_FUNCTION_WORDS,
    FRENCH_FUNCTION_WORDS,
    MONTHS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
)
from assistant.text.normalise import fold, normalise, tokenize
from ingest.articles import Passage

_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_EDGES = " \t\n.,;:!?\"'«»“”‘’()[]"
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
#: A word of letters, with its hyphenated parts (« quarante-quatre », « Al-Qaïda »): a copy never stops inside one.
_LETTER_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_YEAR = re.compile(r"\d{3,4}")
_WORD_BEFORE = re.compile(r"([^\W\d_]+)\s+$")
_FUNCTION_WORDS = FRENCH_FUNCTION_WORDS | ENGLISH_FUNCTION_WORDS
#: The words a year ends: a day and a month, or a month (« le 9 mars » 1908, "December" 2016, "May 12," 1945).
_MONTH_NAMES = "|".join(name for names in MONTHS.values() for name in names)
_DAY_AND_MONTH = re.compile(rf"(?:\b\d{{1,2}}(?:er)?\s+)?\b(?:{_MONTH_NAMES})(?:\s+\d{{1,2}},?)?\s+$", re.IGNORECASE)
#: What separates the items of a list: commas, semicolons, "and", « et ».
_LIST_SEPARATOR = re.compile(r"\s*[,;]\s*|\s+(?:and|et)\s+", re.IGNORECASE)
#: The words by which a question offers its answers to choose from ("north or south?", « nord ou sud ? »).
_OFFERS_A_CHOICE = frozenset({"or", "ou", "either", "soit"})
#: How close (difflib ratio, accents, case and punctuation folded) a copy must be to a run of the sentence's words
#: for that run to be taken as what the model meant to copy: "Hasan al-Turabi" for the article's "Hassan
#: al-Turabi", "5.72%" for "5,72 %". Measured on the broad set: 8 right answers the model misspelt, none wrong.
CLOSE_COPY = 0.85

#: Sentences that give orders to an assistant. An article can carry them (a planted prompt injection); they are
#: never support for a claim, and a claim that repeats what one tells the assistant to say ("PWNED") is dropped.
_QUOTED = re.compile(r"['\"«“‘]\s*([^'\"«»“”‘’]{1,80}?)\s*['\"»”’]")
_INSTRUCTION = re.compile(
    r"\b(ignore (the|all|any|your|previous|prior|above|earlier)\b|disregard (the|all|any|your|previous)\b|"
    r"(answer|reply|respond|say) (only |just )?(with )?(['\"«]|the (single )?word\b)|forget (the|all|your) "
    r"(articles?|instructions|question)\b|"
    r"reveal (your|the) (hidden |system )?(prompt|instructions)|you are now\b|new instructions?\b|"
    r"system (prompt|override)|"
    r"ignorez? (la question|les instructions|l'article|tout)|ne tiens? pas compte|oubliez? (les|tes|vos) instructions|"
    r"r[ée]pond(s|ez) (seulement |uniquement )?(par )?['\"«])",
    re.IGNORECASE,
)


class Judge(Protocol):
    """The model's second readings of a claim (:class:`assistant.answer.judge.SupportJudge`)."""

    def answers(self, passage: str, question: str) -> bool:
        """Whether the passage, read alone, answers the question."""
        ...

    def states(self, sentence: str, question: str, answer: str) -> bool:
        """Whether the sentence, read alone, gives this answer to this question."""
        ...


@dataclass(frozen=True)
class Draft:
    """One claim to check: the question, the words the model gave as its answer, the sentences it cites (the one
    holding those words first), every sentence it could have cited, and the judge a check may consult."""

    question: str
    answer: str
    cited: tuple[Evidence, ...]
    context: tuple[Evidence, ...]
    judge: Judge


Check = Callable[[Draft], str | None]
"""A check: why the draft may not be shown, or None when it passes."""


def cites_evidence(draft: Draft) -> str | None:
    """A claim must cite a sentence that exists (and is still the article's text at its offsets)."""
    return None if draft.cited else "no valid evidence"


def is_whole(draft: Draft) -> str | None:
    """An answer the grammar cut at its length limit ends mid-word: it is never shown."""
    return "the answer was cut at its length limit" if len(draft.answer) >= ANSWER_CHARS else None


def quotes_its_evidence(draft: Draft) -> str | None:
    """The answer must be the words of its evidence, so every name, figure, negation and hedge in it is the
    article's own. A copy the model placed in the wrong sentence has already been re-pointed (:func:`locate`)."""
    return None if copied_from(draft.answer, draft.cited[0]) else "the answer is not the words of its evidence"


def adds_to_the_question(draft: Draft) -> str | None:
    """An answer made only of the question's own words ("Lily Evans" to "who is Lily Evans's sister?") answers
    nothing, unless the question offers the choice ("north or south?")."""
    words = set(tokenize(draft.answer))
    asked = tokenize(draft.question)
    if not words or not words <= set(asked) or _OFFERS_A_CHOICE & set(asked):
        return None
    return "the answer only repeats the question"


def follows_no_planted_order(draft: Draft) -> str | None:
    """An instruction written into an article is never support, and its payload is never an answer."""
    if obeys_orders(draft.answer, draft.cited, draft.context):
        return "it follows an instruction written in the article"
    return None


def states_the_question_figures(draft: Draft) -> str | None:
    """Every figure the question takes for granted ("in 1725", "over 300 police") must be in the sentence that
    answers it: a question about another year or number is a question the article does not answer. Read in the
    whole passage, "who patented a steam engine in 1883?" passed on « In 1781 James Watt patented a steam engine »
    because 1883 was two sentences further; in the sentence, 3 more false answers of two broad-set runs are caught
    (470 questions) and no right one lost. A figure the sentence spells out is stated: "the 3 sister towns" is
    « les Trois villes sœurs ». A figure is a whole number of the sentence, or its ordinal (:func:`holds_figure`),
    not digits inside another: "Who was the 4th son?" had passed on "the third son, …, in 1234". On the last broad
    run (rescored with whole numbers): 4 false premises refused for 1 right answer lost."""
    held = normalise(draft.cited[0].text)
    missing = [n for n in _FIGURE.findall(draft.question) if not holds_figure(n, held)]
    return f"the question's figures {missing} are not in the evidence sentence" if missing else None


def holds_figure(figure: str, sentence: str) -> bool:
    """Whether the (normalised) sentence holds the figure: as a number of its own, not as digits of a longer one;
    in words (:func:`spelled_out`); or as an ordinal (:data:`ORDINAL_WORDS`)."""
    if re.search(rf"(?<!\d)(?<!\d[.,]){re.escape(figure)}(?!\d)(?![.,]\d)", sentence) or spelled_out(figure, sentence):
        return True
    ordinals = ORDINAL_WORDS.get(figure, ())
    return bool(ordinals) and re.search(rf"\b(?:{'|'.join(ordinals)})\b", sentence) is not None


def judged_to_answer(draft: Draft) -> str | None:
    """The model, shown only the evidence's passage and the question, must judge that the passage answers it.

    A second reading with nothing else in view: the answering prompt shows several passages and asks for a copy,
    and a 1.5B model then copies the nearest answer to a question the article does not answer. Its yes/no is
    read with a threshold calibrated on the broad set (see :mod:`assistant.answer.judge`). A question in parts is
    asked part by part (:mod:`assistant.answer.parts`), except one whose part names nothing alone ("who won, and
    where?"): asked whole, it is judged part by part, and a passage that answers one part answers it for that
    claim (judged as one question, it was refused). The judge does not read
    the passage's lines that give orders to an assistant: they are never support, and beside « Le directeur du
    festival, Mamou Daffé, … » they took its yes margin from 3.2 to 0.5 (none of the broad set's passages has one).
    """
    text = without_orders(draft.cited[0].passage, draft.context)
    if any(draft.judge.answers(text, part) for part in question_parts(draft.question)):
        return None
    return "the evidence does not answer the question as asked"


def judged_to_state_the_answer(draft: Draft) -> str | None:
    """The model, shown only the evidence sentence, the question and the copied answer, must judge that the sentence
    gives this answer to this question.

    The passage judge asks whether the passage answers the question, not whether the copy is that answer: a passage
    about two treaties answers "which treaty ...?" whichever of the two the model copied, and a false premise close
    to what the passage reports still reads as answered. Read with the answer beside its one sentence, the model
    turns down more of both: on the broad run, 7 wrong answers shown fewer (2 of them false premises) for 3 right
    ones lost (README's ablation). A question in two parts is judged part by part, as above.
    """
    sentence = draft.cited[0].text
    if any(draft.judge.states(sentence, part, draft.answer) for part in question_parts(draft.question)):
        return None
    return "the evidence sentence does not give this answer"


#: The checks, in the order they run: the first that fails gives the reason a claim is dropped.
CHECKS: tuple[Check, ...] = (
    cites_evidence,
    is_whole,
    quotes_its_evidence,
    adds_to_the_question,
    follows_no_planted_order,
    states_the_question_figures,
    judged_to_answer,
    judged_to_state_the_answer,
)


@dataclass(frozen=True)
class CheckedDraft:
    """A draft and what the checks said of it: the reason of each check that failed (None for one that passed).

    In normal use checks stop at the first failure, so later checks are missing from ``verdicts``; an evaluation
    with ``every=True`` runs all of them, which is what an ablation needs."""

    draft: Draft
    verdicts: dict[str, str | None]

    @property
    def problem(self) -> str | None:
        """The first failure, in the order of :data:`CHECKS`."""
        return next((reason for reason in self.verdicts.values() if reason), None)


@dataclass
class SupportedClaims:
    """What survives verification: supported claims, their citations, what was dropped and why, and every draft
    with its verdicts."""

    claims: list[Claim] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    checked: list[CheckedDraft] = field(default_factory=list)


def verify(
    question: str,
    drafted: Sequence[Drafted],
    evidence: Sequence[Evidence],
    article_text: Callable[[str], str],
    judge: Judge,
    *,
    ranked: Sequence[str] = (),
    every: bool = False,
    skip: Iterable[str] = (),
) -> SupportedClaims:
    """Keep the claims that pass :data:`CHECKS`; number citations by first use.

    ``article_text`` gives the stored text of an article: a sentence that is no longer the article's text at its
    offsets (the article was re-ingested meanwhile) cannot be cited. ``ranked`` lists passage ids best first, to
    choose among several sentences holding a misplaced copy. ``every`` runs every check on every draft instead of
    stopping at the first failure; ``skip`` names checks left out (an ablation). A list put together from several
    sentences is checked item by item (:func:`located_items`). Duplicate claims are shown once.
    """
    context = tuple(e for e in evidence if article_text(e.passage.doc_id)[e.start : e.end] == e.text)
    by_key = {e.key: e for e in context}
    rank = {passage_id: index for index, passage_id in enumerate(ranked)}
    skipped = set(skip)
    numbers = CitationNumbers()
    result = SupportedClaims(citations=numbers.citations)
    shown: set[tuple[str, str]] = set()
    for reply in drafted:
        answer = reply.answer.strip()
        if not answer:
            continue
        cited = tuple(by_key[k] for k in dict.fromkeys(k.strip().upper() for k in reply.evidence) if k in by_key)
        if answer.upper() in by_key:  # the model gave a sentence's id instead of its words: those words are the copy
            cited = (by_key[answer.upper()],)
            answer = cited[0].text
        for copy, located in located_items(answer, cited, context, rank):
            draft = Draft(question, copy, located, context, judge)
            checked = CheckedDraft(draft, _run(draft, every, skipped))
            result.checked.append(checked)
            if checked.problem:
                result.dropped.append(f"{checked.problem}: {copy}")
                continue
            key = (normalise(copy), draft.cited[0].key)
            if key in shown:
                continue
            shown.add(key)
            ns = tuple(numbers.number(citation(0, sentence)) for sentence in draft.cited[:1])
            result.claims.append(Claim(text=display(copy), citations=ns, span=copy))
    return result


def _run(draft: Draft, every: bool, skipped: set[str]) -> dict[str, str | None]:
    verdicts: dict[str, str | None] = {}
    for check in CHECKS:
        if check.__name__ in skipped:
            continue
        if not draft.cited and check is not cites_evidence:
            verdicts[check.__name__] = "no valid evidence"
        else:
            verdicts[check.__name__] = check(draft)
        if verdicts[check.__name__] and not every:
            break
    return verdicts


def located_items(
    answer: str, cited: tuple[Evidence, ...], context: Sequence[Evidence], rank: dict[str, int]
) -> list[tuple[str, tuple[Evidence, ...]]]:
    """The answer located (:func:`locate`) as one claim; or, when it is the words of no sentence even once respelt,
    the items of a list the model put together from several sentences ("Mali, France", each named in a sentence of
    its own), each located as a claim of its own. A list with an item found in no sentence stays one claim.

    Tried before :func:`locate`'s respelling, the split broke two right copies on the broad set: « vert et jaune »
    and « ADN et ARN », respelt as the article's « vert et de jaune » and « ADN et de l'ARN »."""
    whole = locate(answer, cited, context, rank)
    if whole[1] and copied_from(whole[0], whole[1][0]):
        return [whole]
    items = [item for item in _LIST_SEPARATOR.split(answer) if item.strip(_EDGES)]
    if len(items) > 1 and all(any(copied_from(item, e) for e in context) for item in items):
        return [locate(item, cited, context, rank) for item in items]
    return [whole]


def locate(
    answer: str, cited: tuple[Evidence, ...], context: Sequence[Evidence], rank: dict[str, int]
) -> tuple[str, tuple[Evidence, ...]]:
    """The answer's words as the article has them, and the cited sentences with the one holding them first.

    Tried in order: the copy in a cited sentence; in another sentence of the context (the best-ranked passage's
    first), which the model named wrongly; then a run of words of a cited sentence, else of the context, close to
    the copy (:data:`CLOSE_COPY`) or spelling its figure (:func:`spelled_out`), whose exact words replace the
    model's. Else the answer and citations unchanged.
    """
    holders = [e for e in cited if copied_from(answer, e)]
    if holders:
        return whole_words(answer, holders[0].text), (holders[0], *(e for e in cited if e is not holders[0]))
    elsewhere = sorted((e for e in context if copied_from(answer, e)), key=lambda e: rank.get(e.passage.id, len(rank)))
    if elsewhere:
        return whole_words(answer, elsewhere[0].text), (elsewhere[0],)
    for candidates in (cited, sorted(context, key=lambda e: rank.get(e.passage.id, len(rank)))):
        close = [
            (words, e) for e in candidates if (words := spelled_out(answer, e.text) or closest_words(answer, e.text))
        ]
        if close:
            words, sentence = close[0]
            return whole_words(words, sentence.text), (sentence, *(e for e in cited if e is not sentence))
    return answer, cited


def whole_words(copy: str, sentence: str) -> str:
    """The sentence's words that hold ``copy``, widened to whole words, a lone year to its date, a letter to its name.

    The model's copy can stop inside a word, and what it shows is then another word: "quarante" for the article's
    « quarante-quatre », « hyperboloïde » for « hyperboloïdes ». A year copied alone drops the day and month the
    sentence gives it ("2016" for « en décembre 2016 »), and a lone letter the word it names ("K" for « la ligne
    K », not "the" for "that P is"): alone it tells the reader nothing. Only letters are joined: a digit cut from a
    longer number ("2" in « 1922 ») is not widened into another number. A copy that occurs as whole words somewhere
    in the sentence is kept as the model wrote it.
    """
    needle = normalise(copy).strip(_EDGES)
    folded, origin = fold(sentence)
    places = [m.start() for m in re.finditer(re.escape(needle), folded)] if needle else []
    if not places:
        return copy
    spans = [(origin[at], origin[at + len(needle) - 1] + 1) for at in places]
    words = list(_LETTER_WORD.finditer(sentence))
    whole = [span for span in spans if _widen(*span, words) == span]
    if not whole:
        start, end = _widen(*spans[0], words)
        return sentence[start:end]
    start, end = whole[0]
    if _YEAR.fullmatch(sentence[start:end]) and (date := _DAY_AND_MONTH.search(sentence[:start])):
        return sentence[date.start() : end]
    letter = len(sentence[start:end]) == 1 and sentence[start].isalpha()
    if letter and (named := _WORD_BEFORE.search(sentence[:start])) and named[1].casefold() not in _FUNCTION_WORDS:
        return sentence[named.start(1) : end]
    return copy


def _widen(start: int, end: int, words: Sequence[re.Match[str]]) -> tuple[int, int]:
    """``start`` and ``end`` moved out to the edges of the words of letters they fall inside."""
    for word in words:
        if word.start() < start < word.end():
            start = word.start()
        if word.start() < end < word.end():
            end = word.end()
    return start, end


def closest_words(answer: str, sentence: str) -> str | None:
    """The run of the sentence's words closest to ``answer`` when it is within :data:`CLOSE_COPY` and holds the
    same numbers (a run that drops or changes a figure is another answer), else None."""
    wanted = _plain(answer)
    size = len(wanted.split())
    if not size:
        return None
    numbers = sorted(_DIGITS.findall(wanted))
    words = list(_WORD.finditer(sentence))
    best, best_ratio = None, CLOSE_COPY
    for length in range(max(1, size - 1), size + 3):
        for first in range(0, len(words) - length + 1):
            window = sentence[words[first].start() : words[first + length - 1].end()]
            plain = _plain(window)
            ratio = SequenceMatcher(None, wanted, plain, autojunk=False).ratio()
            if ratio >= best_ratio and sorted(_DIGITS.findall(plain)) == numbers:
                best, best_ratio = window, ratio
    return best


def spelled_out(answer: str, sentence: str) -> str | None:
    """The sentence's words for a figure the model wrote as digits ("15" for « une quinzaine », "3" for "three"),
    with their article ("une", "a"), else None. Only a bare figure is respelt: in a longer copy a figure is words."""
    words = NUMBER_WORDS.get(answer.strip(_EDGES))
    if not words:
        return None
    found = re.search(rf"\b(?:(?:une?|a|an|some|about|environ|quelque) )?(?:{'|'.join(words)})s?\b", sentence, re.I)
    return found.group() if found else None


def _plain(text: str) -> str:
    """Words only: case, accents and punctuation folded away, for comparing a misspelt copy with the article."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return " ".join(_WORD.findall("".join(c for c in folded if not unicodedata.combining(c))))


def copied_from(answer: str, sentence: Evidence) -> bool:
    """Whether the answer's words occur in the sentence, once case, quote marks, spaces and edge punctuation are
    folded the same way in both."""
    words = normalise(answer).strip(_EDGES)
    return bool(words) and words in normalise(sentence.text)


def display(answer: str) -> str:
    """The copied words as the answer shows them: trimmed of edge punctuation, first letter capitalised."""
    text = answer.strip().strip(" ,;:")
    return text[:1].upper() + text[1:]


def gives_orders(sentence: str) -> bool:
    """Whether a sentence of an article is an instruction addressed to an assistant, not reporting."""
    return bool(_INSTRUCTION.search(normalise(sentence)))


def without_orders(passage: Passage, sentences: Iterable[Evidence]) -> str:
    """The passage's text with its sentences (among ``sentences``, any passage's) that give orders to an assistant
    (:func:`gives_orders`) cut out: what the judge reads."""
    text = passage.text
    orders = [e for e in sentences if e.passage.id == passage.id and gives_orders(e.text)]
    for sentence in sorted(orders, key=lambda e: e.start, reverse=True):
        text = text[: sentence.start - passage.start] + text[sentence.end - passage.start :]
    return text


def obeys_orders(answer: str, cited: Iterable[Evidence], context: Iterable[Evidence]) -> bool:
    """Whether a claim cites an instruction planted in the articles, or repeats what one says to answer."""
    orders = [e.text for e in context if gives_orders(e.text)]
    if any(e.text in orders for e in cited):
        return True
    folded = normalise(answer)
    return any(normalise(payload) in folded for text in orders for payload in _QUOTED.findall(text) if payload.strip())
