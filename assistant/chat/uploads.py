"""Articles added from the chat: files dropped or attached, a URL sent alone, an article's text pasted whole.

They take the command line's path (:mod:`ingest.loading`, :func:`ingest.pipeline.ingest_articles`): the same
formats, limits and all-or-nothing write, so an article added here answers exactly like one added with
``assistant ingest``. This module decides what a message brings and says what happened in the reader's language;
:mod:`assistant.chat.app` runs it.

Scope: an added article goes to the one shared store, the one every chat answers from. With sign-in off (the
default: one person on their own machine) that is what the user expects. With sign-in on, articles added by one
user would appear in every other user's answers, so adding in the chat is off unless the administrator shares
uploads on purpose (``ASSISTANT_SHARED_UPLOADS=true``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.chat.view import escape_markdown
from assistant.settings import Settings
from assistant.text.catalogue import CATALOGUE
from assistant.text.language import Language
from ingest.articles import Article
from ingest.errors import CorpusError
from ingest.fetching import is_url
from ingest.loading import article_from_bytes, check_unique_ids, load_article
from ingest.pipeline import IngestReport, load_sources

#: Files taken from one message; more is most likely a mistaken selection, and each one is embedded in turn.
MAX_FILES = 5
#: A message this long, in several paragraphs and not ending with a question, is an article pasted to be read.
PASTED_MIN_CHARS = 1500
_URL_ALONE = re.compile(r"^\s*<?(https?://\S+?)>?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Upload:
    """A file the user sent: its own name and where the chat saved it."""

    name: str
    path: Path


def uploads_in(elements: Sequence[object]) -> list[Upload]:
    """The files of a message (Chainlit gives each a ``name`` and a saved ``path``)."""
    found = []
    for element in elements:
        path, name = getattr(element, "path", None), getattr(element, "name", None)
        if path and name:
            found.append(Upload(name=Path(str(name)).name, path=Path(str(path))))
    return found


def url_alone(text: str) -> str | None:
    """The URL, when the message is nothing but one (possibly in angle brackets)."""
    match = _URL_ALONE.match(text)
    return match.group(1) if match and is_url(match.group(1)) else None


def is_pasted_article(text: str) -> bool:
    """A long, multi-paragraph message that does not end with a question: an article to read, not a question."""
    stripped = text.strip()
    paragraphs = [part for part in re.split(r"\n\s*\n|\n", stripped) if part.strip()]
    return len(stripped) >= PASTED_MIN_CHARS and len(paragraphs) >= 3 and not stripped.endswith("?")


def allowed(settings: Settings) -> bool:
    """Whether this chat may add articles (see the module docstring)."""
    signed_in = settings.auth_users is not None or settings.auth_header is not None
    return settings.shared_uploads or not signed_in


def load(
    uploads: Sequence[Upload], urls: Sequence[str], pasted: str | None, settings: Settings, language: Language
) -> list[Article]:
    """Read every file, fetch every URL and take the pasted text, before anything is written (all or nothing).

    Raises :class:`FailedUpload` naming the first source that cannot be an article.
    """
    articles: list[Article] = []
    for upload in uploads:
        try:
            articles.append(load_article(upload.path, max_bytes=settings.max_article_bytes, name=upload.name))
        except CorpusError as error:
            raise FailedUpload(upload.name, error) from None
    for url in urls:
        try:
            articles.extend(load_sources([url], settings))
        except CorpusError as error:
            raise FailedUpload(url, error) from None
    if pasted is not None:
        articles.append(pasted_article(pasted, CATALOGUE[language]["pasted_source"], settings))
    try:
        check_unique_ids(articles)
    except CorpusError as error:
        raise FailedUpload(", ".join(u.name for u in uploads), error) from None
    return articles


def pasted_article(text: str, source: str, settings: Settings) -> Article:
    """An article from text pasted in the message box, named by its content (pasting it again changes nothing)."""
    data = text.encode("utf-8")
    if len(data) > settings.max_article_bytes:
        raise FailedUpload(source, CorpusError("too big", reason="too_big"))
    digest = hashlib.sha256(data).hexdigest()[:8]
    return article_from_bytes(data, "text", source=source, doc_id=f"pasted-{digest}")


class FailedUpload(Exception):
    """A source the chat could not add: its name and the ingest error saying why."""

    def __init__(self, name: str, error: CorpusError) -> None:
        super().__init__(f"{name}: {error}")
        self.name = name
        self.error = error


def source_names(uploads: Sequence[Upload], urls: Sequence[str], pasted: str | None, language: Language) -> str:
    """The sources of one message as the reader named them, for the progress lines."""
    names = [u.name for u in uploads] + list(urls) + ([CATALOGUE[language]["pasted_source"]] if pasted else [])
    return escape_markdown(", ".join(names))


def failure_text(failure: FailedUpload, language: Language) -> str:
    """Why a source was not added, in the reader's language; the English detail only for an unforeseen reason."""
    labels = CATALOGUE[language]
    key = f"why_{failure.error.reason}"
    unforeseen = labels["why_other"].format(detail=escape_markdown(str(failure.error)))
    reason = labels.get(key, unforeseen)
    return labels["upload_failed"].format(name=escape_markdown(failure.name), reason=reason)


def report_text(report: IngestReport, language: Language) -> str:
    """One line per added article: how many passages, under which title, and that it can be asked about."""
    labels = CATALOGUE[language]
    lines = []
    for article, outcome in report.results:
        if outcome.status == "unchanged":
            lines.append(labels["upload_unchanged"].format(title=escape_markdown(article.title)))
        else:
            key = "upload_new" if outcome.status == "new" else "upload_replaced"
            count = f"{outcome.added} passage{'s' if outcome.added != 1 else ''}"  # the same word in French and English
            lines.append(labels[key].format(title=escape_markdown(article.title), passages=count))
    return "\n\n".join(lines)
