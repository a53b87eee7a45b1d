"""What the chat shows, as Markdown strings: answers with clickable markers, source panels, lookups, notices.

Kept apart from the Chainlit callbacks so it can be tested without a browser. One rule runs through it: article
text, questions and model output are untrusted, so every piece of them is escaped before it reaches the Markdown
renderer (:func:`escape_markdown`); only the markup written here (bold, quotes, markers) is live. Chainlit's HTML
rendering stays off as well (``unsafe_allow_html = false``), so even a missed escape cannot run a script; escaping
is what keeps a Markdown image in an article from loading a remote URL, and a fake ``[1]`` in an article from
becoming a source link.

A side element becomes a link only where its name appears verbatim in the message text, so citation elements
are named exactly like the markers of the answer (``[1]``), and escaped text can never contain such a marker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.answer.answers import Answer, Citation
from assistant.answer.render import ends_a_sentence, separator_after
from assistant.errors import USER_ERRORS
from assistant.quotes.lookup import LookupResult
from assistant.text.catalogue import CATALOGUE
from assistant.text.language import Language
from ingest.articles import Article, Passage
from ingest.fetching import is_url

_ASCII_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_LEADING_SPACE = re.compile(r"(?<=\n)[ \t]+")

#: The lookup command's id per UI language (shown on the composer's button), and every id accepted.
LOOKUP_COMMAND: dict[Language, str] = {language: texts["lookup_id"] for language, texts in CATALOGUE.items()}
LOOKUP_IDS = frozenset(LOOKUP_COMMAND.values())
#: How many words of its sentence the quote-check starter shows.
_PREVIEW_WORDS = 5
#: The quotation marks a quote may open and close with, as (opening, closing).
_QUOTE_MARKS = (("«", "»"), ("“", "”"), ('"', '"'))


@dataclass(frozen=True)
class SidePanel:
    """A side element: its name (as it appears in the message text) and its Markdown content."""

    name: str
    content: str


def ui_language(browser_language: str | None) -> Language:
    """The UI's language from the browser's (``fr-FR`` -> fr); English for anything else."""
    return "fr" if (browser_language or "").lower().startswith("fr") else "en"


def escape_markdown(text: str) -> str:
    """Text shown as typed: every ASCII punctuation character backslash-escaped, indentation after a line break
    dropped (four spaces would start a code block).

    CommonMark allows escaping any ASCII punctuation, so no Markdown construct (link, image, emphasis, HTML,
    heading, list, code) can start inside escaped text. It works character by character and keeps leading
    spaces, so streamed tokens (" forces") and the pieces around a highlight can be escaped one at a time.
    """
    return _ASCII_PUNCTUATION.sub(r"\\\1", _LEADING_SPACE.sub("", text))


def marker(n: int) -> str:
    """The citation marker of the answer text and the name of its side element."""
    return f"[{n}]"


def answer_markdown(answer: Answer) -> str:
    """The verified answer: escaped claims, each followed by its markers, ended by a full stop; any notice; then the
    list of its sources. A refusal names the nearest passage as [1].

    Each answer numbers its sources from [1]: Chainlit resolves a marker among its own message's elements only.
    """
    labels = CATALOGUE[answer.language]
    colon = " :" if answer.language == "fr" else ":"
    notice = f"\n\n*{labels['notice']}{colon} {escape_markdown(answer.notice)}*" if answer.notice else ""
    if not answer.claims:
        nearest = f"\n\n{labels['nearest']}{colon} {marker(1)}" if answer.abstained and answer.retrieved else ""
        return escape_markdown(answer.answer.strip()) + nearest + notice
    separator = " ; " if answer.language == "fr" else "; "
    shown = [
        f"{escape_markdown(claim.text.strip())} {' '.join(marker(n) for n in claim.citations)}".strip()
        for claim in answer.claims
    ]
    body = shown[0] + "".join(
        separator_after(claim.text, separator) + text for claim, text in zip(answer.claims, shown[1:], strict=False)
    )
    full_stop = "" if ends_a_sentence(answer.claims[-1].text) else "."
    return body + full_stop + notice + "\n\n" + sources_markdown(answer.citations, answer.language)


def sources_markdown(citations: Sequence[Citation], language: Language) -> str:
    """The compact list under an answer: each marker with its quote, the article's title and where the quote is,
    so the answer reads (and copies) with its evidence without opening a panel."""
    lines = [f"**{CATALOGUE[language]['sources']}**", ""]
    for citation in citations:
        quote = _quoted(shown_quote(citation.quote), language)
        where = _where("", citation.section if citation.section != citation.title else "", citation.paragraph,
                       language, citation.page)
        title = f"*{escape_markdown(citation.title)}*" if citation.title else ""
        place = " · ".join(part for part in (title, where) if part)
        lines.append(f"- {marker(citation.n)} {quote} — {place}")
    return "\n".join(lines)


def shown_quote(quote: str) -> str:
    """The quote without a quotation mark left open or closed at its ends: a sentence cut out of a longer quotation
    keeps the article's « at its start (or » at its end) without its pair, which reads as a stray mark."""
    text = quote.strip()
    for opening, closing in _QUOTE_MARKS:
        if opening == closing:  # straight quotes: an odd count means one is unpaired; the first end holding one
            if text.count(opening) % 2 and text.startswith(opening):
                text = text[1:]
            elif text.count(opening) % 2 and text.endswith(opening):
                text = text[:-1]
            continue
        if text.startswith(opening) and text.count(opening) > text.count(closing):
            text = text[1:]
        if text.endswith(closing) and text.count(closing) > text.count(opening):
            text = text[:-1]
    return text.strip()


