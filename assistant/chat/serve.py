"""``assistant serve``: run the Chainlit app headless on ``settings.host:settings.port``, from any directory.

Chainlit reads its configuration (``.chainlit/config.toml``, ``.chainlit/translations/``, ``chainlit.md``,
``public/``) from ``CHAINLIT_APP_ROOT``, else from the current directory, and *writes defaults there* when they are
missing; it reads that variable once, when ``chainlit.config`` is first imported. So the variable is set to the
project root, where those files are committed, before Chainlit is imported: nothing is written into the user's
directory, and the configuration used is always the reviewed one.

Chainlit keeps each chat's elements (the source panels) as files under ``<app root>/.files/`` and deletes that whole
folder when it shuts down, so stopping one ``assistant serve`` would delete the files of every other one running
from the same checkout (a replica, a test, a benchmark) and their next answers would fail. Each process therefore
gets a private temporary directory instead (:func:`private_files_directory`), which Chainlit's own shutdown removes.

Before Chainlit starts, ``serve`` also creates the chat-history tables (Chainlit's data layer does not) and, with
sign-in on, gives Chainlit its cookie-signing secret; both the history file and the secret live beside the store.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

from assistant.chat import auth
from assistant.errors import UserError
from assistant.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APP_FILE = Path(__file__).resolve().parent / "app.py"
#: Environment variables that would make Chainlit send the conversations to a hosted service.
_CLOUD_VARIABLES = ("LITERAL_API_KEY", "LITERAL_API_URL")


def chainlit_environment(settings: Settings, root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The variables Chainlit must see before its first import: app root, host and port."""
    return {
        "CHAINLIT_APP_ROOT": str(root),
        "CHAINLIT_HOST": settings.host,
        "CHAINLIT_PORT": str(settings.port),
    }


def prepare_sign_in(settings: Settings) -> str:
    """Check the sign-in settings and give Chainlit its cookie-signing secret; says who the users are.

    Chainlit refuses to start with a sign-in callback and no ``CHAINLIT_AUTH_SECRET``, and there always is one (with
    sign-in off, each browser signs in as itself: see :mod:`assistant.chat.identity`). A secret already in the
    environment is kept, else one is generated once and kept beside the store (see
    :func:`assistant.chat.auth.ensure_secret`), so browsers and users keep their chats across restarts.
    """
    users = auth.password_users(settings)
    header = auth.header_name(settings)
    if not os.environ.get(auth.SECRET_VARIABLE):
        os.environ[auth.SECRET_VARIABLE] = auth.ensure_secret(auth.secret_path(settings))
    if not users and header is None:
        return "off (each browser is its own user: its chats are listed and survive a reload)"
    kinds = [f"password ({len(users)} user{'s' if len(users) != 1 else ''})"] if users else []
    kinds += [f"header {header}"] if header else []
    return " and ".join(kinds)


def check_root(root: Path = PROJECT_ROOT) -> None:
    """Refuse to start without the committed configuration (Chainlit would write its defaults instead)."""
    missing = [
        name for name in (".chainlit/config.toml", ".chainlit/translations/en-US.json", "chainlit.md")
        if not (root / name).is_file()
    ]
    if missing:
        raise UserError(
            f"the chat configuration is missing from {root} ({', '.join(missing)}); "
            "run `assistant serve` from a complete checkout of the project"
        )


def private_files_directory() -> Path:
    """Point Chainlit's per-session file storage at a new directory of this process's own; returns it.

    Chainlit reads ``FILES_DIRECTORY`` from ``chainlit.config`` when a session stores a file (``session.files_dir``)
    and from its own import in ``chainlit.server`` when it deletes the folder on shutdown: both must be replaced,
    before the server starts.
    """
    import chainlit.config
    import chainlit.server

    directory = Path(tempfile.mkdtemp(prefix="assistant-serve-files-"))
    chainlit.config.FILES_DIRECTORY = directory
    chainlit.server.FILES_DIRECTORY = directory
    return directory


def ready_line(settings: Settings, program: str | None = None) -> str:
    """The last line before the server's own logs: where the chat is, and how to add one's own article."""
    command = _command_path(program if program is not None else sys.argv[0])
    return (
        f"Article Assistant: the chat is at http://{settings.host}:{settings.port} ; add your own article by dropping "
        f"it in the chat (.txt, .md, .html, .pdf, or a URL) or with `{command} ingest FILE|URL`. Ctrl+C stops."
    )


def _command_path(program: str) -> str:
    """The ``assistant`` command as the user can type it from here (``.venv/bin/assistant`` after ``make run``)."""
    path = Path(program)
    if path.name != "assistant" or not path.is_file():
        return "assistant"
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def serve(settings: Settings) -> int:
    """Start the chat server in the foreground until interrupted; returns the exit status."""
    check_root()
    if "chainlit.config" in sys.modules:
        from chainlit.config import config

        if Path(config.root).resolve() != PROJECT_ROOT:
            raise UserError("Chainlit was already imported with another app root; run `assistant serve` alone")
    os.environ.update(chainlit_environment(settings))
    for name in _CLOUD_VARIABLES:
        os.environ.pop(name, None)
    sign_in = prepare_sign_in(settings)

    from chainlit.cli import run_chainlit
    from chainlit.config import config

    from assistant.chat import history

    url = history.history_url(settings)
    asyncio.run(history.create_schema(url))
    config.run.headless = True
    print(f"Chat history: {history.shown_url(url)}; sign-in: {sign_in}", file=sys.stderr, flush=True)
    print(ready_line(settings), file=sys.stderr, flush=True)
    files = private_files_directory()
    try:
        run_chainlit(str(APP_FILE))
    finally:  # reached only when Chainlit fails to start: a clean shutdown removes the directory and exits at once
        shutil.rmtree(files, ignore_errors=True)
    return 0
