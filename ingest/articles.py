"""The records that flow from ingest to the answer stage: an article and its passages.

Offsets always index ``Article.text``, the normalised text as ingested, so a quote found in a passage can be
located, shown and highlighted in the article without re-reading the source file.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A heading and where its section starts in the article text."""

    heading: str
    start: int


@dataclass(frozen=True)
class Article:
    """One ingested document: its normalised text and what is known of its structure and origin.

    ``pages`` holds where each page starts in ``text`` (a PDF's page *n* starts at ``pages[n - 1]``); other
    formats have none. ``author`` and ``published`` come from a web page's metadata when it has them; ``added``
    is when the store took this version (ISO 8601, set by the store, empty before).
    """

    doc_id: str
    title: str
    text: str
    source: str
    version: str
    sections: tuple[Section, ...] = ()
    pages: tuple[int, ...] = ()
    author: str = ""
    published: str = ""
    added: str = ""

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or None for an article without pages."""
        return bisect.bisect_right(self.pages, offset) or None if self.pages else None


@dataclass(frozen=True)
class Passage:
    """A span of an article, small enough to embed and to cite, with its exact place in the article."""

    id: str
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    section: str
    paragraph: int
    position: int
    page: int | None = None
