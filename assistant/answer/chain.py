"""The answer chain: rewrite a follow-up, retrieve, ask the LLM for claims with evidence ids, verify, render.

Stages run in one direction and each is a plain function over typed values; the LLM is any
:class:`~assistant.llm.protocol.ChatModel`. The prompt is laid out for the llama.cpp prompt cache: the instructions
and the numbered articles come first and stay byte-identical from one question to the next while the store fits in
``CONTEXT_CHARS``; only the question follows. A warm answer then re-reads a few dozen tokens, not the article.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from functools import cache

from assistant.answer.answers import Answer, Claim, Event, Step, Token, Turn
from assistant.answer.checks import asks_whether_known, gives_orders, uncertain_sentence, verify
from assistant.answer.evidence import Evidence, format_context, number_evidence
from assistant.answer.prompts import load_prompt
from assistant.answer.render import render
from assistant.answer.reply import MAX_REPLY_TOKENS, claims_schema, is_refusal, parse_claims, streamed_text
from assistant.answer.retrieval import HybridRetriever
from assistant.errors import UserError
from assistant.llm.protocol import ChatModel, Message
from assistant.settings import Settings
from assistant.text.catalogue import CATALOGUE
from assistant.text.language import Language, answer_language, detect_language
from ingest.articles import Passage
from ingest.store import PassageStore

CONTEXT_CHARS = 7000
HISTORY_TURNS = 3


class AnswerChain:
    """Answers questions about the stored articles with a chat model (the configured LLM, or a test's double)."""

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

    def translate_claims(self, claims: list[Claim], language: Language) -> list[Claim]:
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
        self, question: str, language: Language, evidence: Sequence[Evidence], excerpt: Sequence[Evidence] = ()
    ) -> list[Message]:
        """System prompt with the numbered articles first (the stable, cached part), the question last.

        ``excerpt`` sentences (the best retrieved passage) are repeated after the question as a likely excerpt.
        """
        system = load_prompt("answer_system").replace("{context}", format_context(evidence))
        if excerpt:
            excerpt_text = "\n".join(f"{e.key}: {e.text}" for e in excerpt)
            user = load_prompt("answer_user_excerpt", language).replace("{excerpt}", excerpt_text)
        else:
            user = load_prompt("answer_user", language)
        return [Message("system", system), Message("user", user.replace("{question}", question))]

    def claims_reply(
        self, question: str, language: Language, evidence: Sequence[Evidence], excerpt: Sequence[Evidence]
    ) -> Generator[Token, None, str]:
        """Ask for the claims under the schema; yield the claim text as it streams, return the whole reply."""
        schema = claims_schema([e.key for e in evidence])
        buffer, shown = "", ""
        messages = self.messages(question, language, evidence, excerpt)
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
        question, cut = self._clean_question(question)
        language = answer_language(question, self.settings.answer_language)
        if gives_orders(question):
            # Orders to the assistant are not a question about the articles. Refused in code: the small model
            # sometimes answers around them with real quotes, which no check on the quotes can catch.
            yield self._refused(question, language, started, "the question gives orders to the assistant")
            return
        standalone = self.rewrite(question, history)
        if standalone != question:
            yield Step("rewrite", standalone)
        not_french = detect_language(standalone) != "fr"
        retrieved = self.retriever.search(standalone, not_french=not_french)
        yield Step("retrieve", "\n".join(f"{p.title} §{p.paragraph}: {p.text}" for p in retrieved))
        evidence = number_evidence(self.context_passages(retrieved))
        if not evidence:
            raise UserError(f"no articles in store {self.store.location}; run `assistant ingest PATH` first")
        excerpt = [e for e in evidence if e.passage.id == retrieved[0].id] if retrieved else []
        reply = yield from self.claims_reply(standalone, language, evidence, excerpt)
        answer = self._answer_from_claims(question, standalone, language, parse_claims(reply), evidence, retrieved)
        if answer.abstained and answer.dropped and excerpt:
            # Every claim failed verification (often a figure or name borrowed from the excerpt's neighbour):
            # ask once more from the whole article alone. A reply the model itself left empty is not retried:
            # measured, a second look at a question it declined made it answer unanswerable ones.
            yield Step("retry", "\n".join(answer.dropped))
            reply = yield from self.claims_reply(standalone, language, evidence, [])
            claims = parse_claims(reply)
            retry = self._answer_from_claims(question, standalone, language, claims, evidence, retrieved)
            retry.dropped = answer.dropped + retry.dropped
            answer = retry
        if answer.abstained and asks_whether_known(standalone):
            not_known_sentence = uncertain_sentence(standalone, evidence, retrieved)
            if not_known_sentence is not None:
                not_known = [(CATALOGUE[language]["not_known"], [not_known_sentence.key])]
                answer = self._answer_from_claims(question, standalone, language, not_known, evidence, retrieved)
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

    def _clean_question(self, question: str) -> tuple[str, bool]:
        """The question with its white space folded, lone surrogates replaced, cut to the limit; and whether cut."""
        question = question.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        question = " ".join(question.split())
        if not question:
            raise UserError("the question is empty: type a question about the article")
        limit = self.settings.max_question_chars
        return question[:limit], len(question) > limit

    def _answer_from_claims(
        self,
        question: str,
        standalone: str,
        language: Language,
        replied: Sequence[tuple[str, list[str]]],
        evidence: Sequence[Evidence],
        retrieved: Sequence[Passage],
    ) -> Answer:
        """The answer made of the replied claims that survive verification, or the refusal when none does."""
        raw_claims = [(text, ids) for text, ids in replied if not is_refusal(text)]
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
            claims = self.translate_claims(claims, language)
            answer.citations = checked.citations
            answer.claims = claims
            answer.answer = render(claims)
        else:
            answer.answer = CATALOGUE[language]["refusal"]
        return answer
