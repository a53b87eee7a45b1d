"""Read article files (.txt, .md, .html) into normalised :class:`~ingest.articles.Article` records.

Everything downstream (passage offsets, quote verification, highlighting) indexes ``Article.text``, so this module
decides once what that text is:

* plain text is kept as written, only normalised (NFC, ``\\n`` line ends, no trailing spaces, at most one blank
  line in a row) so that the same article saved by two editors gets the same text and the same ``version``;
* Markdown and HTML are reduced to the text a reader sees (no link targets, no markup, no scripts), one block per
  paragraph or heading, blocks separated by a blank line. Offsets are relative to that visible text, never to the
  markup, so a quote copied from what the user reads can be found again.

Headings become :class:`~ingest.articles.Section` records. Markdown and HTML say which lines are headings; plain
text does not, so a short standalone line that does not end like a sentence is taken for one (see
:func:`_looks_like_heading`). Every problem with an input raises :class:`~ingest.errors.CorpusError` with a
one-line message saying what to do, before anything is written to the store.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import urlsplit

from ingest.articles import Article, Section
from ingest.errors import CorpusError
from ingest.fetching import PDF_MAX_BYTES
from ingest.spans import paragraph_spans
from ingest.webpage import is_site_page, main_text_html, page_metadata

#: File suffix (lower case) -> how the file is read.
SUPPORTED_SUFFIXES: dict[str, str] = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}
#: A web page whose main text is shorter than this is not an article (a login form, a paywall, a list of links).
MIN_PAGE_CHARS = 200

#: A plain-text line shorter than this, standing alone and not ending like a sentence, is a heading.
HEADING_MAX_CHARS = 80
#: The first line of a plain-text file is its title if it is at most this long (titles may end with a period).
TITLE_MAX_CHARS = 200

_SENTENCE_PUNCTUATION = ".!?:;,…"
_CLOSING_QUOTES = "»\"”’)]' \u00a0\u202f"
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•–—]\s|\d{1,3}[.)]\s)")
_BLANK_RUN = re.compile(r"\n{3,}")
_SPACE_RUN = re.compile(r" {2,}")
_HTML_SPACE = re.compile(r"[ \t\n\r\f\v]+")  # HTML collapses ASCII whitespace only, not no-break spaces
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n(?:---|\.\.\.)\n", re.DOTALL)

# HTML elements whose content a reader never sees.
_INVISIBLE_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "meta", "link", "svg", "math", "iframe",
     "object", "embed", "canvas", "audio", "video", "select", "datalist", "button"}
)
# HTML elements that start a new block (paragraph) of text.
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div",
     "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr", "html", "li",
     "legend", "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
     "th", "thead", "tr", "ul"}
)
_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


# --------------------------------------------------------------------------------------------------------------
# Public API


def collect_files(paths: Sequence[Path]) -> list[Path]:
    """Expand the user's arguments into article files: files as given, directories walked recursively.

    Directory contents are sorted so that an ingest is reproducible; hidden files and directories (``.git``,
    editor backups) are skipped, as are files with other suffixes, but a file named explicitly with an
    unsupported suffix is an error, because the user clearly meant it to be ingested.
    """
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise CorpusError(f"{path}: no such file or directory; check the path")
        if path.is_dir():
            found = sorted(_walk_supported(path))
            if not found:
                kinds = ", ".join(SUPPORTED_SUFFIXES)
                raise CorpusError(f"{path}: no article files ({kinds}) in this directory; point at the articles")
            files.extend(found)
        elif path.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(path)
        else:
            kinds = ", ".join(SUPPORTED_SUFFIXES)
            raise CorpusError(
                f"{path}: unsupported file type {path.suffix or '(none)'!r}; give {kinds} files", reason="unsupported"
            )
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


def load_articles(paths: Sequence[Path], *, max_bytes: int | None = None) -> list[Article]:
    """Load every article named by ``paths`` (files or directories), failing on the first bad one.

    All inputs are read before the caller writes anything, so a bad file in a batch leaves the store untouched.
    Two files mapping to the same ``doc_id`` (``a/news.txt`` and ``b/news.md``) would overwrite each other in
    the store, so that is an error too. ``max_bytes`` caps the size of one file (see :func:`load_article`).
    """
    articles = [load_article(file, max_bytes=max_bytes) for file in collect_files(paths)]
    check_unique_ids(articles)
    return articles


def check_unique_ids(articles: Sequence[Article]) -> None:
    """Refuse a batch in which two articles have one document id: the second would replace the first."""
    seen: dict[str, str] = {}
    for article in articles:
        if article.doc_id in seen:
            raise CorpusError(
                f"{article.source}: same document id {article.doc_id!r} as {seen[article.doc_id]}; rename one of them",
                reason="duplicate_name",
            )
        seen[article.doc_id] = article.source


def load_article(path: Path, *, max_bytes: int | None = None, name: str | None = None) -> Article:
    """Read one .txt, .md, .html or .pdf file into an :class:`Article` with normalised text, title and sections.

    A file over ``max_bytes`` is refused before it is read: a log or a dump saved as .txt would otherwise take
    hours to embed (and its whole text is held in memory several times while it is normalised and split).
    ``name`` is the file's own name when ``path`` is a copy of it (a file uploaded in the chat): it gives the
    document id, the source and the type, and messages name it instead of the copy.
    """
    label = name or str(path)
    named = Path(name) if name else path
    kind = SUPPORTED_SUFFIXES.get(named.suffix.lower())
    if kind is None:
        kinds = ", ".join(SUPPORTED_SUFFIXES)
        raise CorpusError(
            f"{label}: unsupported file type {named.suffix or '(none)'!r}; give {kinds} files", reason="unsupported"
        )
    file_limit = max(max_bytes, PDF_MAX_BYTES) if kind == "pdf" and max_bytes is not None else max_bytes
    data = _read_bytes(path, file_limit, label)
    return article_from_bytes(data, kind, source=label, doc_id=doc_id_for(named), max_text_bytes=max_bytes)


def load_url(url: str, *, max_bytes: int, timeout: float, allow_private: bool) -> Article:
    """Fetch an article's page (see :mod:`ingest.fetching`) and keep its main text, title, author and date."""
    from ingest.fetching import fetch

    page = fetch(url, max_bytes=max_bytes, timeout=timeout, allow_private=allow_private)
    return article_from_bytes(
        page.body, page.kind, source=page.url, doc_id=doc_id_for_url(page.url), url=page.url, max_text_bytes=max_bytes
    )


