"""Read the text layer of a PDF with pypdf, page by page, into the plain text that offsets index.

pypdf is pure Python (no system library, no model), reads encrypted files that open without a password, and its
layout mode keeps the vertical gaps between paragraphs as blank lines, which the plain mode loses. What this
module adds is only what pypdf leaves to the caller:

* the lines of one paragraph are joined with a space (a PDF stores every printed line break; a quote of the
  article's sentence must not depend on where the page wrapped it), and the runs of spaces layout mode uses to
  justify and indent are collapsed;
* pages are separated by a blank line, so no paragraph runs over a page break and every passage has one page,
  and where each page starts is kept for the citations;
* a file without a text layer (a scan), a password-protected or a damaged file gets a one-line message.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from ingest.errors import CorpusError

_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_BLANK = re.compile(r"\n[ \t]*\n\s*")
#: Fewer visible characters than this in the whole file: the pages are images (a scan) or blank.
MIN_TEXT_CHARS = 20


@dataclass(frozen=True)
class PdfText:
    """A PDF's text as ingested: pages separated by a blank line, where each page starts, and its title."""

    text: str
    pages: tuple[int, ...]
    title: str | None


def read_pdf(data: bytes, path: str) -> PdfText:
    """The text layer of the PDF ``data`` (read from ``path``, named in messages), one paragraph per block, pages
    in order (see the module docstring)."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorpusError(
                f"{path}: the PDF is password-protected; save a copy without a password and add that",
                reason="encrypted",
            )
        raw_pages = [
            page.extract_text(extraction_mode="layout", layout_mode_space_vertically=True) for page in reader.pages
        ]
        title = _metadata_title(reader)
    except (FileNotDecryptedError, DependencyError):
        raise CorpusError(
            f"{path}: the PDF is encrypted; save a copy without a password and add that", reason="encrypted"
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise CorpusError(
            f"{path}: cannot be read as a PDF ({error}); check that the file is whole", reason="damaged_pdf"
        ) from None
    pages: list[int] = []
    blocks: list[str] = []
    offset = 0
    for raw in raw_pages:
        page_blocks = [_unwrap(block) for block in _BLANK.split(raw or "")]
        page_blocks = [block for block in page_blocks if block]
        if not page_blocks:
            pages.append(offset)
            continue
        if blocks:
            offset += 2
        pages.append(offset)
        page_text = "\n\n".join(page_blocks)
        blocks.append(page_text)
        offset += len(page_text)
    text = "\n\n".join(blocks)
    if sum(not ch.isspace() for ch in text) < MIN_TEXT_CHARS:
        raise CorpusError(
            f"{path}: the PDF has no text layer (a scan or images of pages); run OCR on it first "
            "(e.g. `ocrmypdf in.pdf out.pdf`) and add the result",
            reason="no_text_layer",
        )
    return PdfText(text=text, pages=tuple(pages), title=title)


def _unwrap(block: str) -> str:
    """One paragraph as one line (NFC, as every ingested text): its printed lines joined by a space, layout
    padding collapsed."""
    lines = [_SPACES.sub(" ", line).strip() for line in unicodedata.normalize("NFC", block).split("\n")]
    return " ".join(line for line in lines if line)


def _metadata_title(reader: object) -> str | None:
    """The document's own title, unless it is empty or a word processor's file name."""
    metadata = getattr(reader, "metadata", None)
    title = str(getattr(metadata, "title", "") or "").strip() if metadata else ""
    if not title or title.lower().endswith((".doc", ".docx", ".odt", ".pdf", ".tex")):
        return None
    return " ".join(title.split())
