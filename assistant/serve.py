"""``assistant serve``: run the Chainlit app headless on ``settings.host:settings.port``, from any directory.

Chainlit reads its configuration (``.chainlit/config.toml``, ``.chainlit/translations/``, ``chainlit.md``,
``public/``) from ``CHAINLIT_APP_ROOT``, else from the current directory, and *writes defaults there* when they are
missing; it reads that variable once, when ``chainlit.config`` is first imported. So the variable is set to the
project root, where those files are committed, before Chainlit is imported: nothing is written into the user's
directory, and the configuration used is always the reviewed one. The only thing Chainlit creates at run time is
``.files/`` (its per-session element storage) in the project root, which it deletes on shutdown.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assistant.errors import UserError
from assistant.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
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

    from chainlit.cli import run_chainlit
    from chainlit.config import config

    config.run.headless = True
    print(f"Article Assistant: http://{settings.host}:{settings.port}  (Ctrl+C to stop)", file=sys.stderr, flush=True)
    run_chainlit(str(APP_FILE))
    return 0
