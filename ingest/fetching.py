"""Fetch one article URL with httpx, within limits a server cannot talk the assistant out of.

A URL comes from a user (the command line or a chat message) and the page from whoever runs that server, so:

* only ``http`` and ``https``; every host of the chain (the URL and each redirect) must resolve to public
  addresses, unless private ones are allowed on purpose (``ASSISTANT_ALLOW_PRIVATE_URLS``): a chat open to a
  team must not read the intranet or the cloud metadata service for whoever types a URL;
* redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each checked as above;
* one timeout per network step and one for the whole fetch; the body is read in chunks and given up past
  ``max_bytes``, whatever ``Content-Length`` claims;
* only pages an article can be read from (HTML, plain text, Markdown, PDF).

Every refusal is a one-line :class:`~ingest.errors.CorpusError` naming the URL and what to do.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ingest.errors import CorpusError

MAX_REDIRECTS = 5
#: A PDF file may be this large, images included (its text is held to the article limit by ingest.loading).
PDF_MAX_BYTES = 50_000_000
#: Content types an article is read from, and the loader kind each one takes.
CONTENT_KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/markdown": "markdown",
    "application/pdf": "pdf",
}
USER_AGENT = "article-assistant/0.1 (+https://pypi.org/project/trafilatura/ compatible reader)"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Fetched:
    """A fetched page: the URL it was finally read from, its loader kind and its body."""

    url: str
    kind: str
    body: bytes
    charset: str | None

    def text(self) -> str:
        """The body decoded: the declared charset (header, then ``<meta>``), else UTF-8, else Windows-1252."""
        declared = self.charset or _meta_charset(self.body)
        for encoding in (declared, "utf-8"):
            if encoding:
                try:
                    return self.body.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    continue
        return self.body.decode("cp1252", errors="replace")


def is_url(source: str) -> bool:
    """True for what the user means as a web address (``http://`` or ``https://``, any case)."""
    return source.strip().lower().startswith(("http://", "https://"))


def fetch(url: str, *, max_bytes: int, timeout: float, allow_private: bool) -> Fetched:
    """Fetch ``url`` within the limits of the module docstring."""
    import httpx

    deadline = time.monotonic() + timeout
    current = url.strip()
    with httpx.Client(follow_redirects=False, timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            _check_target(current, allow_private)
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise CorpusError(
                            f"{url}: the server answered {response.status_code} {response.reason_phrase}; "
                            "check the address, or save the page and add the file",
                            reason="http_status",
                        )
                    kind = _kind_of(url, response.headers.get("content-type", ""))
                    limit = max(max_bytes, PDF_MAX_BYTES) if kind == "pdf" else max_bytes
                    body = _read_body(url, response, limit, deadline)
                    return Fetched(url=current, kind=kind, body=body, charset=response.charset_encoding)
            except httpx.TimeoutException:
                raise CorpusError(
                    f"{url}: no answer within {timeout:g} s; try again later, or save the page", reason="unreachable"
                ) from None
            except httpx.HTTPError as error:
                raise CorpusError(
                    f"{url}: cannot be fetched ({error}); check the address and the network", reason="unreachable"
                ) from None
    raise CorpusError(
        f"{url}: redirects more than {MAX_REDIRECTS} times; open it in a browser and give the final URL",
        reason="redirects",
    )


def _check_target(url: str, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to a private address (unless allowed)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise CorpusError(
            f"{url}: only http:// and https:// addresses can be fetched; save the file and add it", reason="not_http"
        )
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        raise CorpusError(
            f"{url}: the host {parts.hostname!r} is not found; check the address", reason="unreachable"
        ) from None
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise CorpusError(
                f"{url}: {parts.hostname} is a private or local address ({address}); fetching those is off "
                "(set ASSISTANT_ALLOW_PRIVATE_URLS=true to allow it), or save the page and add the file",
                reason="private_url",
            )


def _kind_of(url: str, content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    kind = CONTENT_KINDS.get(media)
    if kind is None:
        raise CorpusError(
            f"{url}: is {media or 'of unknown type'}, not an article (HTML, text, Markdown or PDF); give the "
            "address of the article's page",
            reason="not_article_type",
        )
    return kind


def _read_body(url: str, response: object, max_bytes: int, deadline: float) -> bytes:
    """The body, in chunks, refused as soon as it passes ``max_bytes`` or the fetch's deadline."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():  # type: ignore[attr-defined]
        size += len(chunk)
        if size > max_bytes:
            raise CorpusError(
                f"{url}: the page is over the {max_bytes / 1e6:g} MB limit for one article; save the article's "
                "text, or raise ASSISTANT_MAX_ARTICLE_BYTES",
                reason="too_big",
            )
        if time.monotonic() > deadline:
            raise CorpusError(
                f"{url}: the page is still coming after the time limit; try again, or save the page",
                reason="unreachable",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:4096])
    return found.group(1).decode("ascii") if found else None
