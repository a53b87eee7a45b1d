"""The one place that talks to an LLM, always through the ``openai`` package.

Configuration alone picks the model: with ``ASSISTANT_LLM_BASE_URL`` set, any OpenAI-compatible server is used as
is (OpenAI, vLLM, Ollama, llama.cpp); unset, the embedded llama.cpp server is started on 127.0.0.1 with the bundled
offline model (see :mod:`assistant.local_server` and :mod:`assistant.model_files`).

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
import functools
import json
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

import openai
import pydantic

from assistant.errors import USER_ERRORS, UserError
from assistant.settings import Settings

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

ChatMessage = Mapping[str, str]
"""One OpenAI chat message, e.g. ``{"role": "user", "content": "..."}``."""

JsonMode = Literal["json_object", "json_schema"]

LOCAL_API_KEY = "not-needed"
"""What is sent as API key to servers that need none (the openai client refuses an empty key)."""

_CONNECT_TIMEOUT_S = 10.0
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


@dataclass(frozen=True)
class Endpoint:
    """Where the LLM is: an OpenAI-style base URL (ending in ``/v1``), the key to send, and the model name.

    ``local`` is true for the embedded llama.cpp server; ``json_mode`` is the structured-output request format
    the server understands (see :func:`json_mode`).
    """

    base_url: str
    api_key: str = field(repr=False)
    model: str
    local: bool = False
    json_mode: JsonMode = "json_schema"


@contextlib.contextmanager
def llm_endpoint(settings: Settings) -> Iterator[Endpoint]:
    """The configured endpoint, starting (and finally stopping) the embedded server when none is configured.

    Hold it open for the whole session: starting the embedded server loads the model (~2-5 s) and its prompt
    cache lives only as long as the server does.
    """
    if settings.llm_base_url:
        base_url = _check_base_url(settings.llm_base_url)
        yield Endpoint(
            base_url=base_url,
            api_key=_api_key(settings, base_url),
            model=settings.llm_model,
            json_mode=json_mode(settings),
        )
        return

    from assistant.local_server import LocalLLMServer
    from assistant.model_files import bundled_model_path

    with LocalLLMServer(bundled_model_path(settings), settings) as server:
        yield Endpoint(
            base_url=server.base_url,
            api_key=LOCAL_API_KEY,
            model=settings.llm_model,
            local=True,
            json_mode=json_mode(settings),
        )


def make_client(endpoint: Endpoint, settings: Settings) -> openai.OpenAI:
    """An ``openai.OpenAI`` client for ``endpoint`` with the configured timeout and retry budget."""
    return openai.OpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        timeout=_timeout(settings),
        max_retries=settings.llm_max_retries,
        http_client=_loopback_http_client() if endpoint.local else None,
    )


def make_chat_model(endpoint: Endpoint, settings: Settings, **kwargs: Any) -> ChatOpenAI:
    """A LangChain ``ChatOpenAI`` for ``endpoint``: temperature 0, the configured timeout and retries.

    ``kwargs`` override or extend the defaults (e.g. ``max_tokens``). Its ``invoke``/``stream`` (and async
    variants) raise :class:`LLMUnavailable` / :class:`LLMBadReply` instead of ``openai`` exceptions, so the chain
    needs no error handling of its own. The Chat Completions API is forced: LangChain would otherwise switch some
    model names to OpenAI's Responses API, which vLLM, Ollama and llama.cpp do not serve.
    """
    from pydantic import SecretStr

    params: dict[str, Any] = {
        "model": endpoint.model,
        "base_url": endpoint.base_url,
        "api_key": SecretStr(endpoint.api_key),
        "timeout": _timeout(settings),
        "max_retries": settings.llm_max_retries,
        "temperature": 0,
        "use_responses_api": False,
    }
    if endpoint.local:
        params["http_client"] = _loopback_http_client()
    params.update(kwargs)
    model = _error_translating_chat_openai()(**params)
    model._error_settings = settings
    return model


@functools.cache
def _error_translating_chat_openai() -> type[ChatOpenAI]:
    """``ChatOpenAI`` whose generation methods run inside :func:`llm_errors` (built lazily: LangChain is slow
    to import and only the chat path needs it)."""
    from langchain_openai import ChatOpenAI
    from pydantic import PrivateAttr

    class ErrorTranslatingChatOpenAI(ChatOpenAI):
        _error_settings: Settings | None = PrivateAttr(default=None)

        def _errors(self) -> contextlib.AbstractContextManager[None]:
            settings = self._error_settings or Settings(_env_file=None)  # type: ignore[call-arg]
            return llm_errors(str(self.openai_api_base or "the LLM"), settings)

        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            with self._errors():
                return super()._generate(*args, **kwargs)

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            with self._errors():
                yield from super()._stream(*args, **kwargs)

        async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
            with self._errors():
                return await super()._agenerate(*args, **kwargs)

        async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            with self._errors():
                async for chunk in super()._astream(*args, **kwargs):
                    yield chunk

    return ErrorTranslatingChatOpenAI


def json_mode(settings: Settings) -> JsonMode:
    """Which structured-output request format the configured server understands.

    llama-cpp-python's server takes ``{"type": "json_object", "schema": ...}`` (and rejects ``json_schema``);
    OpenAI, vLLM, Ollama and llama.cpp's own ``llama-server`` take OpenAI's ``json_schema`` format.
    """
    if settings.llm_json_mode != "auto":
        return settings.llm_json_mode
    return "json_object" if not settings.llm_base_url else "json_schema"


def response_format(
    endpoint_or_mode: Endpoint | JsonMode, schema: Mapping[str, Any], name: str = "reply"
) -> dict[str, Any]:
    """The ``response_format`` request field that constrains the reply to ``schema`` in the endpoint's format.

    Pass it to ``ChatOpenAI.bind(response_format=...)`` or ``chat.completions.create``. For ``json_schema``
    (OpenAI strict mode) the schema must list every property in ``required`` and set
    ``additionalProperties: false`` on every object.
    """
    mode = endpoint_or_mode.json_mode if isinstance(endpoint_or_mode, Endpoint) else endpoint_or_mode
    if mode == "json_object":
        return {"type": "json_object", "schema": dict(schema)}
    return {"type": "json_schema", "json_schema": {"name": name, "schema": dict(schema), "strict": True}}


def complete_text(
    client: openai.OpenAI | ChatOpenAI,
    messages: Sequence[ChatMessage],
    settings: Settings,
    *,
    max_tokens: int | None = None,
) -> str:
    """One non-streamed reply as text (for short steps such as rewriting a follow-up question)."""
    raw, model = _raw_client(client, settings)
    with llm_errors(str(raw.base_url), settings):
        completion = raw.chat.completions.create(
            model=model, messages=_messages(messages), temperature=0, **_limit(max_tokens)
        )
        return _content(completion, str(raw.base_url))


def complete_json(
    client: openai.OpenAI | ChatOpenAI,
    messages: Sequence[ChatMessage],
    schema: Mapping[str, Any],
    settings: Settings,
    *,
    name: str = "reply",
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """A reply constrained to the JSON ``schema`` (constrained decoding where the server supports it), parsed and
    validated; :class:`LLMBadReply` if it does not parse or does not match.

    Validation is done here too because not every server enforces the schema (OpenAI-compatible servers may
    ignore ``response_format``) and a reply cut off at ``max_tokens`` is never valid.
    """
    raw, model = _raw_client(client, settings)
    url = str(raw.base_url)
    with llm_errors(url, settings):
        completion = raw.chat.completions.create(
            model=model,
            messages=_messages(messages),
            temperature=0,
            response_format=cast(Any, response_format(json_mode(settings), schema, name)),
            **_limit(max_tokens),
        )
        text = _content(completion, url)
    return parse_json_reply(text, schema, url)


def parse_json_reply(text: str, schema: Mapping[str, Any], url: str = "the LLM") -> dict[str, Any]:
    """Parse and validate a JSON reply; :class:`LLMBadReply` (carrying the text) if it is not a matching object."""
    import jsonschema

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise LLMBadReply(
            f"the LLM at {display_url(url)} replied with invalid JSON ({error.msg} at character {error.pos}): "
            f"{_snippet(text)}",
            raw=text,
        ) from None
    if not isinstance(value, dict):
        raise LLMBadReply(
            f"the LLM at {display_url(url)} replied with JSON that is not an object: {_snippet(text)}", raw=text
        )
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        raise LLMBadReply(
            f"the LLM at {display_url(url)} replied with JSON that fails the schema at {where}: {error.message}",
            raw=text,
        )
    return value


def stream_text(
    client: openai.OpenAI | ChatOpenAI,
    messages: Sequence[ChatMessage],
    settings: Settings,
    *,
    max_tokens: int | None = None,
) -> Iterator[str]:
    """The reply as it is generated, piece by piece (for the chat UI); errors mid-stream are translated too.

    The timeout applies between pieces, so a long answer is fine as long as tokens keep coming.
    """
    raw, model = _raw_client(client, settings)
    url = str(raw.base_url)
    with llm_errors(url, settings):
        stream = raw.chat.completions.create(
            model=model, messages=_messages(messages), temperature=0, stream=True, **_limit(max_tokens)
        )
        with stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content


@contextlib.contextmanager
def llm_errors(base_url: str, settings: Settings) -> Iterator[None]:
    """Turn ``openai``/HTTP exceptions raised inside the block into :class:`LLMUnavailable` / :class:`LLMBadReply`.

    Use it around direct ``ChatOpenAI`` calls; the helpers of this module already apply it.
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
        raise _cut_off(url, _completion_text(error.completion)) from None
    except openai.ContentFilterFinishReasonError:
        raise LLMBadReply(f"the LLM at {url} withheld its reply (content filter)") from None
    except pydantic.ValidationError as error:  # a body that parses but lacks required fields (e.g. a role)
        raise LLMBadReply(
            f"the LLM at {url} sent a reply that is not a valid OpenAI chat completion "
            f"({error.error_count()} problem(s), first: {_snippet(str(error.errors()[0]['msg']))})"
        ) from None


