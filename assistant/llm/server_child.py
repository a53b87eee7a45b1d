"""The embedded server's own process: ``python -m assistant.llm.server_child`` runs llama-cpp-python's server.

Started by :class:`assistant.llm.local_server.LocalLLMServer` with the server's flags; before the server starts it
drops the environment variables llama_cpp.server would silently read as its own settings (``PORT``, ``HOST``,
``API_KEY``, ``CONFIG_FILE``, ``N_CTX``...), watches its parent and exits when the parent is gone (even by
SIGKILL), puts the persistent prompt cache (:mod:`assistant.llm.prompt_cache`) behind ``--cache_type ram`` and
installs the grammar-checked greedy sampler (:mod:`assistant.llm.grammar_sampling`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

#: Set by the parent: its pid (the child exits when it is gone) and the directory of saved prompt states.
PARENT_PID_VARIABLE = "_ASSISTANT_PARENT_PID"
STATE_DIR_VARIABLE = "_ASSISTANT_PROMPT_STATE_DIR"
# Environment variables llama_cpp.server reads besides its own settings' field names.
_SERVER_ENV_EXTRA = ("HOST", "PORT", "CONFIG_FILE")


def _scrub_server_environment() -> None:
    """Remove variables llama_cpp.server would take as settings, so only our command line configures it."""
    from llama_cpp.server.settings import Settings as ServerSettings

    names = {name.upper() for name in ServerSettings.model_fields} | set(_SERVER_ENV_EXTRA)
    for key in list(os.environ):
        if key.upper() in names:
            del os.environ[key]


def _watch_parent(parent_pid: int) -> None:
    """Exit when the process that started us is gone (re-parented), whatever killed it."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(1.0)


def _install_persistent_prompt_cache(directory: Path) -> None:
    """Make the server's ``--cache_type ram`` cache the one that also keeps long prefixes on disk.

    llama_cpp.server builds its cache as ``llama_cpp.LlamaRAMCache(capacity_bytes=...)`` and offers no hook to
    choose another class, so the name it looks up is pointed at ours before the server starts.
    """
    import functools

    import llama_cpp

    from assistant.llm.prompt_cache import PersistentPromptCache

    llama_cpp.LlamaRAMCache = functools.partial(PersistentPromptCache, directory=directory)  # type: ignore[misc]


def _child_main(argv: list[str]) -> None:
    import runpy

    parent = os.environ.pop(PARENT_PID_VARIABLE, "")
    state_dir = os.environ.pop(STATE_DIR_VARIABLE, "")
    _scrub_server_environment()
    if state_dir:
        _install_persistent_prompt_cache(Path(state_dir))
    from assistant.llm import grammar_sampling

    grammar_sampling.install()
    if parent.isdigit():
        threading.Thread(target=_watch_parent, args=(int(parent),), daemon=True, name="parent-watch").start()
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
