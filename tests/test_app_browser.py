"""The real chat in headless Chromium: streamed answers, clickable sources, follow-ups, lookups, no script, offline.

One ``assistant serve`` process (started from an empty directory, on a free port, with the default offline LLM)
serves a store holding the seed and an HTML article full of markup. Debian's ``chromium`` is driven by path
with Playwright; ``--host-resolver-rules`` makes every host but 127.0.0.1 unresolvable, so the page cannot reach
the internet even by accident, and every request it attempts is recorded and checked.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from servers import free_port, wait_http

from assistant.text.language import detect_language
from ingest.loading import load_article

pytestmark = pytest.mark.slow
pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "mali-wagner-tinzaouatene.txt"
ARTIFACTS = REPO / "tests" / "artifacts"
ANSWER_TIMEOUT_MS = int(os.environ.get('ANSWER_TIMEOUT_MS', 300_000))
PAYLOAD_SCRIPT = "<script>window.__pwned=1</script>"
PAYLOAD_IMG = '<img src=x onerror="window.__pwned=1">'
HOSTILE_HTML = f"""<!doctype html>
<html><head><title>Le conseil municipal de Gao vote le budget du marché</title>{PAYLOAD_SCRIPT}</head>
<body>
<h1>Le conseil municipal de Gao vote le budget du marché</h1>
<p>Le conseil municipal de Gao a voté mardi un budget de 12 millions de francs CFA pour réparer le marché
central. {PAYLOAD_IMG}</p>
<p>Par erreur, le site de la mairie a affiché le code &lt;script&gt;window.__pwned=1&lt;/script&gt; et la balise
&lt;img src=x onerror="window.__pwned=1"&gt; à la place du compte rendu, selon un technicien.</p>
<p>Le texte publié contenait aussi ![photo](http://example.invalid/x.png) et [1] au milieu d'une phrase.</p>
</body></html>
"""


@dataclass
class Page:
    """A browser tab on the app, with everything it asked the network for and every dialog it opened."""

    page: Any
    requests: list[str] = field(default_factory=list)
    chat_starts: list[float] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@dataclass
class Turn:
    """What the user saw for one question: the final answer text (without the list of sources under it) and the
    time to first token / full answer."""

    text: str
    first_token_s: float
    full_s: float


class _Server:
    """``assistant serve`` as a user starts it: a subprocess, from an empty directory, on a free port."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.cwd = work / "cwd"
        self.cwd.mkdir()
        self.log = work / "serve.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "serve", "--port", str(self.port)],
                env=env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_http(self.url, self.process, self.log)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def _ingest(paths: list[Path], env: dict[str, str], cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", *map(str, paths)],
        env=env, cwd=cwd, check=True, capture_output=True, timeout=300,
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, child_env: Callable[..., dict[str, str]]) -> Iterator[dict[str, Any]]:
    """The app with the default offline LLM over a store holding the seed and an article full of markup."""
    work = tmp_path_factory.mktemp("browser")
    hostile = work / "gao-budget.html"
    hostile.write_text(HOSTILE_HTML, encoding="utf-8")
    env = child_env(ASSISTANT_STORE_DIR=str(work / "store"))
    _ingest([SEED, hostile], env, work)
    server = _Server(work, env)
    try:
        yield {"url": server.url, "cwd": server.cwd, "log": server.log,
               "articles": [load_article(SEED), load_article(hostile)]}
    finally:
        server.stop()


def _open(browser: Any, url: str, locale: str) -> Page:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    tab = Page(context.new_page())
    tab.page.on("request", lambda request: tab.requests.append(request.url))
    tab.page.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
    tab.page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: _chat_started(tab, frame)))
    tab.page.goto(url)
    _wait_chat_start(tab, 0)
    return tab


def _chat_started(tab: Page, frame: Any) -> None:
    if isinstance(frame, str) and '"set_commands"' in frame:
        tab.chat_starts.append(time.monotonic())


