"""The answer chain: rewrite a follow-up, retrieve, ask the LLM for claims with evidence ids, verify, render.

Stages run in one direction and each is a plain function over typed values, composed with LangChain
runnables for the LLM calls. The prompt is laid out for the llama.cpp prompt cache: the instructions and the
numbered articles come first and stay byte-identical from one question to the next while the store fits in
``CONTEXT_CHARS``; only the question follows. A warm answer then re-reads a few dozen tokens, not the article.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from assistant.citations import (
    Citation,
    Claim,
    Evidence,
    asks_whether_known,
    gives_orders,
    number_evidence,
    render,
    uncertain_sentence,
    verify,
)
from assistant.errors import UserError
from assistant.llm.protocol import ChatModel, Message
from assistant.prompts import load_prompt
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from assistant.text.catalogue import CATALOGUE
from assistant.text.language import Language, answer_language, detect_language
from ingest.articles import Passage
from ingest.store import PassageStore

CONTEXT_CHARS = 7000
#: Bounds the constrained decoder enforces, so that a full reply always fits in ``MAX_REPLY_TOKENS``: a small
#: model that repeats itself is stopped by the grammar, not cut off mid-JSON.
MAX_CLAIMS = 3
MAX_EVIDENCE = 3
MAX_REPLY_TOKENS = 400
HISTORY_TURNS = 3
_TEXT_FIELD = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)')
_REFUSAL = re.compile(
    r"(does not|doesn't|do not|don't) (say|mention|specify|state|provide|give|contain)|not (mentioned|specified|"
    r"stated|provided|given|known from)|no information|ne (le )?(dit|précise|mentionne|donne|indique) pas|"
    r"pas (mentionné|précisé|indiqué)|aucune information",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation."""

    question: str
    answer: str


@dataclass
class Answer:
    """A verified answer: the text shown, its citations, and how it was reached."""

    question: str
    standalone_question: str
    language: Language
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    notice: str | None = None
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON form: answer, language, abstained, citations and what led to them."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "language": self.language,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "retrieved": [{"passage_id": p.id, "doc_id": p.doc_id, "text": p.text} for p in self.retrieved],
            "notice": self.notice,
            "dropped": self.dropped,
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


def claims_schema(keys: Sequence[str]) -> dict[str, Any]:
    """JSON schema of the model's reply; evidence ids are an enum so a constrained decoder cannot invent one.

    The claim's text comes before its evidence. Measured on the dev questions with the bundled 1.5B model, that
    order answered 16/16 against 14/16 with the evidence first (the model then wrote a claim to fit an id it had
    picked too early, or picked none), and the text streams to the user some twenty tokens sooner.
    """
    return {
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "maxLength": 200},
                        "evidence": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(keys)},
                            "maxItems": MAX_EVIDENCE,
                        },
                    },
                    "required": ["text", "evidence"],
                    "additionalProperties": False,
                },
                "maxItems": MAX_CLAIMS,
            }
        },
        "required": ["claims"],
        "additionalProperties": False,
    }


def format_context(evidence: Sequence[Evidence]) -> str:
    """The numbered sentences, grouped under their article title and section, in the order given."""
    lines: list[str] = []
    heading: tuple[str, str] | None = None
    for item in evidence:
        here = (item.passage.title, item.passage.section)
        if here != heading:
            if heading is None or here[0] != heading[0]:
                lines.append(f"\n# {item.passage.title}")
            if item.passage.section:
                lines.append(f"## {item.passage.section}")
            heading = here
        lines.append(f"{item.key}: {item.text}")
    return "\n".join(lines).strip()


