"""Chat history: Chainlit's SQLAlchemy data layer on SQLite by default, its schema, and resuming a chat.

Chainlit's ``SQLAlchemyDataLayer`` reads and writes five tables but never creates them, so :func:`create_schema`
does, idempotently, before the server starts (``assistant serve``). The default database is a SQLite file beside
the store directory, so the history follows the articles it talks about; ``ASSISTANT_HISTORY_URL`` points it at any
SQLAlchemy URL with an async driver (Chainlit's queries are written for SQLite and PostgreSQL).

A resumed chat must answer follow-ups as if it had never stopped. The follow-up context (the earlier questions and
the plain answers, before escaping and markers) is written into each answer's metadata when it is sent, so
:func:`resumed_state` rebuilds it from the stored messages alone: nothing
depends on Chainlit persisting the session at disconnect, which a killed server never does.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainlit.context import ChainlitContextException, context
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient
from chainlit.types import ThreadDict
from chainlit.user_session import user_session
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from assistant.answer.answers import Turn
from assistant.chat.view import ui_language
from assistant.errors import UserError
from assistant.settings import Settings
from assistant.text.catalogue import CATALOGUE

HISTORY_FILE = "chat-history.db"
#: Metadata key of an answer: the exchange it completes.
TURN_META = "turn"
#: The chat's flag that it was told its history could not be written.
_WARNED_KEY = "history_not_saved"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    "id" {uuid} PRIMARY KEY,
    "identifier" TEXT NOT NULL UNIQUE,
    "metadata" {json} NOT NULL,
    "createdAt" TEXT
);
CREATE TABLE IF NOT EXISTS threads (
    "id" {uuid} PRIMARY KEY,
    "createdAt" TEXT,
    "name" TEXT,
    "userId" {uuid},
    "userIdentifier" TEXT,
    "tags" {array},
    "metadata" {json},
    FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS steps (
    "id" {uuid} PRIMARY KEY,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "threadId" {uuid} NOT NULL,
    "parentId" {uuid},
    "streaming" BOOLEAN NOT NULL,
    "waitForAnswer" BOOLEAN,
    "isError" BOOLEAN,
    "metadata" {json},
    "tags" {array},
    "input" TEXT,
    "output" TEXT,
    "createdAt" TEXT,
    "command" TEXT,
    "modes" {json},
    "start" TEXT,
    "end" TEXT,
    "generation" {json},
    "showInput" TEXT,
    "language" TEXT,
    "indent" INT,
    "defaultOpen" BOOLEAN,
    "autoCollapse" BOOLEAN,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS steps_thread ON steps ("threadId");
CREATE TABLE IF NOT EXISTS elements (
    "id" {uuid} PRIMARY KEY,
    "threadId" {uuid},
    "type" TEXT,
    "url" TEXT,
    "chainlitKey" TEXT,
    "name" TEXT NOT NULL,
    "display" TEXT,
    "objectKey" TEXT,
    "size" TEXT,
    "page" INT,
    "language" TEXT,
    "forId" {uuid},
    "mime" TEXT,
    "props" {json},
    "autoPlay" BOOLEAN,
    "playerConfig" {json},
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS elements_thread ON elements ("threadId");
CREATE TABLE IF NOT EXISTS feedbacks (
    "id" {uuid} PRIMARY KEY,
    "forId" {uuid} NOT NULL,
    "threadId" {uuid} NOT NULL,
    "value" INT NOT NULL,
    "comment" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
"""
#: Column types per dialect: PostgreSQL's native ones (what Chainlit's documented schema uses), text elsewhere.
_TYPES = {
    "postgresql": {"uuid": "UUID", "json": "JSONB", "array": "TEXT[]"},
    "default": {"uuid": "TEXT", "json": "TEXT", "array": "TEXT"},
}


@dataclass(frozen=True)
class ResumedState:
    """What a resumed chat needs to go on: its follow-up history, and the id of the message of each exchange (to give
    it its regenerate button again)."""

    history: list[Turn]
    message_ids: list[str]