def _wait_chat_start(tab: Page, seen: int) -> None:
    """Wait for on_chat_start (it sends the lookup command): the socket is connected and the chat is ready."""
    deadline = time.monotonic() + 60
    while len(tab.chat_starts) <= seen:
        assert time.monotonic() < deadline, "the chat did not start"
        tab.page.wait_for_timeout(100)
    tab.page.wait_for_selector(".command-buttons-container button", timeout=10_000)


_REGENERATE = re.compile("^(Régénérer|Regenerate)$")


def _ask(tab: Page, question: str) -> Turn:
    """Type a question, press Enter, and wait for the streamed then verified answer."""
    tab.page.fill("#chat-input", question)
    return _answer_to(tab, lambda: tab.page.locator("#chat-input").press("Enter"))


def _answer_to(tab: Page, send: Callable[[], None]) -> Turn:
    """Send a question (``send``: press Enter, click a starter) and wait for the streamed then verified answer."""
    page = tab.page
    before = page.locator('[data-step-type="assistant_message"]').count()
    started = time.monotonic()
    send()
    page.wait_for_function(
        """n => {
            const all = document.querySelectorAll('[data-step-type="assistant_message"] .message-content');
            return all.length > n && all[all.length - 1].innerText.trim().length > 0;
        }""",
        arg=before,
        timeout=ANSWER_TIMEOUT_MS,
    )
    first = time.monotonic() - started
    page.wait_for_selector("#stop-button", state="detached", timeout=ANSWER_TIMEOUT_MS)
    # The first answer of a new chat can stream before the stop button is drawn (seen once): the answer is done when
    # its regenerate button is, which comes with the verified answer or the failure, never with the streamed words.
    _last_message(tab).locator("button", has_text=_REGENERATE).wait_for(timeout=ANSWER_TIMEOUT_MS)
    full = time.monotonic() - started
    text = page.locator('[data-step-type="assistant_message"] .message-content').last.inner_text()
    return Turn(text=text.split("\nSources\n")[0].strip(), first_token_s=round(first, 2), full_s=round(full, 2))


def _own_words(answer: str, texts: list[str]) -> str:
    """The answer without the phrases it copies verbatim from the articles (names, appositions), which are in
    the article's language whatever the answer's: what is left is the model's own wording."""
    pieces = re.split(r"[,;()\[\]]", answer)
    copied = [p.strip() for p in pieces if len(p.split()) >= 2 and any(p.strip() in text for text in texts)]
    for piece in copied:
        answer = answer.replace(piece, " ")
    return answer


def _last_message(tab: Page) -> Any:
    return tab.page.locator('[data-step-type="assistant_message"]').last


def _open_source(tab: Page) -> tuple[str, str, str]:
    """Click the last answer's first source marker; return (marker, side panel text, highlighted quote)."""
    link = _last_message(tab).locator("a.element-link").first
    name = link.inner_text().strip()
    link.click()
    tab.page.wait_for_function(
        "name => document.querySelector('#side-view-title')?.innerText.trim() === name", arg=name, timeout=10_000
    )
    # the panel slides in: a screenshot taken before it stops shows it half off the screen
    tab.page.wait_for_function(
        """() => { const title = document.querySelector('#side-view-title');
                   return document.getAnimations().every(a => a.playState !== 'running'
                       || !(a.effect?.target instanceof Element && a.effect.target.contains(title))); }""",
        timeout=10_000,
    )
    content = tab.page.locator("#side-view-content")
    quote = content.locator("blockquote .font-bold").first.inner_text() if content.locator(
        "blockquote .font-bold").count() else ""
    return name, content.inner_text(), quote


def _outside_requests(tab: Page) -> list[str]:
    return [u for u in tab.requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).hostname not in ("127.0.0.1", "localhost")]


