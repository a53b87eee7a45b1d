"""The Chainlit chat: streamed answers with clickable, highlighted sources, follow-ups and citation lookup.

Started by ``assistant serve`` (see :mod:`assistant.chat.serve`), which points Chainlit at the project's committed
``.chainlit/`` configuration. The answer engine is opened once per process, lazily and behind a lock, because it
may start the embedded LLM server: that must happen once, not once per chat. Its generator is synchronous, so
it runs in a worker thread and hands its events to the event loop through a queue; answers are serialised
(one at a time) because the embedded llama.cpp server has a single slot and the chain keeps per-store caches.

What a user sees for one question:

1. the question rewrite (for a follow-up) and the retrieval as collapsed steps, never as the answer;
2. the answer text streaming as the model writes it (escaped: it is untrusted);
3. the message replaced by the *verified* answer once verification is done, with one side element per citation
   named exactly like its marker (``[1]``), which is what makes Chainlit turn the marker into a link.

Chats are saved by the data layer of :mod:`assistant.chat.history`; each answer carries its plain question and answer in
its metadata, so a chat reopened after a restart (:func:`resume_chat`) answers follow-ups as before. Sign-in
(:mod:`assistant.chat.auth`) is registered only when configured: Chainlit asks for it as soon as a callback exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import chainlit as cl
from chainlit.data.base import BaseDataLayer
from chainlit.types import ThreadDict

from assistant.answer.answers import Answer, Step, Token, Turn
from assistant.chat import auth, identity, offline_page, uploads, view
from assistant.chat import history as chat_history
from assistant.chat.view import LOOKUP_COMMAND, LOOKUP_IDS, SidePanel
from assistant.errors import USER_ERRORS
from assistant.quotes.asked import quote_asked_about
from assistant.settings import Settings, get_settings
from assistant.text.catalogue import CATALOGUE
from assistant.text.language import Language, answer_language
from ingest.errors import CorpusError

if TYPE_CHECKING:
    from assistant.answer.answers import Event
    from assistant.answer.chain import AnswerChain
    from ingest.articles import Article
    from ingest.embedding import Embedder
    from ingest.pipeline import IngestReport
    from ingest.store import PassageStore

log = logging.getLogger("assistant.chat.app")
offline_page.install()

HISTORY_KEY = "history"
#: The action under each answer that asks its question again.
REGENERATE = "regenerate"
_DONE = object()


class _Engine:
    """The answer chain and the store, opened on first use and kept for the life of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # A separate lock for the store: the first chain() may take minutes (assembling and loading the model),
        # and starters and lookups must not wait for it.
        self._store_lock = threading.Lock()
        # One answer or one upload at a time: the embedded server has one slot, and an upload changes the store
        # the chain is reading.
        self._busy = threading.Lock()
        self._stack = contextlib.ExitStack()
        self._chain: AnswerChain | None = None
        self._store: PassageStore | None = None
        self._embedder: Embedder | None = None
        self._articles: tuple[str, list[Article]] | None = None

    def chain(self) -> AnswerChain:
        """The chain; the first call opens the store and the LLM endpoint (maybe starting the embedded server).

        A failure (no store, model missing, LLM unreachable) is raised to the caller and the next call tries
        again, so fixing the problem does not need a restart.
        """
        with self._lock:
            if self._chain is None:
                from assistant.answer.factory import open_chain

                stack = contextlib.ExitStack()
                self._chain = stack.enter_context(open_chain(get_settings()))
                self._stack.callback(stack.close)
            return self._chain

    def store(self) -> PassageStore:
        """The store for lookups, opened without the LLM: a citation lookup needs no model."""
        with self._store_lock:
            if self._store is None:
                from ingest.store import open_store

                self._store = open_store(get_settings(), create=False)
            return self._store

    def articles(self) -> list[Article]:
        """The stored articles, full text included, for the welcome list and the quote-check starter: each page
        load asks for them twice, and an archive holds hundreds, so they are read again only when the store's
        content has changed (its state token, which an ingest from any process moves on)."""
        store = self.store()
        state = store.state()
        with self._store_lock:
            if self._articles is None or self._articles[0] != state:
                self._articles = (state, store.articles())
            return self._articles[1]

    def busy(self) -> bool:
        """Whether an answer or an upload is under way (a new one waits for it)."""
        return self._busy.locked()

    def add_articles(self, articles: list[Article], progress: Callable[[int, int], None]) -> IngestReport:
        """Embed and store loaded articles, as ``assistant ingest`` does, between two answers."""
        from ingest.embedding import make_embedder
        from ingest.pipeline import ingest_articles

        settings = get_settings()
        with self._busy:
            if self._embedder is None:
                self._embedder = make_embedder(settings, threads=settings.ingest_threads)
            return ingest_articles(articles, settings, embedder=self._embedder, progress=progress)

    def answer_events(self, question: str, history: list[Turn], stop: threading.Event) -> Iterator[Event]:
        """The chain's events for one question, one question at a time across all chats."""
        with self._busy:
            stream = self.chain().stream(question, history)
            try:
                for event in stream:
                    yield event
                    if stop.is_set():
                        return
            finally:
                stream.close()

    def close(self) -> None:
        """Stop the embedded LLM server (if one was started) and release the store."""
        with self._lock, self._store_lock:
            self._stack.close()
            self._chain = None
            if self._store is not None:
                self._store.close()
                self._store = None