def answer_panels(answer: Answer) -> list[SidePanel]:
    """One side panel per citation (numbered like :func:`answer_markdown`), or the nearest passage if abstained."""
    if answer.claims:
        return [SidePanel(marker(c.n), citation_markdown(c, answer.language)) for c in answer.citations]
    if answer.abstained and answer.retrieved:
        return [SidePanel(marker(1), passage_markdown(answer.retrieved[0], answer.language, 1))]
    return []


def citation_markdown(citation: Citation, language: Language) -> str:
    """The cited passage with the quote in bold (without a stray quotation mark at its ends, see
    :func:`shown_quote`), under the article title, its section and paragraph number."""
    shown = shown_quote(citation.quote)
    start = citation.start - citation.passage_start + citation.quote.index(shown)
    end = start + len(shown)
    return _panel(
        citation.title,
        citation.section,
        citation.paragraph,
        citation.passage_text,
        (start, end),
        language,
        citation.n,
        page=citation.page,
    )


def passage_markdown(passage: Passage, language: Language, number: int | None = None) -> str:
    """A retrieved passage without highlight (the nearest passage when the article does not say)."""
    return _panel(
        passage.title, passage.section, passage.paragraph, passage.text, None, language, number, page=passage.page
    )


def lookup_markdown(result: LookupResult, language: Language) -> tuple[str, list[SidePanel]]:
    """The lookup reply: what kind of match, where, the original text, who speaks; and its source panel."""
    labels = CATALOGUE[language]
    colon = " :" if language == "fr" else ":"
    if not result.found:
        return f"**{labels['not_found']}**", []
    score = f"{result.score:.2f}".replace(".", "," if language == "fr" else ".")
    where = _where(result.title, result.section, result.paragraph, language)
    lines = [
        f"**{labels[result.kind].format(score=score)}** {marker(1)}",
        "",
        where,
        "",
        f"**{labels['original']}**{colon}",
        "",
        f"> {escape_markdown(result.quote)}",
        "",
    ]
    if result.attribution:
        speaker, cue = result.attribution.speaker, result.attribution.cue
        said = _reporting_words(speaker, cue)
        lines.append(f"**{labels['speaker']}**{colon} {escape_markdown(speaker)}{said}")
    else:
        lines.append(f"*{labels['unnamed_speaker' if result.quoted else 'no_speaker']}*")
    if result.notice:
        lines += ["", f"*{labels['notice']}{colon} {escape_markdown(result.notice)}*"]
    start = result.start - result.paragraph_start
    panel = _panel(
        result.title,
        result.section,
        result.paragraph,
        result.paragraph_text,
        (start, start + len(result.quote)),
        language,
        1,
    )
    return "\n".join(lines), [SidePanel(marker(1), panel)]


def _reporting_words(speaker: str, cue: str) -> str:
    """The article's reporting words, shown after the speaker when they say more than a verb: "écrit-il sur X",
    "dit un communiqué signé …" (the speaker's name, already shown, cut out); nothing for "a déclaré X"."""
    if speaker not in cue:
        return f" (« {escape_markdown(cue)} »)"
    head = cue[: cue.index(speaker)].strip()
    return f" (« {escape_markdown(head)} … »)" if len(head.split()) > 2 else ""


def steps_label(name: str, language: Language) -> str:
    """The visible name of a chain stage shown as a collapsed step."""
    return CATALOGUE[language].get(name, name)


def step_output(output: str) -> str:
    """A stage's output, escaped (it holds the rewritten question or article passages)."""
    return escape_markdown(output)


def error_markdown(reason: str, language: Language) -> str:
    """A failure as one clear chat message (the reason is escaped: it may quote the question)."""
    return "⚠️ " + CATALOGUE[language]["error"].format(reason=escape_markdown(reason))


def failure_reason(error: BaseException, language: Language) -> str:
    """Why an answer failed, in the user's words: a reply cut off at the model's length limit and the LLM being
    unreachable or slow are told apart from a bug; any other user error (:data:`~assistant.errors.USER_ERRORS`)
    already says what to do."""
    labels = CATALOGUE[language]
    detail = type(error).__name__
    names = _class_names(error)
    if names & {"LLMCutOff", "LengthFinishReasonError"}:
        return labels["cut_off"]
    if _is_llm_failure(names):
        return labels["llm_down"].format(detail=detail)
    if isinstance(error, USER_ERRORS):
        return str(error)
    return labels["internal"].format(detail=detail)