def _save(tab: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    tab.page.screenshot(path=str(path), full_page=True)
    return path


def _check_source(tab: Page, turn: Turn, texts: list[str], refusal: str) -> tuple[str, str, str]:
    """Open the turn's first source and check it is the articles' own text: the highlighted quote for an answer,
    the nearest passage for a refusal (the small model may decline a question it could answer)."""
    marker, panel, quote = _open_source(tab)
    if quote:
        assert any(quote in text for text in texts), (turn.text, quote)
    else:
        assert turn.text.startswith(refusal), (turn.text, panel)
        passage = tab.page.locator("#side-view-content blockquote").first.inner_text().strip()
        assert any(passage in text for text in texts), passage
    return marker, panel, quote


def test_french_question_then_english_follow_up(app: dict[str, Any], browser: Any) -> None:
    tab = _open(browser, app["url"], "fr-FR")
    texts = [a.text for a in app["articles"]]

    first = _ask(tab, "Combien de mercenaires russes seraient aux mains des séparatistes ?")
    assert first.text and detect_language(_own_words(first.text, texts)) == "fr", first.text
    marker, panel, first_quote = _check_source(tab, first, texts, "L'article ne le dit pas")
    assert marker == "[1]"
    assert "paragraphe" in panel  # the source says where it is, in the answer's language
    _save(tab, "chat-fr.png")

    follow_up = _ask(tab, "And what did the Ukrainians offer them?")
    # a short answer may be a word of both languages ("Drones"): it must not read as French
    assert follow_up.text and detect_language(_own_words(follow_up.text, texts), default="en") == "en", follow_up.text
    # the rewritten follow-up (when the model rewrote it: it may keep it as asked) and the retrieval are collapsed
    # steps, never the answer; test_history shows a rewrite's step with a scripted model
    assert tab.page.locator('[data-step-type="tool"]', has_text="Rewritten question").count() <= 1
    assert tab.page.locator('[data-step-type="retrieval"]').count() == 2
    marker, panel, second_quote = _check_source(tab, follow_up, texts, "The article does not say")
    assert marker == "[1]"  # each answer numbers its own sources
    assert "paragraph " in panel
    assert first_quote or second_quote, "neither answer showed a highlighted quote"
    screenshot = _save(tab, "chat-fr-en.png")

    assert _outside_requests(tab) == []
    assert not [line for line in tab.console if "translation" in line.lower() or "missingkey" in line.lower()]
    assert os.listdir(app["cwd"]) == []  # serve wrote nothing where it was started
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps({
        "first_question": first.__dict__, "follow_up": follow_up.__dict__, "screenshot": str(screenshot),
    }, ensure_ascii=False, indent=2))


def test_markup_in_articles_and_questions_is_shown_as_text(app: dict[str, Any], browser: Any) -> None:
    tab = _open(browser, app["url"], "en-US")
    page = tab.page
    question = f"What did the town hall website show? {PAYLOAD_SCRIPT} {PAYLOAD_IMG} ![x](http://example.invalid/q.png)"
    _ask(tab, question)
    user_bubbles = page.locator('[data-step-type="user_message"]')
    assert PAYLOAD_SCRIPT in user_bubbles.last.inner_text()

    # A lookup needs no model: it quotes the article's sentence holding the markup, verbatim, as text.
    page.fill("#chat-input", f"/lookup le code {PAYLOAD_SCRIPT} et la balise")
    page.locator("#chat-input").press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-step-type=\"assistant_message\"]')]"
        ".some(m => m.innerText.includes('Found word for word'))",
        timeout=60_000,
    )
    page.wait_for_selector("#stop-button", state="detached", timeout=60_000)
    reply = _last_message(tab).inner_text()
    assert PAYLOAD_SCRIPT in reply
    _, panel, quote = _open_source(tab)
    assert PAYLOAD_SCRIPT in quote and 'onerror="window.__pwned=1"' in panel
    _save(tab, "markup-as-text.png")

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert tab.dialogs == []
    assert page.locator("#root script, #root img[src='x'], #root iframe").count() == 0
    assert _outside_requests(tab) == []
    assert not [u for u in tab.requests if urlsplit(u).path in ("/x", "/q.png")]