ENGINE = _Engine()


# --------------------------------------------------------------------------------------------------------------
# History and sign-in


@cl.data_layer
def data_layer() -> BaseDataLayer:
    """Chat history in the configured database (schema created by ``assistant serve`` before start-up)."""
    return chat_history.data_layer(get_settings())


def _install_sign_in(settings: Settings) -> None:
    """Register the configured sign-in callbacks; with none configured, each browser is its own user
    (:mod:`assistant.chat.identity`), signed in without a page."""
    users = auth.password_users(settings)
    header = auth.header_name(settings)
    if not users and header is None:
        _install_browser_identity(os.environ[auth.SECRET_VARIABLE])
    if users:

        async def password_sign_in(name: str, password: str) -> cl.User | None:
            """A configured user with the right password (scrypt runs off the event loop)."""
            if await asyncio.to_thread(auth.check_password, users, name, password):
                return cl.User(identifier=name, metadata={"sign_in": "password"})
            return None

        cl.password_auth_callback(password_sign_in)
    if header is not None:

        async def header_sign_in(headers: Any) -> cl.User | None:
            """The user the reverse proxy names in the trusted header; no header, no sign-in."""
            name = auth.header_user(headers.get(header))
            return cl.User(identifier=name, metadata={"sign_in": "header"}) if name else None

        cl.header_auth_callback(header_sign_in)


def _install_browser_identity(secret: str) -> None:
    """The identity cookie on every response, and a sign-in that reads it (named "this browser" in the UI)."""
    from chainlit.server import app as server

    server.add_middleware(identity.BrowserIdentity, secret=secret)

    async def browser_sign_in(headers: Any) -> cl.User | None:
        name = identity.browser_user(headers.get("cookie"), secret)
        if name is None:
            return None
        lang = view.ui_language(headers.get("accept-language"))
        return cl.User(identifier=name, display_name=CATALOGUE[lang]["this_browser"], metadata={"sign_in": "browser"})

    cl.header_auth_callback(browser_sign_in)


_install_sign_in(get_settings())


# --------------------------------------------------------------------------------------------------------------
# Life cycle


@cl.on_app_startup
async def warm_up() -> None:
    """Open the engine and warm the LLM's prompt cache in the background, so the first question is answered warm."""

    def open_quietly() -> None:
        try:
            ENGINE.chain().warm()
        except Exception as error:  # reported to the user on the first question instead
            log.warning("answer engine not ready at startup: %s", error)

    threading.Thread(target=open_quietly, name="engine-warm-up", daemon=True).start()


@cl.on_app_shutdown
async def shut_down() -> None:
    """Stop the embedded LLM server with the app."""
    await cl.make_async(ENGINE.close)()