def _class_names(error: BaseException) -> set[str]:
    """The names of the error's classes: matched by name so this module imports neither openai nor httpx."""
    return {cls.__name__ for cls in type(error).__mro__}


def _is_llm_failure(names: set[str]) -> bool:
    transport = {"APIConnectionError", "APITimeoutError", "ConnectError", "ConnectTimeout", "ReadTimeout",
                 "TimeoutException", "RemoteProtocolError", "InternalServerError", "ServiceUnavailableError"}
    return bool(names & transport)


def _panel(
    title: str,
    section: str,
    paragraph: int,
    text: str,
    highlight: tuple[int, int] | None,
    language: Language,
    number: int | None = None,
    page: int | None = None,
) -> str:
    """Marker and title, where the passage is (its PDF page too), then the passage as a block quote with the quoted
    span in bold."""
    header = " · ".join(
        part for part in (f"**{escape_markdown(marker(number))}**" if number else "",
                          f"*{escape_markdown(title)}*" if title else "") if part
    )
    where = _where("", section if section != title else "", paragraph, language, page)
    if highlight is None:
        body = escape_markdown(text)
    else:
        start, end = highlight
        before, quote, after = text[:start], text[start:end], text[end:]
        body = f"{escape_markdown(before)}**{escape_markdown(quote)}**{escape_markdown(after)}"
    quoted = "\n".join(f"> {line}" for line in body.split("\n"))
    return "\n\n".join(part for part in (header, where, quoted) if part)


def _quoted(text: str, language: Language) -> str:
    """Escaped text between the language's quotation marks, unless the article's own marks already enclose it."""
    if any(text.startswith(opening) and text.endswith(closing) for opening, closing in _QUOTE_MARKS):
        return escape_markdown(text)
    opening, closing = ("« ", " »") if language == "fr" else ("“", "”")
    return f"{opening}{escape_markdown(text)}{closing}"


def _where(title: str, section: str, paragraph: int, language: Language, page: int | None = None) -> str:
    """Where a passage is, as a reader finds it: title, page, section, paragraph (1-based). Character offsets mean
    nothing to a reader; they stay in the JSON and the command line."""
    labels = CATALOGUE[language]
    parts = []
    if title:
        parts.append(f"« {escape_markdown(title)} »")
    if page is not None:
        parts.append(f"{labels['page']} {page}")
    if section and section != title:
        parts.append(f"{labels['section']}{' :' if language == 'fr' else ':'} {escape_markdown(section)}")
    if paragraph >= 0:
        parts.append(f"{labels['paragraph']} {paragraph + 1}")
    return " · ".join(parts)


def welcome_markdown(articles: Sequence[Article], language: Language, limit: int = 12) -> str:
    """The welcome screen's list of loaded articles (title, source, date added) and how to add one.

    The most recently added come first; past ``limit`` the rest are counted, not listed (`assistant list` has
    them all), so an archive of hundreds does not push the starters off the screen.
    """
    labels = CATALOGUE[language]
    newest = sorted(articles, key=lambda a: a.added, reverse=True)
    lines = [f"**{labels['welcome_articles']}**" if articles else labels["welcome_none"], ""]
    for article in newest[:limit]:
        added = labels["welcome_added"].format(date=article.added[:10]) if article.added else ""
        source = article.source if is_url(article.source) else Path(article.source).name or article.source
        details = " · ".join(part for part in (escape_markdown(source), added) if part)
        lines.append(f"- *{escape_markdown(article.title)}* — {details}")
    if len(newest) > limit:
        lines.append(f"- … (+{len(newest) - limit})")
    lines += ["", labels["welcome_how"]]
    return "\n".join(lines)


def starters(language: Language, quote: str | None) -> list[tuple[str, str, str | None]]:
    """(label, message, command) of the welcome screen's starters; the last checks a quote from the article."""
    texts = CATALOGUE[language]
    items: list[tuple[str, str, str | None]] = [
        (texts["starter_about"], texts["starter_about"], None),
        (texts["starter_events"], texts["starter_events"], None),
        (texts["starter_quoted_label"], texts["starter_quoted"], None),
    ]
    if quote:
        # the label shows the start of the sentence it will send, so the reader knows what the click asks
        words = quote.split()
        preview = " ".join(words[:_PREVIEW_WORDS]) + ("…" if len(words) > _PREVIEW_WORDS else "")
        items.append((texts["starter_quote_check"].format(quote=preview), quote, LOOKUP_COMMAND[language]))
    return items


def first_quote(texts: Sequence[str], max_chars: int = 160) -> str | None:
    """The first sentence quoted between « » (or “ ”) in the articles, for the quote-check starter."""
    for text in texts:
        for match in re.finditer(r"[«“]\s*([^«»“”]{20,}?[.!?])", text):
            sentence = match.group(1).strip()
            if len(sentence) <= max_chars:
                return sentence
    return None
