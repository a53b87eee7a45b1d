"""The one place that talks to an LLM, always through the ``openai`` package.

:class:`OpenAIChatModel` is the :class:`~assistant.llm.protocol.ChatModel` the answer chain uses: LangChain's
``ChatOpenAI`` at temperature 0, with the configured timeout and retries, its failures translated into the typed
errors of :mod:`assistant.llm.errors`, and a JSON schema, when given, sent in the request format the endpoint
understands. :func:`make_client` and :func:`complete_text` reach the same endpoints with the bare ``openai`` client
(the doctor's probe, the benchmarks).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import openai

from assistant.llm.endpoint import Endpoint, JsonMode, display_url
from assistant.llm.errors import LLMBadReply, cut_off_error, llm_errors, snippet
from assistant.llm.protocol import Message
from assistant.settings import Settings

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_openai import ChatOpenAI

ChatMessage = Mapping[str, str]
"""One OpenAI chat message, e.g. ``{"role": "user", "content": "..."}``."""

_CONNECT_TIMEOUT_S = 10.0


class OpenAIChatModel:
    """The :class:`~assistant.llm.protocol.ChatModel` of an endpoint, on LangChain's ``ChatOpenAI``."""

    def __init__(self, endpoint: Endpoint, settings: Settings) -> None:
        self.endpoint = endpoint
        self.chat_openai = _chat_openai(endpoint, settings)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        schema: Mapping[str, Any] | None = None,
        bias: Mapping[str, float] | None = None,
    ) -> str:
        """The whole reply as text."""
        self._until_serving()
        return str(self._model(schema, bias).invoke(_langchain_messages(messages), max_tokens=max_tokens).content)

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, schema: Mapping[str, Any] | None = None
    ) -> Iterator[str]:
        """The reply as it is generated, piece by piece."""
        self._until_serving()
        for chunk in self._model(schema).stream(_langchain_messages(messages), max_tokens=max_tokens):
            yield str(chunk.content)

    def _until_serving(self) -> None:
        """Wait while the embedded server restarts after a crash (a question asked meanwhile is not refused)."""
        if self.endpoint.until_serving is not None:
            self.endpoint.until_serving()

    def _model(self, schema: Mapping[str, Any] | None, bias: Mapping[str, float] | None = None) -> Any:
        """The chat model, bound to the endpoint's form of ``schema`` when the reply must follow one, and to a
        logit bias by token text where the endpoint takes one (llama-cpp-python's server: the embedded model)."""
        bound: dict[str, Any] = {}
        if schema is not None:
            bound["response_format"] = response_format(self.endpoint, schema)
        if bias and self.endpoint.local:
            bound["extra_body"] = {"logit_bias": dict(bias), "logit_bias_type": "tokens"}
        return self.chat_openai.bind(**bound) if bound else self.chat_openai


def make_client(endpoint: Endpoint, settings: Settings) -> openai.OpenAI:
    """An ``openai.OpenAI`` client for ``endpoint`` with the configured timeout and retry budget."""
    return openai.OpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        timeout=_timeout(settings),
        max_retries=settings.llm_max_retries,
        http_client=_loopback_http_client() if endpoint.local else None,
    )


def _chat_openai(endpoint: Endpoint, settings: Settings) -> ChatOpenAI:
    """A LangChain ``ChatOpenAI`` for ``endpoint``: temperature 0, the configured timeout and retries.

    Its ``invoke``/``stream`` raise :class:`~assistant.llm.errors.LLMUnavailable` /
    :class:`~assistant.llm.errors.LLMBadReply` instead of ``openai`` exceptions, so the chain needs no error
    handling of its own. The Chat Completions API is forced: LangChain would otherwise switch some
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

    return ErrorTranslatingChatOpenAI


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
    client: openai.OpenAI,
    messages: Sequence[ChatMessage],
    settings: Settings,
    *,
    max_tokens: int | None = None,
) -> str:
    """One non-streamed reply as text, from the bare ``openai`` client (the doctor's one-token probe).

    Stricter than :class:`OpenAIChatModel`: a non-JSON body, a reply without choices, a refusal and a reply cut off
    at ``max_tokens`` are each an :class:`~assistant.llm.errors.LLMBadReply`.
    """
    with llm_errors(str(client.base_url), settings):
        completion = client.chat.completions.create(
            model=settings.llm_model, messages=_messages(messages), temperature=0, **_limit(max_tokens)
        )
        return _content(completion, str(client.base_url))


def _langchain_messages(messages: Sequence[Message]) -> list[BaseMessage]:
    """The messages as LangChain's system, human and AI messages."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[message.role](message.content) for message in messages]


def _content(completion: Any, url: str) -> str:
    """The text of the first choice; LLMBadReply if it is missing, refused, or cut off at the token limit."""
    if isinstance(completion, str):  # the openai client hands back non-JSON bodies as text
        raise LLMBadReply(
            f"the LLM at {display_url(url)} answered with non-JSON text ({snippet(completion)}); check that "
            "ASSISTANT_LLM_BASE_URL is the API root, usually ending in /v1"
        )
    choices = getattr(completion, "choices", None)
    if not choices:
        raise LLMBadReply(f"the LLM at {display_url(url)} sent a reply without choices")
    choice = choices[0]
    message = choice.message
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise LLMBadReply(f"the LLM at {display_url(url)} refused: {snippet(refusal)}", raw=refusal)
    text = message.content or ""
    if choice.finish_reason == "length":
        raise cut_off_error(display_url(url), text)
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
