"""Chat history: a real SQLite file under Chainlit's SQLAlchemy data layer, and a chat that outlives its server.

The fast tests drive the data layer directly on a SQLite file. The slow one is what a user does: sign in, ask,
the server dies (SIGKILL, no clean shutdown), it is started again, and the chat, reopened by its address, shows
its question, answer and source and answers a follow-up with the earlier exchange as context. The LLM is a small
OpenAI-compatible server of the test's own that records what it is asked, so the test can see that context.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import chainlit as cl
import pytest
from chainlit.types import Pagination, ThreadFilter
from servers import free_port

from assistant.answer.answers import Turn
from assistant.chat import history
from assistant.chat.auth import hash_password
from assistant.chat.view import first_quote
from assistant.errors import UserError
from ingest.loading import load_article

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "mali-wagner-tinzaouatene.txt"
ARTIFACTS = REPO / "tests" / "artifacts"
PASSWORD = "correct horse battery"
FIRST_QUESTION = "Qui a signé le communiqué ?"
FOLLOW_UP = "Et qui l'a dit ?"
#: What the scripted LLM's answer shows: words it copies from the seed's first sentence (S1).
CLAIM = "Les forces russes et maliennes"


# --------------------------------------------------------------------------------------------------------------
# Fast: the data layer on a real SQLite file


def _run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, timeout=30))


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _step(
    thread_id: str, kind: str, output: str, created: str, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "threadId": thread_id, "name": kind, "type": kind, "output": output,
            "streaming": False, "createdAt": created, "metadata": metadata or {}, "defaultOpen": False,
            "autoCollapse": False, "tags": ["kept as JSON"]}


async def _store_chat(layer: history.HistoryDataLayer, thread_id: str) -> str:
    """A signed-in user's chat as the app writes it: question, answer with a source, lookup; returns the user id."""
    create_step = type(layer).create_step.__wrapped__  # the undecorated method: no Chainlit session here
    create_element = type(layer).create_element.__wrapped__
    user = await layer.create_user(cl.User(identifier="alice"))
    assert user is not None
    await layer.update_thread(thread_id, name=FIRST_QUESTION, user_id=user.id)
    answer = _step(thread_id, "assistant_message", f"{CLAIM} [1]", "2026-01-01T10:00:02Z",
                   history.turn_metadata(Turn(FIRST_QUESTION, CLAIM)))
    for step in (
        _step(thread_id, "user_message", FIRST_QUESTION, "2026-01-01T10:00:00Z"),
        answer,
        _step(thread_id, "assistant_message", "Trouvé tel quel [1]", "2026-01-01T10:01:00Z"),
        _step(thread_id, "assistant_message", "⚠️ Désolé", "2026-01-01T10:02:00Z"),
    ):
        await create_step(layer, step)
    panel = cl.Text(name="[1]", content="« Le FLA » — **citation**", display="side",
                    thread_id=thread_id, for_id=answer["id"])
    await create_element(layer, panel)
    return user.id


def test_schema_is_created_on_a_real_sqlite_file_and_creating_it_again_changes_nothing(tmp_path: Path) -> None:
    database = tmp_path / "state" / "chat-history.db"
    url = f"sqlite+aiosqlite:///{database}"
    _run(history.create_schema(url))
    tables = _tables(database)
    assert {"users", "threads", "steps", "elements", "feedbacks"} <= tables
    assert stat.S_IMODE(database.stat().st_mode) == 0o600  # other accounts on the machine cannot read the chats

    layer = history.HistoryDataLayer(conninfo=url, storage_provider=history.InlineStorage())
    thread_id = str(uuid.uuid4())
    _run(_store_chat(layer, thread_id))
    _run(history.create_schema(url))  # a restart runs it again: tables and rows stay
    assert _tables(database) == tables
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM steps").fetchone() == (4,)