def article_from_bytes(
    data: bytes, kind: str, *, source: str, doc_id: str, url: str | None = None, max_text_bytes: int | None = None
) -> Article:
    """An article from the bytes of a file or a fetched page of the given loader ``kind``.

    A PDF file may be larger than an article's limit (its images weigh more than its text): the limit,
    ``max_text_bytes``, then holds for its text.

    A fetched HTML page (``url`` given) always goes through main-text extraction and must hold an article; a
    saved HTML file does when it is a whole site page (see :mod:`ingest.webpage`).
    """
    pages: tuple[int, ...] = ()
    author = published = ""
    if kind == "pdf":
        from ingest.pdf import read_pdf

        pdf = read_pdf(data, source)
        text, pages = pdf.text, pdf.pages
        if max_text_bytes is not None and len(text.encode("utf-8")) > max_text_bytes:
            raise CorpusError(
                f"{source}: its text is over the {max_text_bytes / 1e6:g} MB limit for one article; split it, "
                "or raise ASSISTANT_MAX_ARTICLE_BYTES",
                reason="too_big",
            )
        sections = _plain_text_sections(text)
        title = pdf.title or _first_line(text)
    else:
        raw = _decode(data, source)
        if kind == "text":
            text = normalise_text(raw)
            sections = _plain_text_sections(text)
            title = _first_line(text)
        elif kind == "markdown":
            title_hint, html = _markdown_to_html(raw)
            text, sections, html_title = _html_to_text(html, image_alt=True)
            title = title_hint or html_title or _first_line(text)
        elif url is not None or is_site_page(raw):
            text, sections, title, author, published = _web_page(raw, source, url)
        else:
            text, sections, html_title = _html_to_text(raw, image_alt=False)
            title = html_title or _first_line(text)
        if not text:
            raise CorpusError(
                f"{source}: no visible text in this file; check that it holds the article", reason="empty"
            )
    return Article(
        doc_id=doc_id,
        title=title,
        text=text,
        source=source,
        version=text_version(text),
        sections=tuple(sections),
        pages=pages,
        author=author,
        published=published,
    )