def history_url(settings: Settings) -> str:
    """The database URL: the setting, else a SQLite file beside the store directory (async driver)."""
    if settings.history_url is not None:
        return settings.history_url.get_secret_value()
    path = settings.beside_store(HISTORY_FILE)
    return f"sqlite+aiosqlite:///{path}"


def shown_url(url: str) -> str:
    """The URL as it may be printed: its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def schema_statements(dialect: str) -> list[str]:
    """The idempotent DDL for a dialect, one statement each (drivers run one statement per call)."""
    ddl = _SCHEMA.format(**_TYPES.get(dialect, _TYPES["default"]))
    return [statement.strip() for statement in ddl.split(";") if statement.strip()]


async def create_schema(url: str) -> None:
    """Create the history tables if they are missing; a clear error if the database cannot be opened."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise UserError("ASSISTANT_HISTORY_URL is not a valid SQLAlchemy URL") from error
    try:
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserError(f"cannot open the chat-history database {shown_url(url)} ({reason})") from error
    try:
        engine = create_async_engine(url)
    except Exception as error:  # a sync-only or missing driver
        raise UserError(
            f"cannot use the chat-history database {shown_url(url)} ({type(error).__name__}: {error}); "
            "the URL needs an installed async driver, e.g. sqlite+aiosqlite:// or postgresql+asyncpg://"
        ) from error
    try:
        async with engine.begin() as connection:
            for statement in schema_statements(engine.dialect.name):
                await connection.execute(text(statement))
    except (SQLAlchemyError, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise UserError(
            f"cannot open the chat-history database {shown_url(url)} ({reason}){_what_to_do(reason, parsed.database)}"
        ) from error
    finally:
        await engine.dispose()


def _what_to_do(reason: str, database: str | None) -> str:
    """The way out of a damaged or busy SQLite history, said after the error; the file is never touched here."""
    if "not a database" in reason or "malformed" in reason:
        return (f"; move {database} aside (it is kept as it is) and start again: a new, empty history is created, "
                "or set ASSISTANT_HISTORY_URL to another database")
    if "locked" in reason:
        return "; another program is writing to it: close it (or wait for it to finish) and start again"
    return ""


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600): it holds every user's questions and answers.

    SQLite gives its journal files the database file's permissions, so they are private too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class InlineStorage(BaseStorageClient):
    """Keeps an element's content in its own row, as a ``data:`` URL, instead of in a blob store.

    The app's elements are citation panels of a few hundred characters: storing them beside the messages means a
    resumed chat shows its sources with no file store to run, and they are readable exactly by whoever may read
    the thread (they travel inside it). ``object_key`` stays empty so Chainlit never asks for a read URL.
    """

    async def upload_file(
        self,
        object_key: str,
        data: bytes | str,
        mime: str = "application/octet-stream",
        overwrite: bool = True,
        content_disposition: str | None = None,
    ) -> dict[str, Any]:
        """The element's content as a base64 ``data:`` URL (text is UTF-8)."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        charset = ";charset=utf-8" if mime.startswith("text/") else ""
        return {"object_key": None, "url": f"data:{mime}{charset};base64,{base64.b64encode(raw).decode('ascii')}"}

    async def delete_file(self, object_key: str) -> bool:
        """Nothing to delete: the content goes with the element's row."""
        return True

    async def get_read_url(self, object_key: str) -> str:
        """Never needed (no object keys are handed out); the key itself is returned."""
        return object_key

    async def close(self) -> None:
        """No connection to close."""


