"""What the answer stage needs of a chat model: a reply to a conversation, whole or streamed, maybe under a schema.

The chain depends on this protocol only, so the model behind it (the embedded llama.cpp server, OpenAI, vLLM...,
all through :class:`assistant.llm.client.OpenAIChatModel`) or a test's scripted double is a matter of wiring.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, Protocol

Role = Literal["system", "user", "assistant"]


class Message(NamedTuple):
    """One message of a conversation: who says it and what."""

    role: Role
    content: str


class ChatModel(Protocol):
    """A chat model at temperature 0. With ``schema`` (a JSON schema), the reply is constrained to it.

    ``bias`` shifts the model's preference for a few tokens, named by their text (``{"yes": -0.5}``): it moves the
    threshold of a yes/no judgement to the point measured for the bundled model. Endpoints that cannot take a bias
    by token text ignore it (their own model was never measured here anyway).

    Both methods raise :class:`~assistant.llm.errors.LLMUnavailable` or :class:`~assistant.llm.errors.LLMBadReply`
    when the model cannot answer.
    """

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        schema: Mapping[str, Any] | None = None,
        bias: Mapping[str, float] | None = None,
    ) -> str:
        """The whole reply."""
        ...

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, schema: Mapping[str, Any] | None = None
    ) -> Iterator[str]:
        """The reply in pieces, as they are generated."""
        ...
