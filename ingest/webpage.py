"""The article inside a news page: main text and metadata by trafilatura, the field's reference extractor.

A saved or fetched news page holds far more than the article: menus, a cookie banner, related links, comments,
ads, a footer. Kept, they would be passages, retrieved and quoted. trafilatura finds the main text (and the
title, author and date in the page's metadata) with heuristics tuned on news sites; this module only decides
when to use it and returns its result as HTML, so that the same block walk as for any HTML
(:func:`ingest.loading.html_to_text`) cuts paragraphs and headings and offsets stay those of the visible text.

trafilatura is made for whole pages: on a bare fragment (a few ``<p>`` without any site furniture) it falls back
to a baseline that flattens headings and keeps hidden text. So a document is treated as a *site page* only when
it has the furniture that main-text extraction exists to remove (navigation, header, footer, aside, form) or
marks its article (``<article>``, ``<main>``); other HTML keeps its whole visible text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SITE_MARKERS = re.compile(r"<(?:nav|header|footer|aside|form|article|main)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PageMetadata:
    """What the page says about its article; empty strings where it says nothing."""

    title: str
    author: str
    published: str


def is_site_page(html: str) -> bool:
    """True when the HTML has site furniture around its content (see the module docstring)."""
    return _SITE_MARKERS.search(html) is not None


def main_text_html(html: str, url: str | None = None) -> str | None:
    """The page's main text as simple HTML (headings, paragraphs, lists, tables), or None if it finds none.

    Comments, images and link targets are left out; ``url`` helps trafilatura with site-specific rules.
    """
    import trafilatura

    return trafilatura.extract(
        html,
        url=url,
        output_format="html",
        include_comments=False,
        include_images=False,
        include_links=False,
        include_tables=True,
        deduplicate=False,
    )


def page_metadata(html: str, url: str | None = None) -> PageMetadata:
    """Title, author and publication date from the page's metadata (Open Graph, schema.org, meta tags)."""
    from trafilatura import extract_metadata

    found = extract_metadata(html, default_url=url)
    if found is None:
        return PageMetadata("", "", "")
    return PageMetadata(
        title=" ".join((found.title or "").split()),
        author=" ".join((found.author or "").split()),
        published=found.date or "",
    )