class HistoryDataLayer(SQLAlchemyDataLayer):
    """Chainlit's SQLAlchemy data layer, made safe and SQLite-friendly.

    * Thread ids must be UUIDs. A browser may propose the id of the thread it opens; Chainlit would store an unknown
      one as a new thread and later splice it, unescaped, into a listing query. Refusing other ids keeps that
      query's input to UUIDs only.
    * SQLite cannot bind lists or dicts (message tags, modes, metadata), so they are stored as JSON text there and
      read back as lists and dicts.
    * A statement that fails (the database locked by another program past SQLite's wait, or damaged) is only logged
      by Chainlit, and the chat goes on unsaved without a word; the reader is told, once per chat (see
      :func:`_warn_not_saved`).
    """

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Create or update a thread, if its id is a UUID."""
        if not is_uuid(thread_id):
            raise ValueError("refusing a thread id that is not a UUID")
        await super().update_thread(thread_id, name=name, user_id=user_id, metadata=metadata, tags=tags)

    async def execute_sql(self, query: str, parameters: dict[str, Any]) -> list[dict[str, Any]] | int | None:
        """Run a statement; on SQLite, lists and dicts are bound as JSON text."""
        if self.engine.dialect.name == "sqlite":
            parameters = {
                key: json.dumps(value) if isinstance(value, list | dict) else value
                for key, value in parameters.items()
            }
        result = await super().execute_sql(query, parameters)
        if result is None:  # Chainlit's answer for a failed statement (a write gives its row count, a read a list)
            await _warn_not_saved()
        return result

    async def get_all_user_threads(
        self, user_id: str | None = None, thread_id: str | None = None
    ) -> list[ThreadDict] | None:
        """Threads as Chainlit reads them, with the JSON text SQLite hands back turned into lists and dicts."""
        threads = await super().get_all_user_threads(user_id=user_id, thread_id=thread_id)
        for thread in threads or []:
            _decode(thread, ("tags", "metadata"))
            for step in thread["steps"]:
                _decode(step, ("tags", "metadata", "generation"))
        return threads


async def _warn_not_saved() -> None:
    """Tell the reader of the chat under way, in the page's language and once per chat, that the history could not
    be written: the chat goes on, but a reload may not find what follows."""
    try:
        session = context.session
    except ChainlitContextException:  # a request without a chat (a listing): the page has no chat to tell
        return
    if user_session.get(_WARNED_KEY):
        return
    user_session.set(_WARNED_KEY, True)
    message = CATALOGUE[ui_language(getattr(session, "language", None))]["history_not_saved"]
    with contextlib.suppress(Exception):  # the socket may be gone: nothing more to tell
        await context.emitter.send_toast(message, "warning")


def data_layer(settings: Settings) -> HistoryDataLayer:
    """The data layer over the configured database (its schema is created by :func:`create_schema`)."""
    return HistoryDataLayer(conninfo=history_url(settings), storage_provider=InlineStorage())


def is_uuid(value: str) -> bool:
    """Whether ``value`` is a UUID in its canonical text form."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False


def turn_metadata(turn: Turn) -> dict[str, Any]:
    """The metadata of an answer: the exchange, for follow-ups after a resume."""
    return {TURN_META: {"question": turn.question, "answer": turn.answer}}


def resumed_state(steps: Iterable[Mapping[str, Any]]) -> ResumedState:
    """The follow-up history of a stored chat and its answers' message ids, from its messages' metadata, in order."""
    history: list[Turn] = []
    message_ids: list[str] = []
    for step in sorted(steps, key=lambda s: str(s.get("createdAt") or "")):
        if step.get("type") != "assistant_message":
            continue
        metadata = _metadata(step.get("metadata"))
        turn = metadata.get(TURN_META)
        if isinstance(turn, dict) and isinstance(turn.get("question"), str) and isinstance(turn.get("answer"), str):
            history.append(Turn(turn["question"], turn["answer"]))
            message_ids.append(str(step.get("id")))
    return ResumedState(history, message_ids)


def _decode(row: Any, keys: tuple[str, ...]) -> None:
    """Replace JSON text under ``keys`` by its value (rows from other databases already hold values)."""
    for key in keys:
        value = row.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                row[key] = json.loads(value)
            except json.JSONDecodeError:
                continue


def _metadata(raw: object) -> dict[str, Any]:
    """A step's metadata as a dict: SQLite hands it back as JSON text."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return {}
    return raw if isinstance(raw, dict) else {}