def _cut_off(url: str, text: str) -> LLMCutOff:
    """One wording for a plain and a structured reply cut off, so every caller shows the same message."""
    message = f"the LLM at {url} stopped at the token limit before finishing its reply: {_snippet(text)}"
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
    detail = _snippet(_scrub(_server_message(error), key))
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


def _raw_client(client: openai.OpenAI | ChatOpenAI, settings: Settings) -> tuple[openai.OpenAI, str]:
    """The ``openai.OpenAI`` client and model name behind either an openai client or a ``ChatOpenAI``."""
    if isinstance(client, openai.OpenAI):
        return client, settings.llm_model
    root = getattr(client, "root_client", None)
    if not isinstance(root, openai.OpenAI):
        raise TypeError(f"expected openai.OpenAI or ChatOpenAI, got {type(client).__name__}")
    return root, str(getattr(client, "model_name", settings.llm_model))


def _content(completion: Any, url: str) -> str:
    """The text of the first choice; LLMBadReply if it is missing, refused, or cut off at the token limit."""
    if isinstance(completion, str):  # the openai client hands back non-JSON bodies as text
        raise LLMBadReply(
            f"the LLM at {display_url(url)} answered with non-JSON text ({_snippet(completion)}); check that "
            "ASSISTANT_LLM_BASE_URL is the API root, usually ending in /v1"
        )
    choices = getattr(completion, "choices", None)
    if not choices:
        raise LLMBadReply(f"the LLM at {display_url(url)} sent a reply without choices")
    choice = choices[0]
    message = choice.message
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise LLMBadReply(f"the LLM at {display_url(url)} refused: {_snippet(refusal)}", raw=refusal)
    text = message.content or ""
    if choice.finish_reason == "length":
        raise _cut_off(display_url(url), text)
    return text


