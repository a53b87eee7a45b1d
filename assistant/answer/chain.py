"""The answer chain: rewrite a follow-up, retrieve, translate the question when the passages found are in the other
language, ask the LLM to copy the answer from a numbered sentence, check it, translate it back, render.

Stages run in one direction and each is a plain function over typed values; the LLM is any
:class:`~assistant.llm.protocol.ChatModel`. The prompt is laid out for the llama.cpp prompt cache: the instructions
and the numbered articles come first and stay byte-identical from one question to the next while the store fits in
``CONTEXT_CHARS`` (in a larger store, while the questions stay on one short article, read whole); only the question
follows. A warm answer then re-reads a few dozen tokens, not the article.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from functools import cache

from assistant.answer.answers import Answer, Citation, Claim, DraftRecord, Event, Step, Token, Turn
from assistant.answer.checks import CheckedDraft, display, gives_orders, verify
from assistant.answer.evidence import Evidence, format_context, number_evidence
from assistant.answer.judge import SupportJudge
from assistant.answer.parts import joined_answer, separate_questions
from assistant.answer.prompts import load_prompt
from assistant.answer.render import CLAIM_SEPARATOR, citation, render
from assistant.answer.reply import MAX_REPLY_TOKENS, Drafted, claims_schema, parse_claims, streamed_text
from assistant.answer.retrieval import HybridRetriever
from assistant.answer.summary import asks_for_a_summary, passage_vectors, summary_sentences, summary_subject
from assistant.answer.translation import (
    faithful_question,
    faithful_translation,
    needs_translation,
    translated_date,
)
from assistant.errors import UserError
from assistant.llm.protocol import ChatModel, Message
from assistant.settings import Settings
from assistant.text.catalogue import CATALOGUE
from assistant.text.language import Language, answer_language, detect_language
from assistant.text.lexicon import REFERRING_WORDS
from assistant.text.normalise import tokenize
from ingest.articles import Passage
from ingest.store import PassageStore

CONTEXT_CHARS = 7000
HISTORY_TURNS = 3
#: How many of the best passages retrieved decide whether the question is translated (:meth:`other_language`).
TRANSLATION_DEPTH = 4


class AnswerChain:
    """Answers questions about the stored articles with a chat model (the configured LLM, or a test's double)."""

    def __init__(self, settings: Settings, store: PassageStore, chat_model: ChatModel) -> None:
        self.settings = settings
        self.store = store
        self.chat_model = chat_model
        self.judge = SupportJudge(chat_model)
        self.retriever = HybridRetriever(store=store, k=settings.top_k, mode=settings.retrieval)

    # -- stages ---------------------------------------------------------------------------------------------

    def translate(self, question: str, language: Language) -> str:
        """The question in ``language``, or the question itself when the model's translation is not faithful (it
        answered instead, or changed a figure or a negation: :func:`faithful_question`).

        One worked example precedes it: with the instruction alone, 12 of the broad set's 50 cross-lingual
        questions came back answered or with a changed figure; with the example, 1 (caught by the check).
        """
        other: Language = "en" if language == "fr" else "fr"
        messages = [
            Message("system", load_prompt("translate_question", language)),
            Message("user", load_prompt("example_question", other).strip()),
            Message("assistant", load_prompt("example_question", language).strip()),
            Message("user", question),
        ]
        translated = self.chat_model.complete(messages, max_tokens=120).strip()
        return translated if faithful_question(question, translated) else question

    def translate_claims(self, claims: list[Claim], citations: Sequence[Citation], language: Language) -> list[Claim]:
        """The claims in the answer language: words copied from an article in the other language are translated,
        and the translation is shown only if it keeps the copy's figures, names and negation (else the copy itself
        is)."""
        quotes = {c.n: c.quote for c in citations}
        return [Claim(self.shown_text(c.span, quotes[c.citations[0]], language), c.citations, c.span) for c in claims]

    def shown_text(self, span: str, sentence: str, language: Language) -> str:
        """The words ``span`` copied from ``sentence`` as the answer shows them in ``language``."""
        if not needs_translation(span, sentence, language):
            return display(span)
        if date := translated_date(span, language):
            return display(date)
        messages = [Message("system", load_prompt("translate_answer", language)), Message("user", span)]
        candidate = self.chat_model.complete(messages, max_tokens=120).strip()
        return display(candidate if faithful_translation(span, candidate) else span)

    @staticmethod
    def other_language(question: str, retrieved: Sequence[Passage], language: Language) -> Language | None:
        """The language to translate the question into: that of one of the first :data:`TRANSLATION_DEPTH`
        passages retrieved when it is written in the other language than the question's, else None.

        Measured on the broad set (dense search, 2026-12-07): among the first 4 passages, true for 48 of its 50
        cross-lingual questions (the first passage alone: 41), for 7 of its 242 same-language ones and none of the
        60 unanswerable. Among the first 6 (``ASSISTANT_TOP_K=6``), for no more cross-lingual questions but 9
        same-language ones and 1 unanswerable: the fifth or sixth passage is from another article, and a
        same-language question translated for it is asked in a language its own article is not written in."""
        asked = detect_language(question, default=language)
        languages = {detect_language(p.text, default=asked) for p in retrieved[:TRANSLATION_DEPTH]}
        return next((found for found in languages if found != asked), None)

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up made standalone from the last turns; the question itself when there is no history, or when
        the rewrite is not the question (the model answered it, or changed a figure: :func:`faithful_question`).

        The turns are given as a transcript inside one message: given them as chat turns, the bundled model went on
        with the conversation and replied with an answer ("L'article ne le dit pas.") instead of a question.
        """
        if not history:
            return question
        conversation = "\n".join(
            f"User: {turn.question}\nAssistant: {turn.answer}" for turn in history[-HISTORY_TURNS:]
        )
        user = load_prompt("rewrite_user").replace("{conversation}", conversation).replace("{question}", question)
        messages = [
            Message("system", load_prompt("rewrite")),
            Message("user", load_prompt("example_rewrite").strip()),
            Message("assistant", load_prompt("example_rewrite_reply").strip()),
            Message("user", user.strip()),
        ]
        rewritten = self.chat_model.complete(messages, max_tokens=120).strip()
        standalone = rewritten.splitlines()[0].strip() if rewritten else ""
        faithful = faithful_question(question, standalone, may_add_figures=True)
        return standalone if faithful and keeps_the_question(question, standalone) else question

    def context_passages(self, retrieved: Sequence[Passage], *, whole_article: bool = True) -> list[Passage]:
        """Every stored passage when the store is small (a cacheable prompt); else, with ``whole_article``, the
        whole article of the best passage when it fits, followed by the other articles' retrieved passages; else
        the retrieved passages.

        A question is most often about the article its best passage comes from, and a short article read whole
        gives the model the sentences around the one that answers. Measured on the broad set's 112 questions
        on its 12 short articles (or led there by retrieval): French questions 58/91 right against 53/91 with the
        retrieved passages alone, 8 wrong shown against 9; but English questions, asked in translation, 5/17
        against 9/17, 5 wrong against 3: the model reads a translated question less well, and a longer context
        gives it more wrong words to copy. So an article is read whole only for a question in its language.
        """
        everything = self.retriever.passages()
        if sum(len(p.text) for p in everything) <= CONTEXT_CHARS:
            return everything
        in_order = sorted(retrieved, key=lambda p: (p.doc_id, p.position))
        if not retrieved or not whole_article:
            return in_order
        best = retrieved[0].doc_id
        article = [p for p in everything if p.doc_id == best]
        if sum(len(p.text) for p in article) > CONTEXT_CHARS:
            return in_order
        return article + [p for p in in_order if p.doc_id != best]

    def messages(self, question: str, language: Language, evidence: Sequence[Evidence]) -> list[Message]:
        """System prompt with the numbered articles first (the stable, cached part), the question last."""
        system = load_prompt("answer_system").replace("{context}", format_context(evidence))
        user = load_prompt("answer_user", language).replace("{question}", question)
        return [Message("system", system), Message("user", user)]

    def claims_reply(
        self, question: str, language: Language, evidence: Sequence[Evidence], lead: str
    ) -> Generator[Token, None, str]:
        """Ask for the claims under the schema; yield the answers as they stream (the first piece after ``lead``),
        return the whole reply."""
        schema = claims_schema([e.key for e in evidence])
        buffer, shown = "", ""
        messages = self.messages(question, language, evidence)
        for chunk in self.chat_model.stream(messages, max_tokens=MAX_REPLY_TOKENS, schema=schema):
            buffer += chunk
            text = streamed_text(buffer)
            if len(text) > len(shown) and text.startswith(shown):
                yield Token((lead if not shown else "") + text[len(shown) :])
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

    def stream(self, question: str, history: Sequence[Turn] = (), *, every: bool = False) -> Iterator[Event]:
        """Steps, then answer tokens as they come, then the verified :class:`Answer` last.

        ``every`` (for evaluations) runs every check on every claim and translates each claim that would need it,
        so that the answer's :attr:`~Answer.drafts` tell what any subset of the checks would have shown.
        """
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
        if asks_for_a_summary(standalone):
            answer = yield from self._summary(question, standalone, language)
        else:
            answer = yield from self._answer_parts(question, standalone, language, every)
        if cut:
            cut_notice = CATALOGUE[language]["question_cut"].format(limit=self.settings.max_question_chars)
            answer.notice = " ".join(filter(None, (cut_notice, answer.notice)))
        answer.seconds = time.perf_counter() - started
        yield answer

    def _answer_parts(
        self, question: str, standalone: str, language: Language, every: bool
    ) -> Generator[Event, None, Answer]:
        """The answer to a question about the articles' facts: each of its parts (:mod:`assistant.answer.parts`)
        answered in turn, their answers joined."""
        parts = separate_questions(standalone)
        answers: list[Answer] = []
        for part in parts:
            lead = CLAIM_SEPARATOR if any(earlier.drafts for earlier in answers) else ""  # text streamed before
            answers.append((yield from self._answer_part(question, part, language, every, lead)))
        return answers[0] if len(parts) == 1 else joined_answer(question, standalone, language, parts, answers)

    def _summary(self, question: str, standalone: str, language: Language) -> Generator[Event, None, Answer]:
        """What an article is about (:mod:`assistant.answer.summary`): a few of its sentences, each a claim citing
        itself, streamed as they are chosen. The article is the one the request names ("the article about
        Moscow": that of the best passage found for those words), else the one stored last, which a chat user has
        just added, and a notice says so when the store holds others.

        An article in the other language is quoted as written, with a notice: a whole sentence translated by the
        bundled model drifts from its quote, as the claims it once wrote did (« proposé de remettre ces prisonniers
        à l'Ukraine » came back as "proposed releasing these prisoners to Ukraine"), and no check reads a
        translation's meaning."""
        subject = summary_subject(standalone)
        found = self.retriever.search(subject) if subject else []
        doc_id = found[0].doc_id if found else self.store.newest()
        if doc_id is None:
            raise UserError(f"no articles in store {self.store.location}; run `assistant ingest PATH` first")
        article = self.store.passages([doc_id])
        chosen = summary_sentences(article, passage_vectors(self.store, article), self.store.embedder.embed_documents)
        claims = [Claim(item.text.strip(), (n,), item.text) for n, item in enumerate(chosen, 1)]
        for claim in claims:
            yield Token((" " if claim is not claims[0] else "") + claim.text)
        notices = []
        if not found and len(self.store.passage_counts()) > 1:  # which article: the one added last, say so
            notices.append(CATALOGUE[language]["summary_newest"].format(title=article[0].title))
        if any(needs_translation(item.text, item.text, language) for item in chosen):
            notices.append(CATALOGUE[language]["summary_untranslated"])
        return Answer(
            question=question,
            standalone_question=standalone,
            language=language,
            answer=render(claims) if claims else CATALOGUE[language]["refusal"],
            abstained=not claims,
            asked=standalone,
            citations=[citation(n, item) for n, item in enumerate(chosen, 1)],
            claims=claims,
            retrieved=article[:1],
            read=article,
            notice=" ".join(notices) or None,
            # no check reads a summary's sentences: an evaluation's ablation shows them under every set of checks
            drafts=[
                DraftRecord(claim.text, claim.span, item.passage.doc_id, item.start, item.end, item.text, {})
                for claim, item in zip(claims, chosen, strict=True)
            ],
        )

    def _answer_part(
        self, question: str, standalone: str, language: Language, every: bool, lead: str
    ) -> Generator[Event, None, Answer]:
        """Retrieve, translate when the passages are in the other language, ask, check: the answer to one standalone
        question (the whole question, or one of its parts), its steps and tokens yielded as they come, the first
        token after ``lead`` (the separator from a part already streamed)."""
        retrieved = self.retriever.search(standalone)
        asked = standalone
        other = self.other_language(standalone, retrieved, language)
        if other is not None and (translated := self.translate(standalone, other)) != standalone:
            # The model is asked, and its copy checked, in the articles' language (see answer.translation); the
            # translation is searched too: the answer was in the top 4 for 37 of the broad set's 50 cross-lingual
            # questions searched as asked, 41 with both phrasings.
            asked = translated
            yield Step("translate", asked)
            retrieved = self.retriever.search(standalone, asked)
        # Paragraphs numbered from 1, as the sources show them.
        yield Step("retrieve", "\n".join(f"{p.title} §{p.paragraph + 1}: {p.text}" for p in retrieved))
        evidence = number_evidence(self.context_passages(retrieved, whole_article=other is None))
        if not evidence:
            raise UserError(f"no articles in store {self.store.location}; run `assistant ingest PATH` first")
        reply = yield from self.claims_reply(asked, language, evidence, lead)
        drafted = parse_claims(reply)
        return self._answer_from_claims(question, standalone, asked, language, drafted, evidence, retrieved, every)

    def answer(self, question: str, history: Sequence[Turn] = (), *, every: bool = False) -> Answer:
        """The verified answer, without streaming (``every``: see :meth:`stream`)."""
        final = None
        for event in self.stream(question, history, every=every):
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
        asked: str,
        language: Language,
        drafted: Sequence[Drafted],
        evidence: Sequence[Evidence],
        retrieved: Sequence[Passage],
        every: bool = False,
    ) -> Answer:
        """The answer made of the replied claims that pass every check, or the refusal when none does.

        ``asked`` is the question as the model was asked it (in the articles' language), which the checks read.
        """
        checked = verify(
            asked,
            drafted,
            evidence,
            cache(lambda doc_id: self.store.article(doc_id).text),
            self.judge,
            ranked=[p.id for p in retrieved],
            every=every,
        )
        answer = Answer(
            question=question,
            standalone_question=standalone,
            asked=asked,
            language=language,
            answer="",
            abstained=not checked.claims,
            retrieved=list(retrieved),
            read=list({e.passage.id: e.passage for e in evidence}.values()),
            dropped=checked.dropped,
        )
        if checked.claims:
            answer.citations = checked.citations
            answer.claims = self.translate_claims(checked.claims, checked.citations, language)
            answer.answer = render(answer.claims)
        else:
            answer.answer = CATALOGUE[language]["refusal"]
        shown = {claim.span: claim.text for claim in answer.claims}
        answer.drafts = [self._record(item, shown, language, every) for item in checked.checked]
        return answer

    def _record(self, item: CheckedDraft, shown: dict[str, str], language: Language, every: bool) -> DraftRecord:
        """What an evaluation keeps of a draft: the text it shows, or would show (translated when ``every``)."""
        draft = item.draft
        sentence = draft.cited[0] if draft.cited else None
        text = shown.get(draft.answer)
        if text is None:
            quoted = sentence is not None and item.verdicts.get("quotes_its_evidence") is None
            translate = every and quoted and sentence is not None
            text = self.shown_text(draft.answer, sentence.text, language) if translate else display(draft.answer)
        return DraftRecord(
            text=text,
            span=draft.answer,
            doc_id=sentence.passage.doc_id if sentence else "",
            start=sentence.start if sentence else 0,
            end=sentence.end if sentence else 0,
            quote=sentence.text if sentence else "",
            verdicts=dict(item.verdicts),
        )


def keeps_the_question(follow_up: str, rewritten: str) -> bool:
    """Whether a rewrite keeps every word of the follow-up except those that refer back (:data:`REFERRING_WORDS`),
    each at least by its first five letters ("offer" in "offered"). Asked « Et quel est son rôle ? », the bundled
    model rewrote it as the previous question, whose answer then stood for the role."""
    kept = {word[:5] for word in tokenize(rewritten)}
    return all(word[:5] in kept for word in tokenize(follow_up) if word not in REFERRING_WORDS)
