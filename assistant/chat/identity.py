"""Without sign-in, each browser is its own user, so that its chats are listed, reopened and survive a reload.

Chainlit keeps and lists chat history only for a signed-in user. With sign-in off (the default: one person on their
machine) every visitor used to be anonymous: chats were saved but nobody could reopen them, and a reload lost the
conversation. A browser now gets a random id in a signed, HttpOnly cookie on its first request
(:class:`BrowserIdentity`, an ASGI middleware on Chainlit's app); Chainlit's header sign-in
(:func:`browser_user`) turns that cookie into a user named after the id, without a sign-in page. A forged or
altered cookie fails the signature and is replaced by a new id, so one browser cannot take another's chats by
guessing; Chainlit then refuses one browser's chat to another exactly as it refuses one signed-in user's to another.

Configured sign-in (passwords or a proxy header) replaces this entirely: then users are people, not browsers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

COOKIE = "assistant_browser"
#: Kept a year: the chats of a browser are reachable as long as the cookie is.
MAX_AGE_S = 365 * 24 * 3600
USER_PREFIX = "browser-"
_ID = re.compile(r"^[0-9a-f]{32}$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def sign(browser_id: str, secret: str) -> str:
    """The cookie value for a browser id: the id and an HMAC-SHA256 of it under the server's secret."""
    mac = hmac.new(secret.encode("utf-8"), browser_id.encode("ascii"), hashlib.sha256).hexdigest()
    return f"{browser_id}.{mac}"


def verify(value: str | None, secret: str) -> str | None:
    """The browser id in a cookie value, if the value is well formed and signed with ``secret``."""
    browser_id, _, _ = (value or "").partition(".")
    if not _ID.match(browser_id):
        return None
    return browser_id if hmac.compare_digest(sign(browser_id, secret), value or "") else None


def browser_user(cookie_header: str | None, secret: str) -> str | None:
    """The user name of the browser that sent ``cookie_header`` (``browser-<id>``), or None."""
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header or "")
    except Exception:  # a malformed Cookie header: no identity, the middleware gives a new one
        return None
    morsel = cookies.get(COOKIE)
    browser_id = verify(morsel.value if morsel else None, secret)
    return USER_PREFIX + browser_id if browser_id else None


class BrowserIdentity:
    """Give every browser without a valid identity cookie a new one, on the response and on the request itself.

    The request is given the cookie too, so the very first call (Chainlit's header sign-in) already sees it.
    """

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http" or browser_user(_cookie_header(scope), self.secret):
            await self.app(scope, receive, send)
            return
        value = sign(secrets.token_hex(16), self.secret)
        pair = f"{COOKIE}={value}"
        headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
        existing = _cookie_header(scope)
        headers.append((b"cookie", (f"{existing}; {pair}" if existing else pair).encode("latin-1")))
        scope = {**scope, "headers": headers}
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        set_cookie = f"{pair}; Path=/; Max-Age={MAX_AGE_S}; HttpOnly; SameSite=Lax{secure}".encode("latin-1")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", set_cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie_header(scope: Scope) -> str:
    return "; ".join(v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"cookie")