def test_a_question_asking_who_said_a_quotation_gets_the_lookup_in_the_question_s_language(
    app: dict[str, Any], browser: Any
) -> None:
    tab = _open(browser, app["url"], "en-US")
    quote = "Nos forces ont définitivement anéanti ces colonnes de l’ennemi samedi"
    tab.page.fill("#chat-input", f"« {quote} » : qui a dit ça ?")
    tab.page.locator("#chat-input").press("Enter")
    tab.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-step-type=\"assistant_message\"]')]"
        ".some(m => m.innerText.includes('Qui parle'))",
        timeout=60_000,
    )  # fmt: skip
    reply = _last_message(tab).inner_text()
    assert "Mohamed Elmaouloud Ramadane" in reply  # who the article says spoke, in French like the question
    marker, _, highlighted = _open_source(tab)
    assert marker == "[1]" and _unquoted(highlighted) == quote
    tab.page.context.close()


def test_page_and_ui_texts_load_offline_in_both_languages(app: dict[str, Any], browser: Any) -> None:
    for locale, placeholder in (("fr-FR", "Posez une question"), ("en-US", "Ask a question")):
        tab = _open(browser, app["url"], locale)
        assert tab.page.get_attribute("#chat-input", "placeholder").startswith(placeholder)
        starters = tab.page.locator("#starters button, [id^='starter-']")
        assert starters.count() >= 3, locale
        assert _outside_requests(tab) == []
        assert not [line for line in tab.console if "translation" in line.lower() or "missingkey" in line.lower()]
        tab.page.context.close()


def test_the_first_starter_summarises_the_article_added_last_in_its_own_cited_sentences(
    app: dict[str, Any], browser: Any
) -> None:
    tab = _open(browser, app["url"], "fr-FR")
    seed, added = (a.text for a in app["articles"])
    turn = _answer_to(tab, lambda: tab.page.locator("#starters button, [id^='starter-']").first.click())
    assert "dernier article ajouté, « Le conseil municipal de Gao vote le budget du marché »" in turn.text
    sources = _listed_sources(_last_message(tab))
    assert len(sources) >= 2 and all(_unquoted(quote) in added for _, quote, _ in sources), (turn.text, sources)
    tab.page.context.close()
    tab = _open(browser, app["url"], "fr-FR")  # a new chat: asked after another answer, it is first made standalone
    named = _ask(tab, "Résume l'article sur Wagner et les séparatistes maliens")
    sources = _listed_sources(_last_message(tab))
    assert len(sources) >= 3 and all(_unquoted(quote) in seed for _, quote, _ in sources), (named.text, sources)
    assert "Gao" not in named.text
    _check_source(tab, named, [seed], "")
    _save(tab, "chat-summary-fr.png")
    tab.page.context.close()


def _unquoted(quote: str) -> str:
    """A listed quote without the « » the list puts around it."""
    return quote.removeprefix("« ").removesuffix(" »")


