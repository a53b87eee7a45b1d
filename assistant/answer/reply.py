"""The model's reply: the JSON schema it is held to, and reading it, whole or while it streams."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

#: Bounds the constrained decoder enforces, so that a full reply always fits in ``MAX_REPLY_TOKENS``: a small
#: model that repeats itself is stopped by the grammar, not cut off mid-JSON.
MAX_CLAIMS = 3
MAX_EVIDENCE = 3
MAX_REPLY_TOKENS = 400
_TEXT_FIELD = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)')
#: Claims that only say the articles do not say: a refusal written as a claim, never an answer.
_REFUSAL = re.compile(
    r"(does not|doesn't|do not|don't) (say|mention|specify|state|provide|give|contain)|not (mentioned|specified|"
    r"stated|provided|given|known from)|no information|ne (le )?(dit|précise|mentionne|donne|indique) pas|"
    r"pas (mentionné|précisé|indiqué)|aucune information",
    re.IGNORECASE,
)



def claims_schema(keys: Sequence[str]) -> dict[str, Any]:
    """JSON schema of the model's reply; evidence ids are an enum so a constrained decoder cannot invent one.

    The claim's text comes before its evidence. Measured on the dev questions with the bundled 1.5B model, that
    order answered 16/16 against 14/16 with the evidence first (the model then wrote a claim to fit an id it had
    picked too early, or picked none), and the text streams to the user some twenty tokens sooner.
    """
    return {
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "maxLength": 200},
                        "evidence": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(keys)},
                            "maxItems": MAX_EVIDENCE,
                        },
                    },
                    "required": ["text", "evidence"],
                    "additionalProperties": False,
                },
                "maxItems": MAX_CLAIMS,
            }
        },
        "required": ["claims"],
        "additionalProperties": False,
    }


def parse_claims(raw: str) -> list[tuple[str, list[str]]]:
    """The (text, evidence ids) pairs of a reply; anything that is not the expected JSON gives no claims."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return []
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list):
        return []
    parsed = []
    for claim in claims:
        if isinstance(claim, dict) and isinstance(claim.get("text"), str):
            ids = claim.get("evidence")
            parsed.append((claim["text"], [str(i) for i in ids] if isinstance(ids, list) else []))
    return parsed


def streamed_text(buffer: str) -> str:
    """The claim texts readable so far in a partial JSON reply, joined as the user will see them."""
    texts = []
    for match in _TEXT_FIELD.finditer(buffer):
        body = match.group(1)
        if body.endswith("\\") and not body.endswith("\\\\"):
            body = body[:-1]
        try:
            texts.append(json.loads(f'"{body}"'))
        except json.JSONDecodeError:
            texts.append(body)
    return " ".join(t.strip() for t in texts if t.strip())


def is_refusal(claim: str) -> bool:
    """Whether a claim of the reply only says that the articles do not say (it is dropped before verification)."""
    return bool(_REFUSAL.search(claim))
