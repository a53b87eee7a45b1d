"""Test doubles shared by the test files: a scripted chat model and a tiny embedder, both without any model.

``ScriptedChatModel`` implements :class:`assistant.llm.protocol.ChatModel`: it answers from a queue of replies and
records every request (messages, token limit, schema), so a test can check what the chain asked as well as what it
did with the answer. ``TinyEmbedder`` implements :class:`ingest.embedding.Embedder` with a hashed bag of words: its
vectors are deterministic and comparable, which is all a store or pipeline test needs when it is not about the
quality of the search.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.llm.protocol import Message
from ingest.embedding import EmbedderIdentity


@dataclass(frozen=True)
class Request:
    """One call the chain made: what it sent, its token limit, the JSON schema that constrained the reply and the
    token bias it asked for."""

    messages: tuple[Message, ...]
    max_tokens: int
    schema: Mapping[str, Any] | None
    bias: Mapping[str, float] | None = None


@dataclass
class ScriptedChatModel:
    """Replies from ``replies``, in order; a call past the end fails the test (the chain asked more than scripted).

    ``stream`` hands a reply out in chunks of ``chunk`` characters, as a server streams tokens.
    """

    replies: list[str]
    chunk: int = 7
    requests: list[Request] = field(default_factory=list)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        schema: Mapping[str, Any] | None = None,
        bias: Mapping[str, float] | None = None,
    ) -> str:
        """The next scripted reply, whole."""
        return self._next(messages, max_tokens, schema, bias)

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, schema: Mapping[str, Any] | None = None
    ) -> Iterator[str]:
        """The next scripted reply, a few characters at a time."""
        reply = self._next(messages, max_tokens, schema)
        for start in range(0, len(reply), self.chunk):
            yield reply[start : start + self.chunk]

    def _next(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        schema: Mapping[str, Any] | None,
        bias: Mapping[str, float] | None = None,
    ) -> str:
        self.requests.append(Request(tuple(messages), max_tokens, schema, bias))
        if len(self.requests) > len(self.replies):
            raise AssertionError(f"request {len(self.requests)} has no scripted reply: {messages[-1].content!r}")
        return self.replies[len(self.requests) - 1]


_WORD = re.compile(r"\w+")


class TinyEmbedder:
    """A hashed bag of words in ``dim`` dimensions, L2-normalised: texts sharing words have close vectors."""

    backend = "tiny"
    model = "hashed-words"

    def __init__(self, dim: int = 32) -> None:
        self.dim = dim

    @property
    def identity(self) -> EmbedderIdentity:
        """Backend, model and dimension, as the store records them."""
        return EmbedderIdentity(self.backend, self.model, self.dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """The vector of a question, made like a passage's."""
        return self._vector(text)

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for word in _WORD.findall(text.casefold()):
            digest = hashlib.sha256(word.encode("utf-8")).digest()
            vector[int.from_bytes(digest[:4], "big") % self.dim] += 1.0
        norm = math.sqrt(sum(x * x for x in vector))
        return [x / norm for x in vector] if norm else [1.0 / math.sqrt(self.dim)] * self.dim