def test_a_stored_chat_comes_back_with_its_follow_up_context_and_source(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    _run(history.create_schema(url))
    layer = history.HistoryDataLayer(conninfo=url, storage_provider=history.InlineStorage())
    thread_id = str(uuid.uuid4())
    user_id = _run(_store_chat(layer, thread_id))

    # a fresh data layer, as after a restart
    reopened = history.HistoryDataLayer(conninfo=url, storage_provider=history.InlineStorage())
    thread = _run(reopened.get_thread(thread_id))
    assert thread["userIdentifier"] == "alice" and thread["name"] == FIRST_QUESTION
    assert [s["output"] for s in thread["steps"]][:2] == [FIRST_QUESTION, f"{CLAIM} [1]"]
    assert thread["steps"][0]["tags"] == ["kept as JSON"]

    state = history.resumed_state(thread["steps"])
    assert state.history == [Turn(FIRST_QUESTION, CLAIM)]  # neither the lookup nor the error is part of the context
    assert state.message_ids == [thread["steps"][1]["id"]]  # where its regenerate button goes back

    [element] = thread["elements"]
    assert element["name"] == "[1]"
    with urllib.request.urlopen(element["url"]) as response:  # the data: URL the browser will fetch
        assert response.read().decode("utf-8") == "« Le FLA » — **citation**"

    listed = _run(reopened.list_threads(Pagination(first=10), ThreadFilter(userId=user_id)))
    assert [t["id"] for t in listed.data] == [thread_id]


def test_resumed_state_follows_message_order_and_ignores_what_is_not_an_answer() -> None:
    steps = [
        {"id": "b", "type": "assistant_message", "createdAt": "2026-01-01T10:05:00Z",
         "metadata": json.dumps(history.turn_metadata(Turn("second?", "B")))},
        {"type": "user_message", "createdAt": "2026-01-01T10:00:00Z", "metadata": {"turn": {"question": "x"}}},
        {"id": "a", "type": "assistant_message", "createdAt": "2026-01-01T10:01:00Z",
         "metadata": history.turn_metadata(Turn("first?", "A"))},
        {"type": "assistant_message", "createdAt": "2026-01-01T10:06:00Z", "metadata": "not json"},
        {"type": "tool", "createdAt": "2026-01-01T10:04:00Z", "metadata": {"turn": {"question": "q", "answer": "x"}}},
    ]
    state = history.resumed_state(steps)
    assert state.history == [Turn("first?", "A"), Turn("second?", "B")]
    assert state.message_ids == ["a", "b"]
    assert history.resumed_state([]) == history.ResumedState([], [])


def test_a_thread_id_that_is_not_a_uuid_is_never_stored(tmp_path: Path) -> None:
    database = tmp_path / "h.db"
    url = f"sqlite+aiosqlite:///{database}"
    _run(history.create_schema(url))
    layer = history.HistoryDataLayer(conninfo=url, storage_provider=history.InlineStorage())
    hostile = "x') UNION SELECT 1 --"
    with pytest.raises(ValueError, match="not a UUID"):
        _run(layer.update_thread(hostile, name="q"))
    with pytest.raises(ValueError, match="not a UUID"):
        _run(type(layer).create_step.__wrapped__(layer, _step(hostile, "user_message", "q", "2026-01-01T00:00:00Z")))
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM threads").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM steps").fetchone() == (0,)


def test_default_history_is_a_sqlite_file_beside_the_store(make_settings: Callable[..., Any], tmp_path: Path) -> None:
    settings = make_settings(store_dir=tmp_path / "data" / "store")
    assert history.history_url(settings) == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'chat-history.db'}"
    other = make_settings(history_url="postgresql+asyncpg://chat:s3cret@db.example/chat")
    assert history.history_url(other) == "postgresql+asyncpg://chat:s3cret@db.example/chat"
    assert "s3cret" not in repr(other)


def test_an_unusable_history_url_is_one_clear_error_without_its_password(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="async driver") as missing_driver:
        _run(history.create_schema("postgresql+nosuchdriver://chat:s3cret@127.0.0.1:9/chat"))
    with pytest.raises(UserError, match="cannot open the chat-history database") as not_writable:
        blocker = tmp_path / "file"
        blocker.write_text("")
        _run(history.create_schema(f"sqlite+aiosqlite:///{blocker}/sub/h.db"))
    with pytest.raises(UserError, match="not a valid SQLAlchemy URL"):
        _run(history.create_schema("not a url"))
    assert "s3cret" not in str(missing_driver.value) and "***" in str(missing_driver.value)
    assert str(tmp_path) in str(not_writable.value)


