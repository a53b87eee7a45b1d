"""The LLM's failures as the user sees them: three typed errors with one-line messages, and their translation.

Every failure of the LLM reaches callers as one of two :class:`~assistant.errors.UserError` subclasses with a
one-line message saying which URL failed and what to check, never as a raw ``openai`` or HTTP traceback:

* :class:`LLMUnavailable`: the server cannot be reached, is too slow, or keeps failing (after the bounded retries
  of the ``openai`` client: ``settings.llm_max_retries`` retries with 0.5-8 s backoff on connection errors, 408,
  409, 429 and 5xx);
* :class:`LLMBadReply`: the server answered, but not with what was asked (not JSON, JSON that fails the schema),
  and its subclass :class:`LLMCutOff` for a reply cut off at the token limit, plain or structured (``openai``
  raises ``LengthFinishReasonError`` for the latter).

API keys are never put into messages or reprs; server-supplied error text is scrubbed of the key before use.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any, cast

import openai
import pydantic

from assistant.errors import USER_ERRORS, UserError
from assistant.llm.endpoint import display_url
from assistant.settings import Settings

_SNIPPET = 160


class LLMUnavailable(UserError):
    """The LLM could not be reached, timed out, or kept failing after the bounded retries."""


class LLMBadReply(UserError):
    """The LLM answered, but its reply is unusable (not JSON, not matching the schema, cut off).

    ``raw`` holds the reply text when there was one, so a caller can fall back (e.g. to verified quotes).
    """

    def __init__(self, message: str, raw: str | None = None) -> None:
        super().__init__(message)
        self.raw = raw


class LLMCutOff(LLMBadReply):
    """The reply stopped at the token limit (``max_tokens``) before it was complete; ``raw`` holds what came.

    Told apart from other bad replies because it is the model's doing, not a fault of the server or the setup (a
    small model repeating itself runs into the limit): the chat says so plainly, and a caller may still verify the
    complete part of ``raw``.
    """


@contextlib.contextmanager
def llm_errors(base_url: str, settings: Settings) -> Iterator[None]:
    """Turn ``openai``/HTTP exceptions raised inside the block into :class:`LLMUnavailable` / :class:`LLMBadReply`.

    Use it around direct ``openai`` or ``ChatOpenAI`` calls; :mod:`assistant.llm.client` already applies it.
    """
    httpx_module = _http_library()
    url = display_url(base_url)
    attempts = settings.llm_max_retries + 1
    tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    try:
        yield
    except USER_ERRORS:
        raise
    except (openai.APITimeoutError, httpx_module.TimeoutException):
        raise LLMUnavailable(
            f"the LLM at {url} did not answer within {settings.llm_timeout:g} s ({tries}); check that the server "
            "is not overloaded, or raise ASSISTANT_LLM_TIMEOUT"
        ) from None
    except openai.APIConnectionError as error:
        raise LLMUnavailable(
            f"cannot reach the LLM at {url} ({_root_cause(error)}, {tries}); check that the server is running "
            "and that ASSISTANT_LLM_BASE_URL is right"
        ) from None
    except httpx_module.TransportError as error:  # raised while reading a streamed reply, where nothing is retried
        raise LLMUnavailable(
            f"the connection to the LLM at {url} broke during the reply ({_root_cause(error)}); check the server's log"
        ) from None
    except openai.APIResponseValidationError as error:
        raise LLMBadReply(
            f"the LLM at {url} sent a reply that is not an OpenAI chat completion: {_scrub(str(error), key)}"
        ) from None
    except openai.APIStatusError as error:
        raise _status_error(error, url, tries, key) from None
    except json.JSONDecodeError as error:
        raise LLMBadReply(f"the LLM at {url} sent a body that is not valid JSON ({error.msg})") from None
    except AssertionError:  # openai's structured-output stream asserts it got at least one event
        raise LLMBadReply(
            f"the LLM at {url} answered a streamed request without a single event (a plain or cut-off body "
            "instead of server-sent events); check that ASSISTANT_LLM_BASE_URL is an OpenAI-compatible API"
        ) from None
    except openai.LengthFinishReasonError as error:  # a structured (response_format) reply stopped at max_tokens
        raise cut_off_error(url, _completion_text(error.completion)) from None
    except openai.ContentFilterFinishReasonError:
        raise LLMBadReply(f"the LLM at {url} withheld its reply (content filter)") from None
    except pydantic.ValidationError as error:  # a body that parses but lacks required fields (e.g. a role)
        raise LLMBadReply(
            f"the LLM at {url} sent a reply that is not a valid OpenAI chat completion "
            f"({error.error_count()} problem(s), first: {snippet(str(error.errors()[0]['msg']))})"
        ) from None


def cut_off_error(url: str, text: str) -> LLMCutOff:
    """One wording for a plain and a structured reply cut off, so every caller shows the same message."""
    message = f"the LLM at {url} stopped at the token limit before finishing its reply: {snippet(text)}"
    return LLMCutOff(message, raw=text)


def _completion_text(completion: Any) -> str:
    """The text a cut-off completion carries (for a streamed one, what had arrived), or "" if it has none."""
    choices = getattr(completion, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    return str(getattr(message, "content", None) or "")


def _http_library() -> Any:
    """The HTTP library the installed ``openai`` uses (``httpx2`` here, ``httpx`` in older releases): its
    transport errors escape unwrapped while a streamed reply is being read."""
    try:
        import httpx2

        return httpx2
    except ImportError:
        import httpx

        return httpx


def _status_error(error: openai.APIStatusError, url: str, tries: str, key: str | None) -> UserError:
    code = error.status_code
    detail = snippet(_scrub(_server_message(error), key))
    if code in (401, 403):
        return LLMUnavailable(f"the LLM at {url} refused the API key (HTTP {code}); check ASSISTANT_LLM_API_KEY")
    if code == 404:
        return LLMUnavailable(
            f"the LLM at {url} has no such model or path (HTTP 404: {detail}); check ASSISTANT_LLM_MODEL and that "
            "ASSISTANT_LLM_BASE_URL ends in /v1"
        )
    if code == 429:
        return LLMUnavailable(f"the LLM at {url} is rate-limiting us (HTTP 429, {tries}): {detail}")
    if code == 400 and "context" in detail.lower():
        return LLMUnavailable(
            f"the prompt is too long for the model at {url} ({detail}); raise ASSISTANT_LOCAL_LLM_CTX "
            "or lower ASSISTANT_TOP_K"
        )
    if code >= 500:
        return LLMUnavailable(f"the LLM at {url} failed with HTTP {code} ({tries}): {detail}; check the server's log")
    return LLMUnavailable(f"the LLM at {url} rejected the request (HTTP {code}): {detail}")


_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+\S+)")


def _scrub(text: str, key: str | None) -> str:
    if key:
        text = text.replace(key, "***")
    return _KEY_LIKE.sub("***", text)


def _server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
    if isinstance(body, str) and body.strip():
        return _TAG.sub(" ", body) if _TAG.search(body) else body  # an HTML error page from a proxy
    return error.message


_TAG = re.compile(r"<[^>]{1,200}>")


def _root_cause(error: BaseException) -> str:
    """The innermost reason ("Connection refused", "Name or service not known") rather than "Connection error."."""
    seen: BaseException = error
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = cast(BaseException, seen.__cause__ or seen.__context__)
    text = str(getattr(seen, "strerror", None) or seen).strip()
    match = re.search(r"\[Errno -?\d+\] ([^\]'\"]+)", text)
    if match:
        text = match.group(1)
    return snippet(text) if text else type(seen).__name__


def snippet(text: str) -> str:
    """The text on one line, cut to a length that fits in an error message."""
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"