class _FakeLLM(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible server whose every answer copies words of the first evidence sentence (the seed's
    "les forces russes et maliennes"), which says yes to the check of an answer and rewrites a follow-up."""

    ANSWER = json.dumps({"claims": [{"answer": "les forces russes et maliennes", "evidence": ["S1"]}]})
    VERDICT = json.dumps({"verdict": "yes"})
    REWRITE = "Et qui a dit que les forces russes et maliennes avaient signé le communiqué ?"
    REPLY = ANSWER

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.REPLY = self.VERDICT if "verdict" in json.dumps(body.get("response_format") or {}) else self.ANSWER
        if "Last question:" in body["messages"][-1]["content"]:
            self.REPLY = self.REWRITE
        base = {"id": "x", "created": 0, "model": body.get("model", "fake")}
        if not body.get("stream"):
            reply = {**base, "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": self.REPLY}}]}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [self.REPLY[i : i + 8] for i in range(0, len(self.REPLY), 8)]
        for number, piece in enumerate(pieces):
            delta = {"role": "assistant", "content": piece} if number == 0 else {"content": piece}
            chunk = {**base, "object": "chat.completion.chunk",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        end = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
        done = {**base, "object": "chat.completion.chunk", "choices": end}
        self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())

    def log_message(self, *args: object) -> None:
        pass


def test_llm_down_is_a_clear_message_and_the_chat_recovers(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], browser: Any
) -> None:
    llm_port = free_port()
    env = child_env(
        ASSISTANT_STORE_DIR=str(tmp_path / "store"),
        ASSISTANT_LLM_BASE_URL=f"http://127.0.0.1:{llm_port}/v1",
        ASSISTANT_LLM_MAX_RETRIES="0",
        ASSISTANT_LLM_TIMEOUT="10",
    )
    _ingest([SEED], env, tmp_path)
    server = _Server(tmp_path, env)
    fake: ThreadingHTTPServer | None = None
    try:
        tab = _open(browser, server.url, "fr-FR")
        down = _ask(tab, "Qui a signé le communiqué ?")
        assert down.text.startswith("⚠️") and "LLM" in down.text + down.text.replace("modèle de langue", "LLM")
        assert down.full_s < 30

        fake = ThreadingHTTPServer(("127.0.0.1", llm_port), _FakeLLM)
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        # The failed answer's regenerate button asks the question again, now answered with its source.
        _last_message(tab).locator("button", has_text="Régénérer").click()
        tab.page.wait_for_function(
            """() => [...document.querySelectorAll('[data-step-type="assistant_message"]')].pop()
                     .querySelector('a.element-link')""", timeout=60_000)
        user_messages = tab.page.locator('[data-step-type="user_message"]').all_inner_texts()
        assert user_messages == ["Qui a signé le communiqué ?"] * 2
        assert _last_message(tab).inner_text().startswith("Les forces russes et maliennes [1]")
        tab.page.wait_for_selector("#stop-button", state="detached", timeout=30_000)
        huge = "Qui a signé le communiqué ? " + "x" * 100_000
        back = _ask(tab, huge)
        assert back.text.startswith("Les forces russes et maliennes") and "[1]" in back.text, back.text
        assert "Remarque" in back.text and "2000" in back.text  # the 100 kB paste was cut, and the user is told
        quote = _open_source(tab)[2]
        assert quote and quote in load_article(SEED).text

        # A follow-up is rewritten with the history (a collapsed step); a new chat starts with no history.
        _ask(tab, "Et qui l'a dit ?")
        assert tab.page.locator('[data-step-type="tool"]', has_text="Reformulation de la question").count() == 1
        starts = len(tab.chat_starts)
        # The header's button: the history sidebar, now that each browser has its chats, has one too, off screen.
        buttons = tab.page.locator("#new-chat-button")
        [on_screen] = [b for b in map(buttons.nth, range(buttons.count())) if (b.bounding_box() or {"x": -1})["x"] >= 0]
        on_screen.click()
        tab.page.get_by_role("button", name="Confirmer").click()
        tab.page.wait_for_selector('[data-step-type="user_message"]', state="detached", timeout=10_000)
        _wait_chat_start(tab, starts)
        fresh = _ask(tab, "Et qui l'a dit ?")
        assert fresh.text.startswith("Les forces russes et maliennes")
        assert tab.page.locator('[data-step-type="tool"]').count() == 0
        assert "[1]" in fresh.text  # numbering restarts with the chat
        assert _outside_requests(tab) == []
    finally:
        if fake is not None:
            fake.shutdown()
        server.stop()


def _fragments(texts: list[str]) -> set[str]:
    """The phrases of UI texts (two words or more, placeholders and Markdown marks cut out): single words such as
    "page" or "Section" are the same in both languages."""
    found = set()
    for text in texts:
        for part in re.split(r"\{[^}]*\}|\*\*|`", text):
            part = part.strip(" :;,.…()")
            if len(part.split()) >= 2 and len(part) >= 8:
                found.add(part)
    return found


def _ui_texts(language: str) -> list[str]:
    """Every text the page can show in one language: the assistant's catalogue and Chainlit's translation file."""
    from assistant.text.catalogue import CATALOGUE

    def leaves(node: Any) -> list[str]:
        return [s for v in node.values() for s in leaves(v)] if isinstance(node, dict) else [node]

    locale = {"fr": "fr-FR", "en": "en-US"}[language]
    chainlit = json.loads((REPO / ".chainlit" / "translations" / f"{locale}.json").read_text(encoding="utf-8"))
    return list(CATALOGUE[language].values()) + leaves(chainlit)


#: Every text of the page, hidden ones included (screen readers read them), and its labelling attributes.
_PAGE_TEXT = """() => {
    const texts = [document.documentElement.lang];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) texts.push(walker.currentNode.textContent);
    for (const e of document.querySelectorAll('[placeholder],[title],[aria-label],[alt]'))
        for (const a of ['placeholder', 'title', 'aria-label', 'alt']) texts.push(e.getAttribute(a) || '');
    return texts.join('\\n');
}"""
#: What Chainlit 2.12 writes in English whatever the page's language (in its bundle, not its translation files);
#: public/sources.js says it in French on a French page.
_CHAINLIT_ENGLISH = ("Close", "Toggle Sidebar", "Toggle theme", "Avatar for")


def test_no_label_of_the_other_language_anywhere_on_the_page(app: dict[str, Any], browser: Any) -> None:
    english, french = _fragments(_ui_texts("en")), _fragments(_ui_texts("fr"))
    for locale, question, foreign in (
        ("fr-FR", "Qui a revendiqué une victoire ?", (english - french) | set(_CHAINLIT_ENGLISH)),
        ("en-US", "Who claimed a victory?", french - english),
    ):
        tab = _open(browser, app["url"], locale)
        seen = [tab.page.evaluate(_PAGE_TEXT)]  # the welcome screen, its article list and starters
        _ask(tab, question)
        for toggle in tab.page.locator('[data-step-type="tool"] button, [data-step-type="retrieval"] button').all():
            toggle.click()  # the steps, opened
        _open_source(tab)
        seen.append(tab.page.evaluate(_PAGE_TEXT))
        tab.page.keyboard.press("Escape")
        _last_message(tab).locator("button:has(svg.lucide-thumbs-up)").click()  # the feedback dialog
        tab.page.wait_for_selector('[role="dialog"] textarea')
        seen.append(tab.page.evaluate(_PAGE_TEXT))
        page_text = "\n".join(seen)
        assert sorted(f for f in foreign if re.search(rf"\b{re.escape(f)}\b", page_text)) == [], locale
        assert page_text.startswith(locale[:2]), "the page declares its language"


@pytest.mark.parametrize("locale", ["fr-FR", "en-US"])
def test_sources_open_on_a_click_only_and_a_phone_keeps_the_answer_in_view(
    app: dict[str, Any], browser: Any, locale: str
) -> None:
    command = "/citation" if locale == "fr-FR" else "/lookup"
    quote = "Nos forces ont définitivement anéanti ces colonnes de l’ennemi samedi"
    for device, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(locale=locale, viewport=viewport, is_mobile=device == "phone")
        tab = Page(context.new_page())
        tab.page.on("websocket", lambda socket, tab=tab: socket.on("framereceived", lambda f: _chat_started(tab, f)))
        tab.page.goto(app["url"])
        _wait_chat_start(tab, 0)
        for n in range(2):  # two replies with sources: Chainlit would open its panel, listing both, after each
            tab.page.fill("#chat-input", f"{command} {quote}")
            tab.page.locator("#chat-input").press("Enter")
            tab.page.wait_for_function(
                "n => document.querySelectorAll('[data-step-type=\"assistant_message\"] a.element-link').length > n",
                arg=n, timeout=60_000,
            )  # fmt: skip
            tab.page.wait_for_timeout(1500)
            assert tab.page.locator("#side-view-title").count() == 0, (device, locale)
        answer = _last_message(tab).bounding_box()
        assert answer and answer["x"] >= 0 and answer["x"] + answer["width"] <= viewport["width"], (device, answer)
        _save(tab, f"chat-{device}-{locale[:2]}.png")
        marker, panel, highlighted = _open_source(tab)  # a click opens that source, and only it
        assert marker == "[1]" and highlighted and quote.split()[0] in highlighted and panel.count("[1]") == 1
        _save(tab, f"chat-{device}-{locale[:2]}-source.png")
        context.close()


def _listed_sources(message: Any) -> list[tuple[str, str, str]]:
    """(marker, quote, rest) of each line of the list of sources under an answer."""
    found = []
    for item in message.locator(".message-content li").all_inner_texts():
        number, _, rest = item.strip().partition(" ")
        quote, _, where = rest.rpartition(" — ")
        found.append((number, quote, where))
    return found


def _clipboard(tab: Page, previous: str) -> str:
    """The clipboard's text once it differs from ``previous`` (the page writes it asynchronously)."""
    deadline = time.monotonic() + 10
    while (text := tab.page.evaluate("navigator.clipboard.readText()")) == previous:
        assert time.monotonic() < deadline, "nothing was copied"
        tab.page.wait_for_timeout(100)
    return text


