"""Open everything an answer needs (store, embedder, LLM endpoint) once, and close it on the way out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from assistant.answer.chain import AnswerChain
from assistant.settings import Settings

if TYPE_CHECKING:
    from ingest.store import PassageStore


@contextmanager
def open_chain(settings: Settings, store: PassageStore | None = None) -> Iterator[AnswerChain]:
    """An :class:`AnswerChain` over ``store`` (else the configured one) and the LLM; the embedded LLM server stops
    on exit."""
    from assistant.llm.client import OpenAIChatModel
    from assistant.llm.endpoint import llm_endpoint
    from ingest.store import open_store

    store = store if store is not None else open_store(settings, create=False)
    with llm_endpoint(settings) as endpoint:
        yield AnswerChain(settings, store, OpenAIChatModel(endpoint, settings))
