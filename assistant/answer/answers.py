"""The answer stage's records: the verified answer, its claims and citations, a conversation turn, and the events
a streamed answer is made of."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.text.language import Language
from ingest.articles import Passage


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation."""

    question: str
    answer: str


@dataclass(frozen=True)
class Citation:
    """A verified quote: ``quote == article.text[start:end]`` for the article ``doc_id``."""

    n: int
    passage_id: str
    doc_id: str
    title: str
    section: str
    paragraph: int
    quote: str
    start: int
    end: int
    passage_text: str
    passage_start: int
    page: int | None = None


@dataclass(frozen=True)
class Claim:
    """One claim of the answer as shown (``text``), the numbers of the citations that support it, and ``span``:
    the article's own words it shows (``text`` is the same words, or their translation into the answer's
    language)."""

    text: str
    citations: tuple[int, ...]
    span: str = ""


@dataclass(frozen=True)
class DraftRecord:
    """One claim the model proposed, as an evaluation sees it: the text it would show, the article's words it
    copied, the sentence it cites (``doc_id``, ``start``, ``end``; empty when it cites none) and each check's
    verdict (the reason it failed, or None)."""

    text: str
    span: str
    doc_id: str
    start: int
    end: int
    quote: str
    verdicts: dict[str, str | None]


@dataclass
class Answer:
    """A verified answer: the text shown, its citations, and how it was reached (``asked`` is the question as the
    model was asked it and its checks read it: the standalone question, translated into the articles' language
    when they are in the other one, or each of its parts in turn (:mod:`assistant.answer.parts`); ``read`` is
    every passage the model was shown, the retrieved ones or more: a short article, or a small store, is read
    whole)."""

    question: str
    standalone_question: str
    language: Language
    answer: str
    abstained: bool
    asked: str = ""
    citations: list[Citation] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    read: list[Passage] = field(default_factory=list)
    notice: str | None = None
    dropped: list[str] = field(default_factory=list)
    drafts: list[DraftRecord] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON form: answer, language, abstained, citations and what led to them."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "asked": self.asked,
            "answer": self.answer,
            "language": self.language,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "retrieved": [{"passage_id": p.id, "doc_id": p.doc_id, "text": p.text} for p in self.retrieved],
            "read": [p.id for p in self.read],
            "notice": self.notice,
            "dropped": self.dropped,
            "drafts": [asdict(d) for d in self.drafts],
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Token:
    """A piece of the answer text as the model writes it (before verification)."""

    text: str


@dataclass(frozen=True)
class Step:
    """A stage that finished, for the UI's collapsed steps: its name and what it produced."""

    name: str
    output: str


Event = Token | Step | Answer
