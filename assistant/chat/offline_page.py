"""Serve Chainlit's page without anything from the internet, so the chat works on an offline machine.

Chainlit 2.12's ``index.html`` asks for three things outside the machine: ``preconnect`` hints to Google Fonts,
the Inter web font stylesheet from Google Fonts, and KaTeX's stylesheet from a CDN. The font block can be
emptied by configuration (``public/theme.json`` with ``"custom_fonts": []``, which this project commits); the
preconnect hints and the KaTeX link are hard-coded in the template. Offline, a stylesheet link in ``<head>`` is
render-blocking: where the network drops packets instead of refusing them, the page stays blank until the
browser gives up on the CDN. The chat does not render math (``latex = false``) and the CSS falls back to the
system sans-serif font, so those links are removed from the page as it is served.

The filter wraps Chainlit's own template function, so everything else Chainlit injects (title, theme, custom
CSS/JS) is kept; it removes only ``<link>`` tags whose ``href`` is an absolute http(s) URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*/?>\s*", re.IGNORECASE | re.DOTALL)


def strip_remote_assets(html: str) -> str:
    """The page without ``<link>`` tags pointing at another host (fonts, CDN stylesheets, preconnect hints)."""
    return _REMOTE_LINK.sub("", html)


def install() -> None:
    """Make Chainlit serve the page through :func:`strip_remote_assets` (idempotent)."""
    import chainlit.server as server

    template: Callable[[str], str] = server.get_html_template
    if getattr(template, "offline", False):
        return

    def offline_template(root_path: str) -> str:
        return strip_remote_assets(template(root_path))

    offline_template.offline = True  # type: ignore[attr-defined]
    server.get_html_template = offline_template
