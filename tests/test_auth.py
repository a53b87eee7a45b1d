"""Sign-in and secrets: password and header sign-in, one user kept out of another's chats, the API key never shown.

The fast tests cover the password hashes, the settings and the cookie-signing secret. The slow ones run a real
``assistant serve`` with two password users and header sign-in on, and try what a curious colleague would: open
Alice's chat by its address in the browser, through Chainlit's HTTP API and through the socket that resumes
chats. The same server holds a fake API key for an LLM that is not there, and a question is asked: the key must be
in none of the server's output, the pages, the socket frames, the HTTP replies, or the chat-history file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from servers import free_port
from test_history import Served, Tab, ingest_seed, wait_stored

from assistant.chat import auth, serve
from assistant.chat.view import first_quote
from assistant.errors import UserError
from ingest.loading import load_article

SEED = Path(__file__).resolve().parents[1] / "seeds" / "mali-wagner-tinzaouatene.txt"
PASSWORDS = {"alice": "alice's long passphrase", "bob": "bob's other passphrase"}
API_KEY = f"sk-test-{secrets.token_hex(16)}"


# --------------------------------------------------------------------------------------------------------------
# Fast: hashes, settings, secret


def test_a_stored_hash_accepts_its_password_and_nothing_else() -> None:
    stored = auth.hash_password("s3cret passphrase")
    assert "s3cret" not in stored and stored.startswith("scrypt:")
    users = auth.parse_users(f"alice:{stored}, bob:{auth.hash_password('other')}")
    assert auth.check_password(users, "alice", "s3cret passphrase")
    assert not auth.check_password(users, "alice", "s3cret passphrase ")
    assert not auth.check_password(users, "alice", "other")
    assert not auth.check_password(users, "carol", "s3cret passphrase")
    assert auth.hash_password("same") != auth.hash_password("same")  # salted


def test_an_unknown_name_costs_one_scrypt_run_like_a_wrong_password(monkeypatch: pytest.MonkeyPatch) -> None:
    users = auth.parse_users(f"alice:{auth.hash_password('right')}")
    runs: list[int] = []
    real = auth._derive
    monkeypatch.setattr(auth, "_derive", lambda *args: runs.append(1) or real(*args))
    auth.check_password(users, "alice", "wrong")
    auth.check_password(users, "nobody", "wrong")
    assert len(runs) == 2


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("alice", "expected scrypt"),
        ("alice:plaintext-password", "expected scrypt"),
        ("al ice:x", "expected scrypt"),
        ("bad/name:scrypt:16384:8:1:00:00", "a user name is"),
        ("alice:scrypt:1000:8:1:0011223344556677:00112233445566778899aabbccddeeff", "too weak"),
        ("alice:scrypt:1048576:8:1:0011223344556677:00112233445566778899aabbccddeeff", "more memory"),
        ("alice:scrypt:16384:8:1:zz:00", "hexadecimal"),
        (",", "lists no user"),
    ],
)
def test_a_malformed_user_list_is_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(UserError, match=reason) as refused:
        auth.parse_users(value)
    assert "0011223344556677" not in str(refused.value)  # the reason never repeats the stored hash


def test_the_same_user_twice_is_refused() -> None:
    entry = f"alice:{auth.hash_password('x')}"
    with pytest.raises(UserError, match="listed twice"):
        auth.parse_users(f"{entry} {entry}")


def test_sign_in_is_off_by_default_and_on_by_one_setting(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(UserError, match="header name"):
        auth.header_name(make_settings(auth_header="X-User: admin"))
    assert "scrypt" not in repr(make_settings(auth_users=f"alice:{auth.hash_password('x')}"))


@pytest.mark.parametrize(
    ("header", "user"),
    [("alice", "alice"), (" alice@example.org ", "alice@example.org"), ("", None), (None, None),
     ("alice\nbob", None), ("alice, bob", None), ("x" * 200, None), ("<script>", None)],
)
def test_only_a_plausible_name_in_the_proxy_header_signs_in(header: str | None, user: str | None) -> None:
    assert auth.header_user(header) == user


def test_the_generated_secret_is_private_and_kept_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "state" / "auth-secret"
    first = auth.ensure_secret(path)
    assert len(first) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert auth.ensure_secret(path) == first
    path.chmod(0o644)
    assert auth.ensure_secret(path) == first and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_serve_gives_chainlit_one_kept_secret_with_sign_in_on_or_off(
    make_settings: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(auth.SECRET_VARIABLE, "")  # unset for serve, and restored after the test
    off = make_settings(store_dir=tmp_path / "store")
    assert serve.prepare_sign_in(off).startswith("off (each browser is its own user")
    assert os.environ[auth.SECRET_VARIABLE] == (tmp_path / auth.SECRET_FILE).read_text()  # browsers keep their chats
    monkeypatch.setenv(auth.SECRET_VARIABLE, "")

    on = make_settings(store_dir=tmp_path / "store", auth_users=f"alice:{auth.hash_password('x')}",
                       auth_header="X-Forwarded-User")
    assert serve.prepare_sign_in(on) == "password (1 user) and header X-Forwarded-User"
    assert os.environ[auth.SECRET_VARIABLE] == (tmp_path / auth.SECRET_FILE).read_text()

    monkeypatch.setenv(auth.SECRET_VARIABLE, "chosen-by-the-operator-" + "x" * 20)
    serve.prepare_sign_in(on)
    assert os.environ[auth.SECRET_VARIABLE].startswith("chosen-by-the-operator-")


def test_serve_refuses_a_malformed_user_list_in_one_line_before_starting(
    child_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = child_env(ASSISTANT_STORE_DIR=str(tmp_path / "store"), ASSISTANT_AUTH_USERS="alice:hunter2")
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "serve", "--port", str(free_port())],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ASSISTANT_AUTH_USERS entry 1 (alice): expected scrypt" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert not (tmp_path / auth.SECRET_FILE).exists()


# --------------------------------------------------------------------------------------------------------------
# Slow: a real server with sign-in on


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, child_env: Callable[..., dict[str, str]]) -> Iterator[Served]:
    """Alice and Bob sign in with passwords, a proxy may name users in X-Forwarded-User; the LLM is not there."""
    work = tmp_path_factory.mktemp("signed-in")
    users = ",".join(f"{name}:{auth.hash_password(password)}" for name, password in PASSWORDS.items())
    env = child_env(
        ASSISTANT_STORE_DIR=str(work / "store"),
        ASSISTANT_AUTH_USERS=users,
        ASSISTANT_AUTH_HEADER="X-Forwarded-User",
        ASSISTANT_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        ASSISTANT_LLM_API_KEY=API_KEY,
        ASSISTANT_LLM_MAX_RETRIES="0",
        ASSISTANT_LLM_TIMEOUT="5",
        PYTHONUNBUFFERED="1",  # every line of the server's output reaches its log at once
    )
    ingest_seed(env, work)
    server = Served(work, env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _signed_in(url: str, name: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in with the user's password, as the login form does."""
    with httpx.Client(base_url=url, timeout=30) as client:
        reply = client.post("/login", data={"username": name, "password": PASSWORDS[name]})
        assert reply.status_code == 200, reply.text
        yield client