def _messages(messages: Sequence[ChatMessage]) -> Any:
    return [dict(message) for message in messages]


def _limit(max_tokens: int | None) -> dict[str, int]:
    return {"max_tokens": max_tokens} if max_tokens is not None else {}


def _timeout(settings: Settings) -> openai.Timeout:
    """Read/write timeout from settings; connecting gets at most 10 s, so an unreachable host fails fast."""
    return openai.Timeout(settings.llm_timeout, connect=min(_CONNECT_TIMEOUT_S, settings.llm_timeout))


def _loopback_http_client() -> openai.DefaultHttpxClient:
    """An HTTP client that ignores HTTP(S)_PROXY: traffic to our own 127.0.0.1 server must not go through a proxy."""
    return openai.DefaultHttpxClient(trust_env=False)


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(
            f"ASSISTANT_LLM_BASE_URL={display_url(base_url)!r} is not a URL; use e.g. http://127.0.0.1:8080/v1 "
            "or https://api.openai.com/v1"
        )
    return base_url.strip().rstrip("/")


def _api_key(settings: Settings, base_url: str) -> str:
    """The configured key; for api.openai.com only, OPENAI_API_KEY as a fallback (never sent to other hosts)."""
    if settings.llm_api_key is not None and settings.llm_api_key.get_secret_value():
        return settings.llm_api_key.get_secret_value()
    if urlsplit(base_url).hostname == "api.openai.com" and os.environ.get("OPENAI_API_KEY"):
        return os.environ["OPENAI_API_KEY"]
    return LOCAL_API_KEY


def display_url(url: str) -> str:
    """The URL as it may be shown to users: without user:password or query string (where keys often hide)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the configured URL"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", "")) or "the configured URL"


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
    return _snippet(text) if text else type(seen).__name__


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"
