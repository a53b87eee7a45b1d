"""Reading the model's JSON reply, whole or while it streams."""

from __future__ import annotations

from assistant.answer.reply import claims_schema, parse_claims, streamed_text


def test_parses_claims_and_their_evidence_ids() -> None:
    raw = '{"claims": [{"evidence": ["S3", "S4"], "text": "Les séparatistes."}]}'
    assert parse_claims(raw) == [("Les séparatistes.", ["S3", "S4"])]


def test_malformed_or_foreign_replies_give_no_claims() -> None:
    assert parse_claims("Sure! The answer is 42.") == []
    assert parse_claims('{"claims": "none"}') == []
    assert parse_claims('[{"text": "x"}]') == []
    assert parse_claims('{"claims": [{"evidence": "S1", "text": "x"}, {"text": 3}]}') == [("x", [])]


def test_streamed_text_shows_claim_text_as_it_arrives() -> None:
    assert streamed_text('{"claims": [{"evidence": ["S1"], "text": "Les sépa') == "Les sépa"
    assert streamed_text('{"claims": [{"evidence": ["S1"], "text": "Il dit \\"oui\\') == 'Il dit "oui'
    two = '{"claims": [{"evidence": ["S1"], "text": "Un."}, {"evidence": ["S2"], "text": "Deux'
    assert streamed_text(two) == "Un. Deux"
    assert streamed_text('{"claims": [{"evidence": ["S1"], "te') == ""


def test_schema_restricts_evidence_to_the_numbered_sentences() -> None:
    schema = claims_schema(["S1", "S2"])
    items = schema["properties"]["claims"]["items"]
    assert items["properties"]["evidence"]["items"]["enum"] == ["S1", "S2"]
    assert items["additionalProperties"] is False