def _socket_resume(url: str, client: httpx.Client, thread_id: str) -> bool:
    """Whether Chainlit's socket accepts this signed-in client resuming ``thread_id``, as the browser would."""
    sio = socketio.Client(reconnection=False)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    try:
        sio.connect(
            url, socketio_path="/ws/socket.io", transports=["websocket"], headers={"Cookie": cookie}, wait_timeout=20,
            auth={"sessionId": str(uuid.uuid4()), "clientType": "webapp", "threadId": thread_id, "userEnv": "{}",
                  "chatProfile": None},
        )
    except socketio.exceptions.ConnectionError:
        return False
    sio.disconnect()
    return True


def _alice_chat(app: Served, browser: Any) -> tuple[Tab, str, str]:
    """Alice signs in and checks a quote (no LLM needed); her tab, the chat's id and the quote she pasted."""
    quote = first_quote([load_article(SEED).text])
    assert quote
    tab = Tab(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}))
    tab.sign_in(app.url, "alice", PASSWORDS["alice"])
    reply = tab.ask(f"/lookup {quote}")
    assert "Found word for word" in reply, reply
    database = app.work / "chat-history.db"
    thread_id = wait_stored(database, 1, key=None)[-1][0]
    return tab, thread_id, quote


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_signing_in_is_required_and_wrong_passwords_or_missing_headers_are_refused(app: Served) -> None:
    with httpx.Client(base_url=app.url, timeout=30) as anonymous:
        assert anonymous.get("/user").status_code == 401
        assert anonymous.post("/project/threads", json={"pagination": {"first": 5}, "filter": {}}).status_code == 401
        for name, password in (("alice", PASSWORDS["bob"]), ("mallory", "x"), ("alice", "")):
            assert anonymous.post("/login", data={"username": name, "password": password}).status_code in (401, 422)
        assert anonymous.post("/auth/header").status_code == 401
        assert anonymous.post("/auth/header", headers={"X-Forwarded-User": "a\tb"}).status_code == 401
    with httpx.Client(base_url=app.url, timeout=30) as proxied:
        assert proxied.post("/auth/header", headers={"X-Forwarded-User": "carol"}).status_code == 200
        assert proxied.get("/user").json()["identifier"] == "carol"
    with _signed_in(app.url, "bob") as bob:
        assert bob.get("/user").json()["identifier"] == "bob"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_one_user_cannot_open_another_users_chat(app: Served, browser: Any) -> None:
    alice_tab, thread_id, quote = _alice_chat(app, browser)
    try:
        with _signed_in(app.url, "alice") as alice, _signed_in(app.url, "bob") as bob, \
                httpx.Client(base_url=app.url, timeout=30) as carol:
            assert carol.post("/auth/header", headers={"X-Forwarded-User": "carol"}).status_code == 200
            own = alice.get(f"/project/thread/{thread_id}")
            assert own.status_code == 200 and quote in own.text  # the control: the owner can
            element_id = own.json()["elements"][0]["id"]
            assert _socket_resume(app.url, alice, thread_id)

            for other in (bob, carol):
                read = other.get(f"/project/thread/{thread_id}")
                assert read.status_code in (401, 403, 404) and quote not in read.text
                element = other.get(f"/project/thread/{thread_id}/element/{element_id}")
                assert element.status_code in (401, 403, 404) and quote not in element.text
                listed = other.post("/project/threads", json={"pagination": {"first": 20}, "filter": {}})
                assert listed.status_code == 200 and thread_id not in listed.text
                renamed = other.put("/project/thread", json={"threadId": thread_id, "name": "mine now"})
                assert renamed.status_code in (401, 403, 404)
                deleted = other.request("DELETE", "/project/thread", json={"threadId": thread_id})
                assert deleted.status_code in (401, 403, 404)
                assert not _socket_resume(app.url, other, thread_id)

            after = alice.get(f"/project/thread/{thread_id}").json()
            assert after["name"] != "mine now" and quote in str(after["steps"])

        # Bob in a browser, with the chat's address: he sees none of Alice's chat.
        bob_tab = Tab(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}))
        bob_tab.sign_in(app.url, "bob", PASSWORDS["bob"])
        bob_tab.page.goto(f"{app.url}/thread/{thread_id}")
        bob_tab.page.wait_for_timeout(3000)
        assert quote[:40] not in bob_tab.page.content()
        assert bob_tab.page.locator('[data-step-type="user_message"]').count() == 0
        bob_tab.page.context.close()
    finally:
        alice_tab.page.context.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_api_key_is_never_shown_logged_or_stored(app: Served, browser: Any) -> None:
    tab = Tab(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}))
    responses: list[Any] = []
    tab.page.on("response", lambda response: responses.append(response))
    try:
        tab.sign_in(app.url, "alice", PASSWORDS["alice"])
        reply = tab.ask("Who signed the statement?")
        assert reply.startswith("⚠️") and "LLM" in reply, reply  # the failure was shown...
        settings_page = tab.page.request.get(f"{app.url}/project/settings?language=en-US").text()
        seen = [reply, tab.page.content(), settings_page, *tab.frames]
        for response in responses:
            try:
                seen.append(response.body().decode("utf-8", "replace"))
            except Exception:  # bodies of redirects and aborted requests are not kept by the browser
                continue
        threads = tab.page.request.post(f"{app.url}/project/threads", data={"pagination": {"first": 20}, "filter": {}})
        seen.append(threads.text())
    finally:
        tab.page.context.close()
    assert not [text for text in seen if API_KEY in text]  # ...and the key is in no page, frame or reply
    assert API_KEY not in app.log.read_text(errors="replace")
    for path in app.work.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert API_KEY.encode() not in path.read_bytes(), path