def normalise_text(text: str) -> str:
    """Canonical form of an article's text: what offsets index and what ``version`` hashes.

    NFC so that "é" typed two ways compares equal; ``\\n`` line ends; trailing whitespace dropped (invisible and
    editor-dependent); runs of blank lines collapsed to one blank line; leading/trailing blank lines removed.
    Everything else, typographic quotes and apostrophes included, is kept exactly, so quotes match the source.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.removeprefix("\ufeff")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n")


def text_version(text: str) -> str:
    """The version of an article: sha256 of its normalised text, so any visible edit makes a new version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_id_for_url(url: str) -> str:
    """A stable document id for a page: its last path segment (or host) and a hash of the whole URL, so the same
    URL ingested again replaces its article and two sites' ``index.html`` do not collide."""
    parts = urlsplit(url)
    segment = PurePosixPath(parts.path).stem or parts.hostname or "page"
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"{doc_id_for(Path(segment))}-{digest}"


def doc_id_for(path: Path) -> str:
    """A stable document id from the file name: ``Mali Wagner (2).txt`` -> ``mali-wagner-2``.

    Derived from the name, not the content, so that an edited file replaces its previous version instead of
    being added next to it; moving the file to another directory keeps the id.
    """
    ascii_stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")
    if not slug:
        slug = "doc-" + hashlib.sha256(path.stem.encode("utf-8")).hexdigest()[:12]
    return slug


# --------------------------------------------------------------------------------------------------------------
# Reading bytes


def _walk_supported(directory: Path) -> Iterable[Path]:
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                yield Path(root) / name


def _read_bytes(path: Path, max_bytes: int | None, label: str) -> bytes:
    """Read a file's bytes with one clear error per way it can fail (``label`` names it in messages).

    Only regular files are read (a pipe or ``/dev/zero`` saved under an article name would block or never end),
    and at most ``max_bytes`` + 1 bytes of them, so the limit also holds for a file that grows while it is read.
    """
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise CorpusError(f"{label}: not a regular file (a device, pipe or socket); give an article file")
        with path.open("rb") as handle:
            data = handle.read() if max_bytes is None else _read_at_most(handle, max_bytes + 1)
    except FileNotFoundError:
        raise CorpusError(f"{label}: no such file or directory; check the path") from None
    except IsADirectoryError:
        raise CorpusError(f"{label}: is a directory, not an article file; pass the directory itself") from None
    except OSError as error:
        raise CorpusError(f"{label}: cannot read ({error.strerror}); check its permissions") from None
    if max_bytes is not None and len(data) > max_bytes:
        size = max(path.stat().st_size, len(data))
        raise CorpusError(
            f"{label}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit for one article; split it, "
            "or raise ASSISTANT_MAX_ARTICLE_BYTES",
            reason="too_big",
        )
    if not data.strip():
        raise CorpusError(
            f"{label}: file is empty (or only whitespace); remove it or add the article text", reason="empty"
        )
    return data


