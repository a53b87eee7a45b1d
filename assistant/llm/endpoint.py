"""Where the LLM is: the configured OpenAI-compatible endpoint, or the embedded llama.cpp server started for it.

Configuration alone picks the model: with ``ASSISTANT_LLM_BASE_URL`` set, any OpenAI-compatible server is used as
is (OpenAI, vLLM, Ollama, llama.cpp); unset, the embedded llama.cpp server is started on 127.0.0.1 with the bundled
offline model (see :mod:`assistant.llm.local_server` and :mod:`assistant.llm.model_files`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from assistant.errors import UserError
from assistant.settings import Settings

JsonMode = Literal["json_object", "json_schema"]

LOCAL_API_KEY = "not-needed"
"""What is sent as API key to servers that need none (the openai client refuses an empty key)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the LLM is: an OpenAI-style base URL (ending in ``/v1``), the key to send, and the model name.

    ``local`` is true for the embedded llama.cpp server; ``json_mode`` is the structured-output request format
    the server understands (see :func:`json_mode`); ``until_serving``, for the embedded server, blocks while it is
    being restarted after a crash.
    """

    base_url: str
    api_key: str = field(repr=False)
    model: str
    local: bool = False
    json_mode: JsonMode = "json_schema"
    until_serving: Callable[[], None] | None = field(default=None, repr=False, compare=False)


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

    from assistant.llm.local_server import LocalLLMServer
    from assistant.llm.model_files import bundled_model_path

    with LocalLLMServer(bundled_model_path(settings), settings) as server:
        yield Endpoint(
            base_url=server.base_url,
            api_key=LOCAL_API_KEY,
            model=settings.llm_model,
            local=True,
            json_mode=json_mode(settings),
            until_serving=server.wait_until_serving,
        )


def json_mode(settings: Settings) -> JsonMode:
    """Which structured-output request format the configured server understands.

    llama-cpp-python's server takes ``{"type": "json_object", "schema": ...}`` (and rejects ``json_schema``);
    OpenAI, vLLM, Ollama and llama.cpp's own ``llama-server`` take OpenAI's ``json_schema`` format.
    """
    if settings.llm_json_mode != "auto":
        return settings.llm_json_mode
    return "json_object" if not settings.llm_base_url else "json_schema"


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
