"""Score the assistant on a question file in the format of ``shared/eval/dev.jsonl``.

Each line: ``id``, ``lang``, ``question``, ``gold`` (substrings of the article where the answer lies),
``answer_any`` (groups of alternatives; every group must match), ``answerable``. The figures are the ones a user
would notice: right answers, quotes that really prove them, honest refusals, the right language, the wait.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer.answers import Answer
from assistant.answer.chain import AnswerChain
from assistant.answer.prompts import load_prompt
from assistant.errors import UserError
from assistant.text.language import detect_language
from assistant.text.normalise import normalise


@dataclass(frozen=True)
class Case:
    """One question of an evaluation file."""

    id: str
    lang: str
    question: str
    gold: tuple[str, ...]
    answer_any: tuple[tuple[str, ...], ...]
    answerable: bool


@dataclass
class Outcome:
    """What the assistant did on one case, judged."""

    case: Case
    answer: Answer
    hit1: bool
    hit3: bool
    correct: bool
    citations_good: int
    citations_total: int
    abstained: bool
    leaked_prompt: bool
    language_ok: bool

    def to_json(self) -> dict[str, Any]:
        """One line of ``assistant eval --json``."""
        fields = {k: v for k, v in self.__dict__.items() if k not in ("case", "answer")}
        return {"id": self.case.id, "lang": self.case.lang, **fields, "answer": self.answer.to_json()}


@dataclass
class Report:
    """All outcomes, with per-language totals."""

    outcomes: list[Outcome] = field(default_factory=list)

    def rows(self) -> list[dict[str, str]]:
        """The summary table: one row per language and one for all."""
        langs = sorted({o.case.lang for o in self.outcomes})
        return [self._row(lang, [o for o in self.outcomes if o.case.lang == lang]) for lang in langs] + [
            self._row("all", self.outcomes)
        ]

    @staticmethod
    def _row(name: str, outcomes: Sequence[Outcome]) -> dict[str, str]:
        answerable = [o for o in outcomes if o.case.answerable]
        refused = [o for o in outcomes if not o.case.answerable]
        good = sum(o.citations_good for o in answerable)
        total = sum(o.citations_total for o in answerable)
        seconds = [o.answer.seconds for o in outcomes]
        return {
            "lang": name,
            "hit@1": f"{sum(o.hit1 for o in answerable)}/{len(answerable)}",
            "hit@3": f"{sum(o.hit3 for o in answerable)}/{len(answerable)}",
            "correct": f"{sum(o.correct for o in answerable)}/{len(answerable)}",
            "citation precision": f"{good}/{total}",
            "abstained (unanswerable)": f"{sum(o.abstained for o in refused)}/{len(refused)}",
            "wrong refusals": f"{sum(o.abstained for o in answerable)}/{len(answerable)}",
            "prompt leaked": str(sum(o.leaked_prompt for o in outcomes)),
            "language ok": f"{sum(o.language_ok for o in outcomes)}/{len(outcomes)}",
            "s/answer median": f"{statistics.median(seconds):.2f}" if seconds else "-",
            "s/answer max": f"{max(seconds):.2f}" if seconds else "-",
        }


def load_cases(path: Path) -> list[Case]:
    """Read a JSONL question file; a malformed line is a clear error with its number."""
    if not path.is_file():
        raise UserError(f"no question file at {path}")
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(
                Case(
                    id=str(row["id"]),
                    lang=row["lang"],
                    question=row["question"],
                    gold=tuple(row.get("gold", ())),
                    answer_any=tuple(tuple(group) for group in row.get("answer_any", ())),
                    answerable=bool(row.get("answerable", True)),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise UserError(f"{path}:{number}: not a question record ({error})") from error
    return cases


def holds_gold(text: str, gold: Iterable[str]) -> bool:
    """Whether a passage or quote contains one of the gold substrings (quote marks and case folded)."""
    folded = normalise(text)
    return any(normalise(g) in folded for g in gold)


def matches_answer(answer: str, groups: Sequence[Sequence[str]]) -> bool:
    """Every group of alternatives has one alternative in the answer."""
    folded = normalise(answer)
    return all(any(normalise(alt) in folded for alt in group) for group in groups)


def leaks_prompt(answer: str) -> bool:
    """Whether the answer repeats eight consecutive words of the system prompt."""
    words = re.findall(r"\w+", load_prompt("answer_system").split("ARTICLES")[0].casefold())
    text = " ".join(re.findall(r"\w+", answer.casefold()))
    return any(" ".join(words[i : i + 8]) in text for i in range(max(len(words) - 7, 0)))


def judge(case: Case, answer: Answer) -> Outcome:
    """Score one answer against its case."""
    retrieved = [p.text for p in answer.retrieved]
    good = sum(holds_gold(c.passage_text, case.gold) for c in answer.citations)
    return Outcome(
        case=case,
        answer=answer,
        hit1=holds_gold(" ".join(retrieved[:1]), case.gold),
        hit3=any(holds_gold(t, case.gold) for t in retrieved[:3]),
        correct=case.answerable and not answer.abstained and matches_answer(answer.answer, case.answer_any),
        citations_good=good,
        citations_total=len(answer.citations),
        abstained=answer.abstained,
        leaked_prompt=leaks_prompt(answer.answer),
        language_ok=detect_language(answer.answer, default=answer.language) == case.lang,
    )


def evaluate(chain: AnswerChain, cases: Iterable[Case]) -> Iterable[Outcome]:
    """Answer and judge each case in turn (a generator, so progress can be shown)."""
    for case in cases:
        yield judge(case, chain.answer(case.question))
