"""`assistant ask` end to end: the JSON a user scripts against, and the one-line failures they read."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _assistant(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
    )


@pytest.fixture
def seeded_env(tmp_path: Path, child_env: Callable[..., dict[str, str]], seed_path: Path) -> dict[str, str]:
    env = child_env(ASSISTANT_STORE_DIR=str(tmp_path / "store"), ASSISTANT_CACHE_DIR=str(tmp_path / "cache"))
    assert _assistant(["ingest", str(seed_path)], env).returncode == 0
    return env


def test_empty_question_is_refused_before_anything_starts(child_env: Callable[..., dict[str, str]]) -> None:
    result = _assistant(["ask", "   "], child_env())
    assert result.returncode == 1
    assert result.stderr.strip() == "assistant: the question is empty: type a question about the article"


def test_unreachable_llm_is_one_clear_line(seeded_env: dict[str, str]) -> None:
    env = dict(seeded_env, ASSISTANT_LLM_BASE_URL="http://127.0.0.1:9/v1", ASSISTANT_LLM_MAX_RETRIES="0")
    result = _assistant(["ask", "Qui a signé le communiqué ?"], env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "127.0.0.1:9" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_question_asking_who_said_a_quotation_is_answered_by_the_lookup_without_the_model(
    seeded_env: dict[str, str],
) -> None:
    env = dict(seeded_env, ASSISTANT_LLM_BASE_URL="http://127.0.0.1:9/v1", ASSISTANT_LLM_MAX_RETRIES="0")
    quote = "Nos forces ont définitivement anéanti ces colonnes de l’ennemi samedi"
    result = _assistant(["ask", f"Qui a dit « {quote} » ?"], env)
    assert result.returncode == 0, result.stderr
    assert f"« {quote} »" in result.stdout and "Speaker: Mohamed Elmaouloud Ramadane" in result.stdout
    absent = "Qui a dit « Nous avons perdu la guerre hier soir » ?"
    batch = _assistant(["ask", "--json"], env, stdin=f'Who said "{quote}"?\n{absent}\n')
    found, missing = (json.loads(line) for line in batch.stdout.splitlines())
    assert found["question"] == f'Who said "{quote}"?' and found["lookup"]["kind"] == "exact"
    assert found["lookup"]["speaker"].startswith("Mohamed Elmaouloud Ramadane")
    assert missing["lookup"]["kind"] == "not_found"  # a quotation the article does not hold is said to be absent


@pytest.mark.slow
def test_json_lines_from_stdin_through_a_real_llama_cpp_server(
    seeded_env: dict[str, str], seed_path: Path, smollm_path: Path
) -> None:
    env = dict(seeded_env, ASSISTANT_LOCAL_MODEL_PATH=str(smollm_path), ASSISTANT_LLM_TIMEOUT="300")
    huge = "Who signed the statement? " + "x" * 100_000
    result = _assistant(["ask", "--json"], env, stdin=f"Qui a signé le communiqué ?\n\n{huge}\n")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 2
    article = seed_path.read_text(encoding="utf-8")
    for answer in answers:
        assert {"answer", "language", "abstained", "citations"} <= answer.keys()
        assert answer["answer"].strip()
        for citation in answer["citations"]:
            assert article[citation["start"] : citation["end"]] == citation["quote"]
    assert [a["language"] for a in answers] == ["fr", "en"]
    assert answers[0]["notice"] is None
    assert "2000" in answers[1]["notice"]


@pytest.mark.parametrize(
    ("section", "where"), [("Au Mali", "(Au Mali, paragraph 3"), ("Kidal", "(Au Mali, Kidal, paragraph 3")]
)
def test_a_citation_names_its_article_and_section_once(
    section: str, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.answer.answers import Answer, Citation
    from assistant.cli import _print_answer

    citation = Citation(
        n=1, passage_id="p", doc_id="d", title="Au Mali", section=section, paragraph=2, quote="Kidal est tombée.",
        start=10, end=27, passage_text="Kidal est tombée.", passage_start=10,
    )  # fmt: skip
    answer = Answer(
        question="q", standalone_question="q", language="fr", answer="Kidal est tombée. [1]", abstained=False,
        citations=[citation], retrieved=[], seconds=1.0,
    )  # fmt: skip
    _print_answer(answer)
    assert f"« Kidal est tombée. »  {where}, characters 10-27)" in capsys.readouterr().out