def parse_claims(raw: str) -> list[tuple[str, list[str]]]:
    """The (text, evidence ids) pairs of a reply; anything that is not the expected JSON gives no claims."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return []
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list):
        return []
    parsed = []
    for claim in claims:
        if isinstance(claim, dict) and isinstance(claim.get("text"), str):
            ids = claim.get("evidence")
            parsed.append((claim["text"], [str(i) for i in ids] if isinstance(ids, list) else []))
    return parsed


def streamed_text(buffer: str) -> str:
    """The claim texts readable so far in a partial JSON reply, joined as the user will see them."""
    texts = []
    for match in _TEXT_FIELD.finditer(buffer):
        body = match.group(1)
        if body.endswith("\\") and not body.endswith("\\\\"):
            body = body[:-1]
        try:
            texts.append(json.loads(f'"{body}"'))
        except json.JSONDecodeError:
            texts.append(body)
    return " ".join(t.strip() for t in texts if t.strip())


class AnswerChain:
    """Answers questions about the stored articles with a chat model reached through the openai package."""

    def __init__(self, settings: Settings, store: PassageStore, chat_model: ChatModel) -> None:
        self.settings = settings
        self.store = store
        self.chat_model = chat_model
        self.retriever = HybridRetriever(
            store=store, k=settings.top_k, mode=settings.retrieval, translate=self.translate
        )

    # -- stages ---------------------------------------------------------------------------------------------

    def translate(self, question: str) -> str:
        """The question in French, for searching French articles with an English question."""
        messages = [Message("system", load_prompt("translate_question")), Message("user", question)]
        return self.chat_model.complete(messages, max_tokens=120).strip() or question

    def in_language(self, claims: list[Claim], language: Language) -> list[Claim]:
        """The claims in the answer language: a small model often answers an English question in French."""
        translated = []
        for claim in claims:
            text = claim.text
            if detect_language(text, default=language) != language:
                messages = [Message("system", load_prompt("translate_answer", language)), Message("user", text)]
                text = self.chat_model.complete(messages, max_tokens=200).strip() or claim.text
            translated.append(Claim(text=text, citations=claim.citations))
        return translated

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up made standalone from the last turns; the question itself when there is no history."""
        if not history:
            return question
        messages = [Message("system", load_prompt("rewrite"))]
        for turn in history[-HISTORY_TURNS:]:
            messages += [Message("user", turn.question), Message("assistant", turn.answer)]
        messages.append(Message("user", question))
        rewritten = self.chat_model.complete(messages, max_tokens=120).strip()
        return rewritten.splitlines()[0].strip() if rewritten else question

    def context_passages(self, retrieved: Sequence[Passage]) -> list[Passage]:
        """Every stored passage when the store is small (a cacheable prompt), else the retrieved ones."""
        everything = self.retriever.passages()
        if sum(len(p.text) for p in everything) <= CONTEXT_CHARS:
            return everything
        return sorted(retrieved, key=lambda p: (p.doc_id, p.position))

    def messages(
        self, question: str, language: Language, evidence: Sequence[Evidence], focus: Sequence[Evidence] = ()
    ) -> list[Message]:
        """System prompt with the numbered articles first (the stable, cached part), the question last.

        ``focus`` sentences (the best retrieved passage) are repeated after the question as a likely excerpt.
        """
        system = load_prompt("answer_system").replace("{context}", format_context(evidence))
        if focus:
            excerpt = "\n".join(f"{e.key}: {e.text}" for e in focus)
            user = load_prompt("answer_user_excerpt", language).replace("{excerpt}", excerpt)
        else:
            user = load_prompt("answer_user", language)
        return [Message("system", system), Message("user", user.replace("{question}", question))]

    def claims_reply(
        self, question: str, language: Language, evidence: Sequence[Evidence], focus: Sequence[Evidence]
    ) -> Generator[Token, None, str]:
        """Ask for the claims under the schema; yield the claim text as it streams, return the whole reply."""
        schema = claims_schema([e.key for e in evidence])
        buffer, shown = "", ""
        messages = self.messages(question, language, evidence, focus)
        for chunk in self.chat_model.stream(messages, max_tokens=MAX_REPLY_TOKENS, schema=schema):
            buffer += chunk
            text = streamed_text(buffer)
            if len(text) > len(shown) and text.startswith(shown):
                yield Token(text[len(shown) :])
                shown = text
        return buffer

    def warm(self) -> None:
        """Have the LLM read the stable part of the prompt now, so that the first question is answered warm.

        When the whole store is the context, the server's prompt cache then holds the instructions and the
        numbered articles (about a thousand tokens, 20-30 s on one core); a question re-reads only its own turn.
        """
        evidence = number_evidence(self.context_passages([]))
        if evidence:
            self.chat_model.complete(self.messages("", "en", evidence), max_tokens=1)

    # -- the chain ------------------------------------------------------------------------------------------

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        """Steps, then answer tokens as they come, then the verified :class:`Answer` last."""
        started = time.perf_counter()
        question, cut = self._checked(question)
        language = answer_language(question, self.settings.answer_language)
        if gives_orders(question):
            # Orders to the assistant are not a question about the articles. Refused in code: the small model
            # sometimes answers around them with real quotes, which no check on the quotes can catch.
            yield self._refused(question, language, started, "the question gives orders to the assistant")
            return
        standalone = self.rewrite(question, history)
        if standalone != question:
            yield Step("rewrite", standalone)
        foreign = detect_language(standalone) != "fr"
        retrieved = self.retriever.search(standalone, foreign=foreign)
        yield Step("retrieve", "\n".join(f"{p.title} §{p.paragraph}: {p.text}" for p in retrieved))
        evidence = number_evidence(self.context_passages(retrieved))
        if not evidence:
            raise UserError(f"no articles in store {self.store.location}; run `assistant ingest PATH` first")
        focus = [e for e in evidence if e.passage.id == retrieved[0].id] if retrieved else []
        reply = yield from self.claims_reply(standalone, language, evidence, focus)
        answer = self._verified(question, standalone, language, parse_claims(reply), evidence, retrieved)
        if answer.abstained and answer.dropped and focus:
            # Every claim failed verification (often a figure or name borrowed from the excerpt's neighbour):
            # ask once more from the whole article alone. A reply the model itself left empty is not retried:
            # measured, a second look at a question it declined made it answer unanswerable ones.
            yield Step("retry", "\n".join(answer.dropped))
            reply = yield from self.claims_reply(standalone, language, evidence, [])
            retry = self._verified(question, standalone, language, parse_claims(reply), evidence, retrieved)
            retry.dropped = answer.dropped + retry.dropped
            answer = retry
        if answer.abstained and asks_whether_known(standalone):
            hedge = uncertain_sentence(standalone, evidence, retrieved)
            if hedge is not None:
                not_known = [(CATALOGUE[language]["not_known"], [hedge.key])]
                answer = self._verified(question, standalone, language, not_known, evidence, retrieved)
        if cut:
            answer.notice = CATALOGUE[language]["question_cut"].format(limit=self.settings.max_question_chars)
        answer.seconds = time.perf_counter() - started
        yield answer

    def answer(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """The verified answer, without streaming."""
        final = None
        for event in self.stream(question, history):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def _refused(self, question: str, language: Language, started: float, reason: str) -> Answer:
        """The refusal for a question the model is not asked at all."""
        refusal = CATALOGUE[language]["refusal"]
        answer = Answer(question, question, language, refusal, abstained=True, dropped=[reason])
        answer.seconds = time.perf_counter() - started
        return answer

    def _checked(self, question: str) -> tuple[str, bool]:
        """The question with its white space folded, lone surrogates replaced, cut to the limit; and whether cut."""
        question = question.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        question = " ".join(question.split())
        if not question:
            raise UserError("the question is empty: type a question about the article")
        limit = self.settings.max_question_chars
        return question[:limit], len(question) > limit

    def _verified(
        self,
        question: str,
        standalone: str,
        language: Language,
        replied: Sequence[tuple[str, list[str]]],
        evidence: Sequence[Evidence],
        retrieved: Sequence[Passage],
    ) -> Answer:
        raw_claims = [(text, ids) for text, ids in replied if not _REFUSAL.search(text)]
        checked = verify(standalone, raw_claims, evidence, cache(lambda doc_id: self.store.article(doc_id).text))
        claims = checked.claims
        answer = Answer(
            question=question,
            standalone_question=standalone,
            language=language,
            answer="",
            abstained=not claims,
            retrieved=list(retrieved),
            dropped=checked.dropped,
        )
        if claims:
            claims = self.in_language(claims, language)
            answer.citations = checked.citations
            answer.claims = claims
            answer.answer = render(claims)
        else:
            answer.answer = CATALOGUE[language]["refusal"]
        return answer
