"""Reading the model's JSON reply, whole or while it streams."""

from __future__ import annotations

from assistant.answer.reply import (
    ANSWER_CHARS,
    MAX_CLAIMS,
    MAX_EVIDENCE,
    Drafted,
    claims_schema,
    parse_claims,
    streamed_text,
)


def test_parses_answers_and_their_evidence_ids() -> None:
    raw = '{"claims": [{"answer": "Les séparatistes", "evidence": ["S3", "S4"]}]}'
    assert parse_claims(raw) == [Drafted("Les séparatistes", ("S3", "S4"))]


def test_malformed_or_foreign_replies_give_no_claims() -> None:
    assert parse_claims("Sure! The answer is 42.") == []
    assert parse_claims('{"claims": "none"}') == []
    assert parse_claims('[{"answer": "x"}]') == []
    assert parse_claims('{"claims": [{"answer": "x", "evidence": "S1"}, {"answer": 3}]}') == [Drafted("x", ())]


def test_streamed_text_shows_the_answers_as_they_arrive() -> None:
    assert streamed_text('{"claims": [{"answer": "Les sépa') == "Les sépa"
    assert streamed_text('{"claims": [{"answer": "Il dit \\"oui\\') == 'Il dit "oui'
    two = '{"claims": [{"answer": "Kidal", "evidence": ["S1"]}, {"answer": "samedi'
    assert streamed_text(two) == "Kidal; samedi"
    assert streamed_text('{"claims": [{"ans') == ""


def test_schema_restricts_evidence_to_the_numbered_sentences_and_bounds_the_reply() -> None:
    schema = claims_schema(["S1", "S2"])
    claims = schema["properties"]["claims"]
    items = claims["items"]
    assert list(items["properties"]) == ["answer", "evidence"], "the copy is written before its sentence's id"
    assert items["properties"]["evidence"]["items"]["enum"] == ["S1", "S2"]
    assert items["properties"]["evidence"]["maxItems"] == MAX_EVIDENCE
    assert items["properties"]["answer"]["maxLength"] == ANSWER_CHARS
    assert claims["maxItems"] == MAX_CLAIMS
    assert items["additionalProperties"] is False
