"""The records that flow from ingest to the answer stage: an article and its passages.

Offsets always index ``Article.text``, the normalised text as ingested, so a quote found in a passage can be
located, shown and highlighted in the article without re-reading the source file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A heading and where its section starts in the article text."""

    heading: str
    start: int


@dataclass(frozen=True)
class Article:
    """One ingested document: its normalised text and what is known of its structure."""

    doc_id: str
    title: str
    text: str
    source: str
    version: str
    sections: tuple[Section, ...] = ()


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