def test_a_damaged_or_locked_history_is_said_with_the_way_out_and_left_as_it_is(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    garbage = b"SQLite format 3\x00" + bytes(range(256)) * 16
    damaged.write_bytes(garbage)
    with pytest.raises(UserError, match=r"not a database|malformed") as error:
        _run(history.create_schema(f"sqlite+aiosqlite:///{damaged}"))
    assert f"move {damaged} aside" in str(error.value) and "new, empty history" in str(error.value)
    assert damaged.read_bytes() == garbage  # kept for whoever wants to repair it

    busy = tmp_path / "busy.db"
    with sqlite3.connect(busy, isolation_level=None, timeout=0) as holder:
        holder.execute("CREATE TABLE other (x)")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(UserError, match="locked") as locked:
            _run(history.create_schema(f"sqlite+aiosqlite:///{busy}?timeout=0.2"))
        holder.execute("ROLLBACK")
    assert "another program is writing to it" in str(locked.value)


# --------------------------------------------------------------------------------------------------------------
# Slow: a real `assistant serve`, killed and started again, in Chromium


class RecordingLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible server: words copied from the first sentence for answers, "yes" for the check of an
    answer, a question for rewrites.

    Every request body is kept in ``requests`` so a test can see what context the assistant sent.
    """

    requests: list[dict[str, Any]] = []  # noqa: RUF012 (shared by the handler instances of one server)
    ANSWER = json.dumps({"claims": [{"answer": CLAIM.lower(), "evidence": ["S1"]}]})
    VERDICT = json.dumps({"verdict": "yes"})
    REWRITE = "Et qui a dit cela dans le communiqué du cadre stratégique ?"
    #: Pause between streamed chunks (none: answers come at once).
    CHUNK_DELAY_S = 0.0

    @classmethod
    def content_for(cls, body: dict[str, Any]) -> str:
        """The reply to one request (kept in ``requests``): an answer, a verdict or a rewrite."""
        cls.requests.append(body)
        schema = json.dumps(body.get("response_format") or {})
        if body.get("response_format"):
            return cls.VERDICT if "verdict" in schema else cls.ANSWER
        return cls.REWRITE

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        content = self.content_for(body)
        base = {"id": "x", "created": 0, "model": body.get("model", "fake")}
        if not body.get("stream"):
            message = {"role": "assistant", "content": content}
            self._send("application/json", json.dumps(
                {**base, "object": "chat.completion",
                 "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}).encode())
            return
        chunks = [{**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": {"role": "assistant", "content": content[i : i + 8]},
                                "finish_reason": None}]} for i in range(0, len(content), 8)]
        chunks.append({**base, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(self.CHUNK_DELAY_S)
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def _send(self, kind: str, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class Served:
    """``assistant serve`` as a user runs it: a subprocess on a port, its output in a log; start, kill, start."""

    def __init__(self, work: Path, env: dict[str, str], port: int | None = None) -> None:
        self.work, self.env = work, env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers (three minutes at most)."""
        cwd = self.work / "cwd"
        cwd.mkdir(exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "serve", "--port", str(self.port)],
                env=self.env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"serve did not answer:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """Kill the server without warning, as a crash or a power cut would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server as Ctrl+C would (killed if it does not stop within 30 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def chat_app(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any, llm: type[BaseHTTPRequestHandler],
    **settings: str,
) -> Iterator[tuple[Served, Any, dict[str, str]]]:
    """``assistant serve`` over the seed, answering through the scripted ``llm`` server, and a French browser
    context: (server, browser context, the server's environment); all three stopped at the end."""
    scripted = ThreadingHTTPServer(("127.0.0.1", 0), llm)
    threading.Thread(target=scripted.serve_forever, daemon=True).start()
    env = child_env(
        ASSISTANT_STORE_DIR=str(tmp_path / "store"),
        ASSISTANT_LLM_BASE_URL=f"http://127.0.0.1:{scripted.server_address[1]}/v1",
        **settings,
    )
    ingest_seed(env, tmp_path)
    server = Served(tmp_path, env)
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    try:
        server.start()
        yield server, context, env
    finally:
        context.close()
        server.stop()
        scripted.shutdown()


def ingest_seed(env: dict[str, str], cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(SEED)],
                   env=env, cwd=cwd, check=True, capture_output=True, timeout=300)


class Tab:
    """A browser tab that counts chat starts (the lookup command arrives when a chat starts or resumes)."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.frames: list[str] = []
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, frame: Any) -> None:
        if isinstance(frame, str):
            self.frames.append(frame)

    def chat_starts(self) -> int:
        return sum('"set_commands"' in frame for frame in self.frames)

    def wait_chat(self, seen: int) -> None:
        """Wait until one more chat has started or resumed (a minute at most)."""
        deadline = time.monotonic() + 60
        while self.chat_starts() <= seen:
            assert time.monotonic() < deadline, "the chat did not start"
            self.page.wait_for_timeout(100)

    def open(self, url: str) -> None:
        """Go to a page of the app and wait until its chat has started (or resumed)."""
        seen = self.chat_starts()
        self.page.goto(url)
        self.wait_chat(seen)

    def reload(self) -> None:
        """Reload the page and wait until its chat has resumed."""
        seen = self.chat_starts()
        self.page.reload()
        self.wait_chat(seen)

    def sign_in(self, url: str, name: str, password: str) -> None:
        """Open the app, which asks for a sign-in, and sign in."""
        seen = self.chat_starts()
        self.page.goto(url)
        self.page.wait_for_selector("#email", timeout=30_000)
        self.page.fill("#email", name)
        self.page.fill("#password", password)
        self.page.locator("button[type=submit]").click()
        self.wait_chat(seen)

    def ask(self, question: str) -> str:
        """Type a question, press Enter, wait for the finished answer (two minutes at most); its text."""
        page = self.page
        before = page.locator('[data-step-type="assistant_message"]').count()
        page.fill("#chat-input", question)
        page.locator("#chat-input").press("Enter")
        page.wait_for_function(
            """n => document.querySelectorAll('[data-step-type="assistant_message"] .message-content').length > n""",
            arg=before, timeout=120_000,
        )
        page.wait_for_selector("#stop-button", state="detached", timeout=120_000)
        # the streamed text is replaced by the verified answer with its source links (or by an error)
        page.wait_for_function(
            """() => {
                const all = document.querySelectorAll('[data-step-type="assistant_message"]');
                const last = all[all.length - 1];
                return last.querySelector('a.element-link') || last.innerText.includes('⚠️');
            }""",
            timeout=120_000,
        )
        return page.locator('[data-step-type="assistant_message"] .message-content').last.inner_text().strip()

    def open_source(self, marker: str) -> str:
        """Click a source marker of the last answer that has it; the side panel's text."""
        self.page.locator("a.element-link", has_text=marker).last.click()
        self.page.wait_for_function(
            "name => document.querySelector('#side-view-title')?.innerText.trim() === name", arg=marker, timeout=10_000
        )
        self.page.wait_for_function(
            "() => document.querySelector('#side-view-content blockquote')", timeout=10_000
        )
        return self.page.locator("#side-view-content").inner_text()


def stored_answers(database: Path) -> list[tuple[str, dict[str, Any]]]:
    """(thread id, metadata) of every stored answer, read straight from the SQLite file."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            """SELECT "threadId", "metadata" FROM steps WHERE type = 'assistant_message' ORDER BY "createdAt" """
        ).fetchall()
    return [(thread, json.loads(metadata or "{}")) for thread, metadata in rows]


def wait_stored(
    database: Path, count: int, key: str | None = history.TURN_META
) -> list[tuple[str, dict[str, Any]]]:
    """Wait until ``count`` replies whose metadata has ``key`` (any reply: None) are in the database (writes are
    asynchronous)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answers = [a for a in stored_answers(database) if key is None or key in a[1]] if database.exists() else []
        if len(answers) >= count:
            return answers
        time.sleep(0.2)
    raise AssertionError(f"{count} answer(s) not stored in {database}")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_chat_survives_a_server_crash_and_answers_follow_ups_with_its_context(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    llm = ThreadingHTTPServer(("127.0.0.1", 0), RecordingLLM)
    RecordingLLM.requests = []
    threading.Thread(target=llm.serve_forever, daemon=True).start()
    env = child_env(
        ASSISTANT_STORE_DIR=str(tmp_path / "store"),
        ASSISTANT_LLM_BASE_URL=f"http://127.0.0.1:{llm.server_address[1]}/v1",
        ASSISTANT_AUTH_USERS=f"alice:{hash_password(PASSWORD)}",
    )
    ingest_seed(env, tmp_path)
    database = tmp_path / "chat-history.db"
    server = Served(tmp_path, env)
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    try:
        server.start()
        tab = Tab(context)
        tab.sign_in(server.url, "alice", PASSWORD)
        first = tab.ask(FIRST_QUESTION)
        assert first.startswith(CLAIM) and "[1]" in first, first
        [(thread_id, _)] = wait_stored(database, 1)

        server.kill()
        RecordingLLM.requests.clear()
        server.start()

        # The same browser, still signed in (the cookie's secret was kept), reopens the chat by its address.
        tab.open(f"{server.url}/thread/{thread_id}")
        tab.page.wait_for_selector(f'[data-step-type="user_message"]:has-text("{FIRST_QUESTION}")', timeout=30_000)
        assert tab.page.locator('[data-step-type="assistant_message"]').last.inner_text().startswith(CLAIM)
        panel = tab.open_source("[1]")  # the source survived the crash too
        quote = tab.page.locator("#side-view-content blockquote .font-bold").first.inner_text()
        assert quote and quote in load_article(SEED).text, panel

        follow_up = tab.ask(FOLLOW_UP)
        assert follow_up.startswith(CLAIM) and "[1]" in follow_up and "[2]" not in follow_up, follow_up  # its own
        assert tab.page.locator('[data-step-type="tool"]', has_text="Reformulation de la question").count() == 1
        assert tab.page.locator('[data-step-type="user_message"]').count() == 2  # the reopened chat, continued
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(ARTIFACTS / "chat-resumed.png"), full_page=True)
        # The rewrite of the follow-up (the app's start-up warm-up request is a plain one too).
        rewrite = next(
            r for r in RecordingLLM.requests
            if not r.get("response_format") and r["messages"][-1]["content"].endswith(f"Last question: {FOLLOW_UP}")
        )
        conversation = rewrite["messages"][-1]["content"]
        assert f"User: {FIRST_QUESTION}\nAssistant: {CLAIM} [1]\n" in conversation  # as if the server had never died

        listed = tab.page.request.post(f"{server.url}/project/threads",
                                       data={"pagination": {"first": 20}, "filter": {}})
        assert [t["id"] for t in listed.json()["data"]] == [thread_id]
        assert len(wait_stored(database, 2)) == 2
    finally:
        context.close()
        server.stop()
        llm.shutdown()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_without_sign_in_each_browser_keeps_its_chats_through_a_reload_and_sees_no_other(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    env = child_env(ASSISTANT_STORE_DIR=str(tmp_path / "store"), ASSISTANT_LLM_BASE_URL="http://127.0.0.1:9/v1")
    ingest_seed(env, tmp_path)
    server = Served(tmp_path, env)
    mine = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    other = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        server.start()
        tab = Tab(mine)
        seen = tab.chat_starts()
        tab.page.goto(server.url)  # no sign-in page: straight to the chat
        tab.wait_chat(seen)
        quote = first_quote([load_article(SEED).text])
        assert quote and "Found word for word" in tab.ask(f"/lookup {quote}")
        [(thread_id, _)] = wait_stored(tmp_path / "chat-history.db", 1, key=None)
        with sqlite3.connect(tmp_path / "chat-history.db") as connection:
            [(owner,)] = connection.execute(
                'SELECT u.identifier FROM threads t JOIN users u ON u.id = t."userId" WHERE t.id = ?', (thread_id,)
            ).fetchall()
        assert owner.startswith("browser-")
        cookie = next(c for c in mine.cookies() if c["name"] == "assistant_browser")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

        # The browser lists its chat, and a reload comes back to it, question and answer included.
        listed = tab.page.request.post(f"{server.url}/project/threads", data={"pagination": {"first": 5}, "filter": {}})
        assert [t["id"] for t in listed.json()["data"]] == [thread_id]
        tab.reload()
        assert tab.page.url.endswith(f"/thread/{thread_id}")
        tab.page.wait_for_selector('[data-step-type="user_message"]', timeout=30_000)
        assert quote in tab.page.locator('[data-step-type="user_message"]').first.inner_text()
        assert "Found word for word" in tab.page.locator('[data-step-type="assistant_message"]').first.inner_text()

        # Another browser is another user: it cannot list or open that chat, nor take it with a forged cookie.
        stranger = Tab(other)
        stranger.page.goto(server.url)
        stranger.wait_chat(0)
        assert stranger.page.request.get(f"{server.url}/project/thread/{thread_id}").status in (401, 403, 404)
        theirs = stranger.page.request.post(
            f"{server.url}/project/threads", data={"pagination": {"first": 5}, "filter": {}}
        )
        assert theirs.ok and theirs.json()["data"] == []
        browser_id = cookie["value"].split(".")[0]
        other.add_cookies([{**cookie, "value": f"{browser_id}.{'0' * 64}"}])
        other.clear_cookies(name="access_token")
        forged = other.request.post(f"{server.url}/auth/header")
        assert forged.ok and other.request.get(f"{server.url}/project/thread/{thread_id}").status in (401, 403, 404)
        # a new tab: the open one, whose sign-in was just cleared, may itself be sent to /login meanwhile
        forger = other.new_page()
        forger.goto(f"{server.url}/thread/{thread_id}")
        forger.wait_for_timeout(2000)
        assert quote not in forger.content()
    finally:
        mine.close()
        other.close()
        server.stop()


class SlowLLM(RecordingLLM):
    """The recording LLM, streaming its answers a chunk every half second: long enough to reload mid-answer."""

    CHUNK_DELAY_S = 0.5


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_reload_during_an_answer_comes_back_to_the_chat(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    with chat_app(tmp_path, child_env, browser, SlowLLM) as (server, context, _env):
        tab = Tab(context)
        tab.open(server.url)
        tab.page.fill("#chat-input", FIRST_QUESTION)
        tab.page.locator("#chat-input").press("Enter")
        tab.page.wait_for_selector("#stop-button", timeout=60_000)  # the answer is streaming
        tab.page.wait_for_url("**/thread/*", timeout=30_000)
        thread_url = tab.page.url
        tab.reload()
        assert tab.page.url == thread_url
        tab.page.wait_for_selector(f'[data-step-type="user_message"]:has-text("{FIRST_QUESTION}")', timeout=30_000)
        assert tab.page.get_by_text("Couldn't resume chat").count() == 0
        # The chat goes on: a new question is answered in it.
        assert tab.ask(FIRST_QUESTION).startswith(CLAIM)
        assert tab.page.url == thread_url


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_feedback_and_regenerated_answers_are_kept_with_the_chat_through_a_reload(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    database = tmp_path / "chat-history.db"
    answers = '[data-step-type="assistant_message"]'
    with chat_app(tmp_path, child_env, browser, RecordingLLM) as (server, context, _env):
        tab = Tab(context)
        tab.open(server.url)
        assert tab.ask(FIRST_QUESTION).startswith(CLAIM)

        # Feedback with a comment, through Chainlit's own buttons.
        tab.page.locator(answers).first.locator("button:has(svg.lucide-thumbs-up)").click()
        tab.page.locator('[role="dialog"] textarea').fill("source utile")
        tab.page.locator('[role="dialog"] button', has_text="Envoyer le commentaire").click()

        # Regenerate: the question again, then a new answer with its own sources, copy and feedback buttons.
        tab.page.locator(answers).first.locator("button", has_text="Régénérer").click()
        tab.page.wait_for_function(f"() => document.querySelectorAll('{answers} a.element-link').length >= 4")
        tab.page.wait_for_selector("#stop-button", state="detached", timeout=60_000)
        assert tab.page.locator('[data-step-type="user_message"]').all_inner_texts() == [FIRST_QUESTION] * 2
        again = tab.page.locator(answers).last
        assert again.locator(".message-content").inner_text().startswith(f"{CLAIM} [1]")
        assert again.locator("svg.lucide-copy").count() == 1 and again.locator("svg.lucide-thumbs-up").count() == 1
        stored = wait_stored(database, 2)
        thread_id = stored[0][0]
        with sqlite3.connect(database) as connection:
            assert connection.execute('SELECT value, comment FROM feedbacks WHERE "threadId" = ?',
                                      (thread_id,)).fetchall() == [(1, "source utile")]

        # After a reload: both answers, the feedback shown on the first, and each can be regenerated again.
        tab.reload()
        tab.page.wait_for_function(f"() => document.querySelectorAll('{answers} a.element-link').length >= 4",
                                   timeout=30_000)
        assert tab.page.url.endswith(f"/thread/{thread_id}")
        first, second = tab.page.locator(answers).all()
        assert first.locator("svg.lucide-message-circle").count() == 1  # the kept comment's button
        assert second.locator("svg.lucide-message-circle").count() == 0
        regenerate = tab.page.locator(answers).locator("button", has_text="Régénérer")
        tab.page.wait_for_function(
            "() => [...document.querySelectorAll('button')].filter(b => b.innerText.includes('Régénérer')).length == 2",
            timeout=10_000,
        )
        regenerate.first.click()
        tab.page.wait_for_function(f"() => document.querySelectorAll('{answers}').length == 3", timeout=60_000)
        assert len(wait_stored(database, 3)) == 3


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_locked_history_is_said_in_the_chat_which_goes_on_and_keeps_what_was_saved(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    database = tmp_path / "chat-history.db"
    history_url = f"sqlite+aiosqlite:///{database}?timeout=1"  # SQLite waits 1 s for a lock, not 5
    with chat_app(
        tmp_path, child_env, browser, RecordingLLM, ASSISTANT_HISTORY_URL=history_url
    ) as (server, context, _env):
        tab = Tab(context)
        tab.open(server.url)
        assert tab.ask(FIRST_QUESTION).startswith(CLAIM)
        [(thread_id, _)] = wait_stored(database, 1)

        with sqlite3.connect(database, isolation_level=None) as holder:  # another program holds the database
            holder.execute("BEGIN EXCLUSIVE")
            assert tab.ask(FOLLOW_UP).startswith(CLAIM)  # the chat goes on
            toast = tab.page.locator("[data-sonner-toast]", has_text="L'historique n'a pas pu être enregistré")
            toast.wait_for(timeout=10_000)
            holder.execute("ROLLBACK")
        assert tab.page.locator("[data-sonner-toast]").count() == 1  # said once, not for every failed write

        tab.open(f"{server.url}/thread/{thread_id}")  # what was saved before the lock is all there
        tab.page.wait_for_selector(f'[data-step-type="user_message"]:has-text("{FIRST_QUESTION}")', timeout=30_000)
        assert tab.page.locator('[data-step-type="assistant_message"]').first.inner_text().startswith(CLAIM)
        assert "Traceback" not in server.log.read_text()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_tabs_on_one_chat_both_get_answers_and_the_chat_keeps_both(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    database = tmp_path / "chat-history.db"
    with chat_app(tmp_path, child_env, browser, RecordingLLM) as (server, context, _env):
        first = Tab(context)
        first.open(server.url)
        assert first.ask(FIRST_QUESTION).startswith(CLAIM)
        [(thread_id, _)] = wait_stored(database, 1)
        second = Tab(context)  # the same browser, the same chat, in a second tab
        second.open(f"{server.url}/thread/{thread_id}")
        assert second.ask(FOLLOW_UP).startswith(CLAIM)
        assert first.ask("Et où ?").startswith(CLAIM)
        assert {thread for thread, _ in wait_stored(database, 3)} == {thread_id}

        first.reload()  # the chat holds the three exchanges, from both tabs, in the order they were asked
        first.page.wait_for_function(
            "() => document.querySelectorAll('[data-step-type=\"user_message\"]').length == 3", timeout=30_000
        )
        asked = first.page.locator('[data-step-type="user_message"]').all_inner_texts()
        assert asked == [FIRST_QUESTION, FOLLOW_UP, "Et où ?"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_chat_resumed_after_its_article_was_removed_keeps_its_sources_and_answers_from_the_articles_now(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    database = tmp_path / "chat-history.db"
    with chat_app(tmp_path, child_env, browser, RecordingLLM) as (server, context, env):
        tab = Tab(context)
        tab.open(server.url)
        assert tab.ask(FIRST_QUESTION).startswith(CLAIM)
        old_panel = tab.open_source("[1]")
        [(thread_id, _)] = wait_stored(database, 1)
        server.stop()

        # The seed is removed and another article takes its place, while the server is stopped.
        replacement = tmp_path / "kidal.md"
        replacement.write_text("# Retour au calme à Kidal\n\nLes forces russes et maliennes ont quitté Kidal mardi. "
                               "Les habitants ont rouvert le marché le lendemain.\n", encoding="utf-8")
        subprocess.run([sys.executable, "-m", "assistant.cli", "remove", SEED.stem], env=env, cwd=tmp_path,
                       check=True, capture_output=True, timeout=120)
        subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(replacement)], env=env, cwd=tmp_path,
                       check=True, capture_output=True, timeout=300)
        server.start()

        tab.open(f"{server.url}/thread/{thread_id}")
        tab.page.wait_for_selector('[data-step-type="assistant_message"] a.element-link', timeout=30_000)
        assert tab.open_source("[1]") == old_panel  # the source as it was when the answer was given
        follow_up = tab.ask(FOLLOW_UP)  # answered from the articles loaded now
        assert follow_up.startswith(CLAIM) and "Retour au calme à Kidal" in follow_up, follow_up
        assert "Retour au calme à Kidal" in tab.open_source("[1]")
        assert "Traceback" not in server.log.read_text()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_stop_ends_an_answer_or_a_regeneration_and_says_so_in_the_page_language(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    answers = '[data-step-type="assistant_message"]'
    with chat_app(tmp_path, child_env, browser, SlowLLM) as (server, context, _env):
        tab = Tab(context)
        tab.open(server.url)
        tab.page.fill("#chat-input", FIRST_QUESTION)
        tab.page.locator("#chat-input").press("Enter")
        tab.page.locator("#stop-button").click(timeout=60_000)  # while the answer streams
        stopped = tab.page.locator(answers, has_text="Réponse arrêtée à votre demande.")
        stopped.wait_for(timeout=10_000)
        assert tab.page.get_by_text("Task manually stopped").count() == 0
        tab.page.wait_for_timeout(6000)  # what the model would have streamed next never comes
        assert tab.page.locator(f"{answers} a.element-link").count() == 0

        assert tab.ask(FIRST_QUESTION).startswith(CLAIM)  # the chat goes on
        tab.page.locator(answers).last.locator("button", has_text="Régénérer").click()
        tab.page.locator("#stop-button").click(timeout=30_000)
        tab.page.wait_for_function(
            "() => [...document.querySelectorAll('[data-step-type=\"assistant_message\"]')]"
            ".filter(m => m.innerText.includes('Réponse arrêtée')).length == 2", timeout=10_000)
        tab.page.wait_for_timeout(6000)
        assert tab.page.locator(f"{answers} a.element-link").count() == 2  # the one finished answer: [1], its list
        assert tab.ask(FOLLOW_UP).startswith(CLAIM)