def test_each_answer_lists_and_numbers_its_own_sources_and_copies_as_plain_text(
    app: dict[str, Any], browser: Any
) -> None:
    tab = _open(browser, app["url"], "fr-FR")
    tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app["url"].rstrip("/"))
    texts, titles = [a.text for a in app["articles"]], [a.title for a in app["articles"]]
    quotes_seen, copied = [], ""
    for question in ("Combien de mercenaires russes seraient aux mains des séparatistes ?",
                     "Qui a revendiqué une victoire ?"):
        turn = _ask(tab, question)
        message = _last_message(tab)
        markers = re.findall(r"\[\d+\]", turn.text)
        assert markers and markers[0] == "[1]", turn.text  # each answer numbers its sources from [1], in order
        assert markers == sorted(markers, key=lambda m: int(m[1:-1])) and turn.text.endswith(".")
        listed = _listed_sources(message)
        assert [number for number, _, _ in listed] == list(dict.fromkeys(markers)), turn.text
        for _, quote, where in listed:
            # the quote is the article's words (in « » unless the article's own marks enclose it), then its place
            assert any(quote.removeprefix("« ").removesuffix(" »") in text or quote in text for text in texts), quote
            assert any(title in where for title in titles) and "paragraphe" in where, where
        assert not quote.startswith("« «")
        _, _, highlighted = _open_source(tab)  # [1] of this answer opens this answer's [1]
        assert highlighted and highlighted in listed[0][1], (highlighted, listed[0])
        quotes_seen.append(listed[0][1])

        message.locator("button:has(svg.lucide-copy)").click()
        copied = _clipboard(tab, previous=copied)
        shown = message.locator(".message-content").inner_text().strip()
        assert copied == shown and "\\" not in copied and f"{markers[0]} " in copied, copied
        assert "Sources" in copied and listed[0][1] in copied
    assert quotes_seen[0] != quotes_seen[1]  # the second answer's [1] is its own source, not the first's
    _save(tab, "chat-sources-fr.png")
