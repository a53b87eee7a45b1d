"""Each browser's identity cookie: given once, signed, HttpOnly, seen by the very request that gets it."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from assistant.chat import identity

SECRET = "s" * 48


async def _who(request: Request) -> PlainTextResponse:
    return PlainTextResponse(identity.browser_user(request.headers.get("cookie"), SECRET) or "nobody")


def _get(cookies: dict[str, str] | None = None) -> httpx.Response:
    app = identity.BrowserIdentity(Starlette(routes=[Route("/", _who)]), secret=SECRET)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", cookies=cookies) as client:
            return await client.get("/")

    return asyncio.run(call())


def test_a_new_browser_gets_a_signed_httponly_cookie_that_its_first_request_already_carries() -> None:
    response = _get()
    header = response.headers["set-cookie"]
    assert header.startswith(f"{identity.COOKIE}=") and "HttpOnly" in header and "SameSite=Lax" in header
    value = header.split(";", 1)[0].split("=", 1)[1]
    assert response.text == identity.USER_PREFIX + value.split(".")[0]


def test_a_known_browser_keeps_its_identity_and_gets_no_new_cookie() -> None:
    value = identity.sign("ab" * 16, SECRET)
    response = _get({identity.COOKIE: value, "other": "x"})
    assert response.text == identity.USER_PREFIX + "ab" * 16 and "set-cookie" not in response.headers


def test_a_forged_or_foreign_cookie_is_not_an_identity_and_is_replaced() -> None:
    for value in (f"{'ab' * 16}.{'0' * 64}", identity.sign("ab" * 16, "another secret"), "garbage", ""):
        assert identity.verify(value, SECRET) is None
        response = _get({identity.COOKIE: value})
        assert response.text != identity.USER_PREFIX + "ab" * 16 and "set-cookie" in response.headers