def _read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes, a megabyte at a time: ``read(limit)`` allocates ``limit`` bytes up front, 50 MB for
    every PDF however small it is."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = handle.read(min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _decode(data: bytes, label: str) -> str:
    """The bytes of a text article as UTF-8, with the conversion command when they are something else."""
    quoted = shlex.quote(label)
    target = shlex.quote(str(Path(label).with_suffix(".utf8" + Path(label).suffix)))
    utf16 = _utf16_encoding(data)
    if utf16:
        raise CorpusError(
            f"{label}: is UTF-16, not UTF-8; convert it: iconv -f {utf16} -t utf-8 {quoted} > {target}",
            reason="encoding",
        )
    if _looks_binary(data):
        raise CorpusError(
            f"{label}: looks like a binary file, not a text article; give a .txt, .md or .html file", reason="binary"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(
            f"{label}: not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); convert it, "
            f"e.g. iconv -f latin1 -t utf-8 {quoted} > {target}",
            reason="encoding",
        ) from None
    if not text.strip():
        raise CorpusError(
            f"{label}: file is empty (or only whitespace); remove it or add the article text", reason="empty"
        )
    return text


def _utf16_encoding(data: bytes) -> str | None:
    """The iconv name of the UTF-16 flavour of ``data``, or None: a byte-order mark, or (saved without one) a NUL
    in every other byte, which would otherwise be reported as a binary file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = data[:8192]
    if len(head) < 16:
        return None
    even, odd = head[0::2].count(0) / len(head[0::2]), head[1::2].count(0) / len(head[1::2])
    if odd > 0.9 and even < 0.1:
        return "utf-16le"
    if even > 0.9 and odd < 0.1:
        return "utf-16be"
    return None


def _looks_binary(data: bytes) -> bool:
    """NUL bytes, or many control characters in the first 8 KiB: no text article looks like that."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if (byte < 0x20 and byte not in b"\t\n\r\f\v") or byte == 0x7F)
    return controls > len(head) * 0.05


# --------------------------------------------------------------------------------------------------------------
# Plain text


def _first_line(text: str) -> str:
    first = text.lstrip().split("\n", 1)[0].strip()
    return first if len(first) <= TITLE_MAX_CHARS else first[:TITLE_MAX_CHARS].rsplit(" ", 1)[0] + "…"


def _plain_text_sections(text: str) -> list[Section]:
    """Title line and sub-headings of a plain-text article.

    The first paragraph is the title when it is a single, reasonably short line followed by more text (the
    seed's title ends with a period, so punctuation is not checked there). Later paragraphs are headings when
    :func:`_looks_like_heading` says so.
    """
    spans = paragraph_spans(text)
    title: list[Section] = []
    headings: list[Section] = []
    for index, (start, end) in enumerate(spans[:-1]):  # a last line has no section to head
        line = text[start:end]
        if "\n" in line:
            continue
        if index == 0 and len(line) <= TITLE_MAX_CHARS:
            title.append(Section(heading=line, start=start))
        elif index > 0 and _looks_like_heading(line):
            headings.append(Section(heading=line, start=start))
    # Text hard-wrapped without blank lines has many short lines that do not end a sentence: they are not
    # headings, and taking them for headings would leave no passages at all.
    if len(headings) > max(2, 0.4 * len(spans)):
        headings = []
    return title + headings


def _looks_like_heading(line: str) -> bool:
    """A short standalone line that does not end like a sentence and is not a list item.

    Closing quotes are looked through, so « Oui. » is a sentence but « En signe de soutien » is a heading.
    """
    if len(line) >= HEADING_MAX_CHARS or _LIST_ITEM.match(line) or not any(ch.isalpha() for ch in line):
        return False
    core = line.rstrip(_CLOSING_QUOTES)
    return bool(core) and core[-1] not in _SENTENCE_PUNCTUATION


# --------------------------------------------------------------------------------------------------------------
# Markdown and HTML


def _markdown_to_html(source: str) -> tuple[str | None, str]:
    """Render Markdown with a CommonMark parser, so links, images, emphasis and code lose their syntax exactly
    as a reader's renderer would; YAML front matter is dropped, its ``title:`` kept as the title."""
    from markdown_it import MarkdownIt

    source = unicodedata.normalize("NFC", source).replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    title = None
    front = _FRONT_MATTER.match(source)
    if front:
        source = source[front.end() :]
        for line in front.group(1).split("\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("\"'")
    renderer = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    # CommonMark leaves a javascript: or data: link as literal Markdown, putting its target into the article text;
    # only the text of this HTML is kept, so every link can be rendered and only its words survive.
    renderer.validateLink = lambda url: True
    return title, renderer.render(source)


def _web_page(raw: str, source: str, url: str | None) -> tuple[str, list[Section], str, str, str]:
    """Text, sections, title, author and date of the article in a site page, its furniture left out."""
    main = main_text_html(raw, url)
    text, sections, main_title = _html_to_text(main or "", image_alt=False)
    if len(text) < MIN_PAGE_CHARS:
        raise CorpusError(
            f"{source}: no article text found in this page (a login form, a paywall, a home page or a list of "
            "links?); give the article's own page, or save its text as .txt and add that",
            reason="no_article",
        )
    meta = page_metadata(raw, url)
    return text, sections, meta.title or main_title or _first_line(text), meta.author, meta.published


def _html_to_text(html: str, *, image_alt: bool) -> tuple[str, list[Section], str | None]:
    """Visible text of an HTML document as blank-line separated blocks, its headings and its <title>.

    Each block is normalised on its own and blocks are joined by ``\\n\\n``, so heading offsets computed while
    joining stay exact (NFC never composes across a newline).
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title")
    html_title = _HTML_SPACE.sub(" ", title_tag.get_text()).strip() if title_tag else None
    blocks = _BlockCollector()
    blocks.walk(soup, image_alt=image_alt)
    blocks.flush()

    parts: list[str] = []
    sections: list[Section] = []
    first_h1: str | None = None
    offset = 0
    for raw_block, level in blocks.blocks:
        block = normalise_text(raw_block)
        if not block:
            continue
        if parts:
            offset += 2
        if level is not None:
            block = " ".join(block.split())
            sections.append(Section(heading=block, start=offset))
            if level == 1 and first_h1 is None:
                first_h1 = block
        parts.append(block)
        offset += len(block)
    return "\n\n".join(parts), sections, html_title or first_h1


class _BlockCollector:
    """Walks a parsed HTML tree and cuts its visible text into blocks the way a browser lays it out."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, int | None]] = []
        self._buffer: list[str] = []

    def flush(self, level: int | None = None) -> None:
        text = "".join(self._buffer)
        self._buffer = []
        lines = [_SPACE_RUN.sub(" ", part).strip(" ") for part in text.split("\n")]
        text = "\n".join(line for line in lines if line) if level is None else " ".join(lines)
        if text.strip():
            self.blocks.append((text, level))

    def walk(self, node: object, *, image_alt: bool, pre: bool = False) -> None:
        from bs4 import NavigableString, Tag
        from bs4.element import PreformattedString

        for child in getattr(node, "children", ()):
            if isinstance(child, PreformattedString):  # comments, CDATA, doctype, processing instructions
                continue
            if isinstance(child, NavigableString):
                self._buffer.append(str(child) if pre else _HTML_SPACE.sub(" ", str(child)))
                continue
            if not isinstance(child, Tag):
                continue
            name = (child.name or "").lower()
            if name in _INVISIBLE_TAGS or _is_hidden(child):
                continue
            if name == "br":
                self._buffer.append("\n")
            elif name == "img":
                alt = child.get("alt")
                if image_alt and isinstance(alt, str) and alt.strip():
                    self._buffer.append(alt)
            elif name in _HEADING_TAGS:
                self.flush()
                self.walk(child, image_alt=image_alt, pre=pre)
                self.flush(level=_HEADING_TAGS[name])
            elif name in _BLOCK_TAGS:
                self.flush()
                if name == "pre":
                    self._buffer.append(child.get_text())
                    self._flush_pre()
                else:
                    self.walk(child, image_alt=image_alt, pre=pre)
                    self.flush()
            else:
                self.walk(child, image_alt=image_alt, pre=pre)

    def _flush_pre(self) -> None:
        text = "".join(self._buffer).strip("\n")
        self._buffer = []
        if text.strip():
            self.blocks.append((text, None))


def _is_hidden(tag: object) -> bool:
    attrs = getattr(tag, "attrs", {}) or {}
    if "hidden" in attrs:
        return True
    style = str(attrs.get("style", "")).replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style
