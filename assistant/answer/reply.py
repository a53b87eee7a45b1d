"""The model's reply: the JSON schema it is held to, and reading it, whole or while it streams.

The model does not write the answer in its own words: it copies the words of one numbered sentence that answer the
question, and names that sentence. Measured on ``../shared/eval/external-dev/`` (104 questions, bundled 1.5B
model): copying short answers was right for 26/30 English and 24/30 French answerable questions, against 25/30 and
8/14 for claims in the model's own words; claims written in its own words drift from their sentence (a lost hedge,
the wrong actor), and a copy can be checked against the article letter for letter. A written claim after the copy
(measured too) was a copied sentence most of the time, so the schema asks for the copy alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Bounds the constrained decoder enforces, so that a full reply always fits in ``MAX_REPLY_TOKENS``: a small
#: model that repeats itself is stopped by the grammar, not cut off mid-JSON. An answer that reaches
#: ``ANSWER_CHARS`` was cut by the grammar and is never shown (see :func:`assistant.answer.checks.is_whole`).
MAX_CLAIMS = 3
MAX_EVIDENCE = 2
ANSWER_CHARS = 240
MAX_REPLY_TOKENS = 300
_ANSWER_FIELD = re.compile(r'"answer"\s*:\s*"((?:[^"\\]|\\.)*)')


@dataclass(frozen=True)
class Drafted:
    """One claim as the model replied it: the words it says it copied, and the ids of the sentences it names."""

    answer: str
    evidence: tuple[str, ...]


def claims_schema(keys: Sequence[str]) -> dict[str, Any]:
    """JSON schema of the model's reply; evidence ids are an enum so a constrained decoder cannot invent one."""
    return {
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "answer": {"type": "string", "maxLength": ANSWER_CHARS},
                        "evidence": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(keys)},
                            "maxItems": MAX_EVIDENCE,
                        },
                    },
                    "required": ["answer", "evidence"],
                    "additionalProperties": False,
                },
                "maxItems": MAX_CLAIMS,
            }
        },
        "required": ["claims"],
        "additionalProperties": False,
    }


def parse_claims(raw: str) -> list[Drafted]:
    """The claims of a reply; anything that is not the expected JSON gives no claims."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return []
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list):
        return []
    parsed = []
    for claim in claims:
        if isinstance(claim, dict) and isinstance(claim.get("answer"), str):
            ids = claim.get("evidence")
            parsed.append(Drafted(claim["answer"], tuple(str(i) for i in ids) if isinstance(ids, list) else ()))
    return parsed


def streamed_text(buffer: str) -> str:
    """The answers readable so far in a partial JSON reply, joined as the user will see them."""
    texts = []
    for match in _ANSWER_FIELD.finditer(buffer):
        body = match.group(1)
        if body.endswith("\\") and not body.endswith("\\\\"):
            body = body[:-1]
        try:
            texts.append(json.loads(f'"{body}"'))
        except json.JSONDecodeError:
            texts.append(body)
    return "; ".join(t.strip() for t in texts if t.strip())