@cl.set_chat_profiles
async def chat_profiles(user: Any = None, language: str | None = None) -> list[cl.ChatProfile]:
    """One profile, only to put the loaded articles on the welcome screen (Chainlit shows the chosen profile's
    description there, and hides the profile picker when there is one profile). Read at each page load."""
    lang = view.ui_language(language)
    articles = []
    with contextlib.suppress(Exception):  # no store yet: the list says no article is loaded
        articles = await cl.make_async(ENGINE.articles)()
    return [
        cl.ChatProfile(
            name="articles",
            display_name=CATALOGUE[lang]["welcome_articles"],
            icon="/public/favicon.svg",
            markdown_description=view.welcome_markdown(articles, lang),
            default=True,
        )
    ]


@cl.set_starters
async def set_starters(user: Any = None, language: str | None = None) -> list[cl.Starter]:
    """Starters in the browser's language: three questions and a quote check on a sentence the article quotes."""
    lang = view.ui_language(language)
    quote = None
    with contextlib.suppress(Exception):
        articles = await cl.make_async(ENGINE.articles)()
        quote = view.first_quote([a.text for a in articles])
    return [
        cl.Starter(label=label, message=message, command=command)
        for label, message, command in view.starters(lang, quote)
    ]


@cl.on_chat_start
async def start_chat() -> None:
    """A new chat starts with an empty history and offers the citation-lookup command."""
    cl.user_session.set(HISTORY_KEY, [])
    await _offer_lookup()


@cl.on_chat_resume
async def resume_chat(thread: ThreadDict) -> None:
    """A reopened chat goes on where it stopped: same follow-up context, and each answer can be regenerated again
    (Chainlit does not store actions, so they are sent anew)."""
    state = chat_history.resumed_state(thread.get("steps") or [])
    cl.user_session.set(HISTORY_KEY, state.history)
    await _offer_lookup()
    for turns, (message_id, turn) in enumerate(zip(state.message_ids, state.history, strict=True)):
        await _regenerate_action(turn.question, turns).send(for_id=message_id)


async def _offer_lookup() -> None:
    """Show the citation-lookup command on the composer, in the browser's language."""
    lang = _ui_language()
    await cl.context.emitter.set_commands(
        [
            {
                "id": LOOKUP_COMMAND[lang],
                "icon": "quote",
                "description": CATALOGUE[lang]["lookup_command"],
                "button": True,
                "persistent": False,
            }
        ]
    )


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Route a message: a citation lookup (command or ``/lookup`` prefix, or a question asking who says a quotation
    or where it is); files, a URL alone or a pasted article to add; else a question about the articles (asked after
    the message's files are added)."""
    text = message.content or ""
    lookup_text = _lookup_text(text, message.command)
    if lookup_text is not None:
        await _lookup(lookup_text, _ui_language())
        return
    asked = None if message.elements else quote_asked_about(text)
    if asked is not None:  # "Who said "…"?": the lookup answers it, in the language of the words around the quote
        language = answer_language(asked.asking, get_settings().answer_language) if asked.asking else _ui_language()
        await _lookup(asked.quote, language)
        return
    files = uploads.uploads_in(message.elements or [])
    url = uploads.url_alone(text)
    pasted = text if not files and uploads.is_pasted_article(text) else None
    if files or url or pasted:
        added = await _add_articles(files, [url] if url else [], pasted)
        if not added or url or pasted or not text.strip():
            return
    await _answer_in_chat(text, len(cl.user_session.get(HISTORY_KEY) or []))


@cl.action_callback(REGENERATE)
async def regenerate(action: cl.Action) -> None:
    """Ask an answer's question again, with the follow-up context it had, under a copy of the question: the new
    answer is saved in the chat like any other and the earlier one stays. The model runs at temperature 0, so the
    same articles give the same answer; it is for after a failure or after articles were added or removed."""
    question = action.payload.get("question")
    turns = action.payload.get("turns")
    if not isinstance(question, str) or not isinstance(turns, int):
        return
    session = cl.context.session
    author = session.user.identifier if session.user else "User"
    # Chainlit runs an action inside its HTTP request, not as the chat's task, and outside the "run" step it opens
    # for a typed message. Both are made here as Chainlit makes them, so the page shows the answer running, its
    # stop button cancels it, and the answer gets its copy and feedback buttons.
    await cl.context.emitter.task_start()
    try:
        asked = cl.Message(content=question, type="user_message", author=author)
        await asked.send()
        async with cl.Step(name="on_message", type="run", parent_id=asked.id):
            session.current_task = asyncio.ensure_future(_answer_in_chat(question, turns))
            with contextlib.suppress(asyncio.CancelledError):
                await session.current_task
    finally:
        await cl.context.emitter.task_end()


async def _answer_in_chat(question: str, turns: int) -> None:
    """Answer with the first ``turns`` exchanges of the chat as follow-up context; the exchange joins the chat's."""
    history: list[Turn] = cl.user_session.get(HISTORY_KEY) or []
    answer = await _answer(question, history[:turns], turns)
    if answer is not None:  # the chat's history as it is now: another answer may have joined it meanwhile
        now: list[Turn] = cl.user_session.get(HISTORY_KEY) or []
        cl.user_session.set(HISTORY_KEY, [*now, Turn(answer.question, answer.answer)])


# --------------------------------------------------------------------------------------------------------------
# Answering


async def _answer(question: str, history: list[Turn], turns: int) -> Answer | None:
    """Stream one answer into a message, then replace it with the verified answer and its sources. The answer, and
    a failure too, can be regenerated (``turns``: how much of the chat's history it was asked with)."""
    language = answer_language(question, get_settings().answer_language)
    message = cl.Message(content="")
    stop = threading.Event()
    answer: Answer | None = None
    try:
        async for event in _in_thread(lambda: ENGINE.answer_events(question, history, stop)):
            if isinstance(event, Step):
                await _show_step(event, _ui_language())
            elif isinstance(event, Token):
                await message.stream_token(view.escape_markdown(event.text))
            elif isinstance(event, Answer):
                answer = event
    except asyncio.CancelledError:
        stop.set()
        raise
    except Exception as error:
        answer = None
        message.content = _failure_markdown(error, language, "answer")
    else:
        if answer is None:
            return None
        message.content = view.answer_markdown(answer)
        message.elements = _elements(view.answer_panels(answer))
        message.metadata = chat_history.turn_metadata(Turn(answer.question, answer.answer))
    message.actions = [_regenerate_action(question, turns)]
    await message.send()
    return answer


def _regenerate_action(question: str, turns: int) -> cl.Action:
    """The button under an answer that asks its question again (see :func:`regenerate`)."""
    labels = CATALOGUE[_ui_language()]
    return cl.Action(
        name=REGENERATE,
        payload={"question": question, "turns": turns},
        label=labels["regenerate"],
        tooltip=labels["regenerate_tip"],
        icon="refresh-cw",
    )


async def _show_step(step: Step, language: Language) -> None:
    """A finished chain stage as a collapsed step named in the page's language, whatever the answer's (Chainlit
    writes "Étape :" before it in the page's language); its output is escaped text, not the answer."""
    async with cl.Step(
        name=view.steps_label(step.name, language),
        type="retrieval" if step.name == "retrieve" else "tool",
        default_open=False,
        show_input=False,
    ) as shown:
        shown.output = view.step_output(step.output)


# --------------------------------------------------------------------------------------------------------------
# Adding articles


async def _add_articles(files: list[uploads.Upload], urls: list[str], pasted: str | None) -> bool:
    """Add what the message brings, with progress in one message that ends as the outcome; True if added."""
    lang = _ui_language()
    settings = get_settings()
    if not uploads.allowed(settings):
        await cl.Message(content=CATALOGUE[lang]["upload_off"]).send()
        return False
    if len(files) > uploads.MAX_FILES:
        await cl.Message(content=CATALOGUE[lang]["upload_too_many"].format(limit=uploads.MAX_FILES)).send()
        return False
    names = uploads.source_names(files, urls, pasted, lang)
    status = cl.Message(content=CATALOGUE[lang]["upload_reading"].format(names=names))
    await status.send()
    try:
        articles = await cl.make_async(uploads.load)(files, urls, pasted, settings, lang)
        if ENGINE.busy():
            status.content = CATALOGUE[lang]["upload_waiting"].format(names=names)
            await status.update()
        report = await _ingest_with_progress(articles, status, names, lang)
    except uploads.FailedUpload as failure:
        log.warning("upload refused: %s", failure)
        status.content = "⚠️ " + uploads.failure_text(failure, lang)
        await status.update()
        return False
    except USER_ERRORS as error:  # the store itself (busy, unwritable): said as it is, nothing was written
        log.warning("upload failed: %s", error)
        failure = uploads.FailedUpload(names, error if isinstance(error, CorpusError) else CorpusError(str(error)))
        status.content = "⚠️ " + uploads.failure_text(failure, lang)
        await status.update()
        return False
    status.content = uploads.report_text(report, lang)
    await status.update()
    return True


async def _ingest_with_progress(
    articles: list[Article], status: cl.Message, names: str, lang: Language
) -> IngestReport:
    """Run the ingest in a worker thread, turning its progress into updates of ``status`` (at most twice a second)."""
    latest: list[tuple[int, int]] = []

    def heard(done: int, total: int) -> None:
        latest.append((done, total))

    task = asyncio.ensure_future(cl.make_async(ENGINE.add_articles)(articles, heard))
    shown: tuple[int, int] | None = None
    while not task.done():
        await asyncio.wait({task}, timeout=0.5)
        if latest and latest[-1] != shown and not task.done():
            shown = latest[-1]
            status.content = CATALOGUE[lang]["upload_embedding"].format(names=names, done=shown[0], total=shown[1])
            await status.update()
    return task.result()


# --------------------------------------------------------------------------------------------------------------
# Citation lookup


def _lookup_text(text: str, command: str | None) -> str | None:
    """The text to look up when the message is a lookup (the command, or a ``/lookup``/``/citation`` prefix)."""
    if command in LOOKUP_IDS:
        return text
    stripped = text.lstrip()
    for name in LOOKUP_IDS:
        prefix = f"/{name}"
        if stripped.lower().startswith(prefix) and (len(stripped) == len(prefix) or stripped[len(prefix)].isspace()):
            return stripped[len(prefix) :]
    return None


async def _lookup(text: str, lang: Language) -> None:
    """Say whether and where the pasted text is in the articles, and who speaks, with the passage as a source."""
    from assistant.quotes.lookup import lookup_in_store

    if not text.strip():
        await cl.Message(content=CATALOGUE[lang]["lookup_empty"].format(command=LOOKUP_COMMAND[lang])).send()
        return
    try:
        result = await cl.make_async(lambda: lookup_in_store(text, ENGINE.store()))()
    except Exception as error:
        await cl.Message(content=_failure_markdown(error, lang, "lookup")).send()
        return
    content, panels = view.lookup_markdown(result, lang)
    await cl.Message(content=content, elements=_elements(panels)).send()


# --------------------------------------------------------------------------------------------------------------
# Helpers


def _failure_markdown(error: Exception, language: Language, what: str) -> str:
    """A failure as one chat message. An expected one (no store, LLM down, reply cut off) is said in the user's words
    and logged without a traceback; anything else is a bug, logged with it."""
    if isinstance(error, USER_ERRORS):
        log.warning("no %s: %s", what, error)
    else:
        log.exception("%s failed", what)
    return view.error_markdown(view.failure_reason(error, language), language)


def _elements(panels: list[SidePanel]) -> list[cl.Text]:
    return [cl.Text(name=panel.name, content=panel.content, display="side") for panel in panels]


def _ui_language() -> Language:
    """The browser's language (its first Accept-Language), as fr or en."""
    return view.ui_language(getattr(cl.context.session, "language", None))


async def _in_thread(produce: Callable[[], Iterator[Any]]) -> Any:
    """Run a blocking generator in a worker thread and yield its items here as they come (errors re-raised)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def work() -> None:
        try:
            for item in produce():
                loop.call_soon_threadsafe(queue.put_nowait, item)
        except BaseException as error:
            loop.call_soon_threadsafe(queue.put_nowait, _Failure(error))
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _DONE)

    threading.Thread(target=work, name="answer", daemon=True).start()
    while True:
        item = await queue.get()
        if item is _DONE:
            return
        if isinstance(item, _Failure):
            raise item.error
        yield item


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
