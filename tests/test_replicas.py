"""Two ``assistant serve`` replicas behind one ``chroma run`` server and one OpenAI-compatible LLM server.

The deployment the README describes for more than one machine, on loopback: the store in a Chroma server, the
LLM behind a URL (here ``python -m llama_cpp.server`` with the small SmolLM2 model; vLLM in production), and two
app processes configured by environment alone. Each replica is driven by a real chat client
(``bench/chat_client.py``: the Socket.IO exchange of the Chainlit frontend). Shown: both answer from the same
store, an article ingested while they run is visible to both, for a lookup and for a question, without a
restart, and stopping one replica leaves the other working.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import free_port, wait_http

from assistant.text.catalogue import CATALOGUE as LABELS

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from benchlib import stop_app  # noqa: E402
from chat_client import ChatSession, Reply  # noqa: E402

pytestmark = pytest.mark.slow

GAO = """Le conseil municipal de Gao vote le budget du marché

Le conseil municipal de Gao a voté mardi un budget pour réparer le marché central. Les commerçants attendaient \
ces travaux depuis l'incendie de l'an dernier.
"""
GAO_TITLE = "Le conseil municipal de Gao vote le budget du marché"
SEED_TITLE_START = "Au Mali, la Russie vient de subir une grosse perte"
MODEL_ALIAS = "smollm2-135m"


@dataclass
class Cluster:
    """The replicas' URLs and processes, the environment they share, and the working directory."""

    urls: list[str]
    replicas: list[subprocess.Popen[bytes]]
    env: dict[str, str]
    work: Path


@contextlib.contextmanager
def _process(
    command: list[str], ready_url: str, work: Path, name: str, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """A server subprocess in its own directory and process group, ready once ``ready_url`` answers; stopped after."""
    cwd = work / name
    cwd.mkdir()
    log = work / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        wait_http(ready_url, process, log)
        yield process
    finally:
        stop_app(process)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    child_env: Callable[..., dict[str, str]],
    smollm_path: Path,
    seed_path: Path,
) -> Iterator[Cluster]:
    """One Chroma server holding the seed, one LLM server, two app replicas."""
    work = tmp_path_factory.mktemp("replicas")
    chroma_port, llm_port = free_port(), free_port()
    env = child_env(
        ASSISTANT_CHROMA_HOST="127.0.0.1", ASSISTANT_CHROMA_PORT=str(chroma_port),
        ASSISTANT_LLM_BASE_URL=f"http://127.0.0.1:{llm_port}/v1", ASSISTANT_LLM_MODEL=MODEL_ALIAS,
        ASSISTANT_LLM_JSON_MODE="json_object", ASSISTANT_LLM_TIMEOUT="300", ASSISTANT_CACHE_DIR=str(work / "cache"),
    )  # fmt: skip
    chroma = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(work / "chroma"),
              "--host", "127.0.0.1", "--port", str(chroma_port)]  # fmt: skip
    llm = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm_path), "--host", "127.0.0.1",
           "--port", str(llm_port), "--n_ctx", "4096", "--n_threads", "1", "--model_alias", MODEL_ALIAS]  # fmt: skip
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        stack.enter_context(_process(chroma, f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", work, "chroma", env))
        stack.enter_context(_process(llm, f"http://127.0.0.1:{llm_port}/v1/models", work, "llm", env))
        _ingest([seed_path], env, work)
        replicas = [
            stack.enter_context(_process([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                                         f"http://127.0.0.1:{port}/", work, f"replica{n}", env))
            for n, port in enumerate(ports)
        ]  # fmt: skip
        yield Cluster([f"http://127.0.0.1:{port}" for port in ports], replicas, env, work)


def _ingest(paths: list[Path], env: dict[str, str], work: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", *map(str, paths)], env=env, cwd=work,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr


def _ask(url: str, question: str, language: str = "fr-FR") -> Reply:
    async def run() -> Reply:
        session = ChatSession(url, language)
        await session.connect()
        try:
            return await session.ask(question, timeout=300)
        finally:
            await session.close()

    return asyncio.run(run())


def _retrieved(reply: Reply) -> str:
    """The retrieval step's text: the passages the answer was made from, each after its article's title."""
    names = {labels["retrieve"] for labels in LABELS.values()}
    return _unescaped("\n".join(output for name, output in reply.steps.items() if name in names))


def _unescaped(markdown: str) -> str:
    """Shown text without the backslashes the chat puts before every punctuation character."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_both_replicas_answer_from_the_same_store(cluster: Cluster) -> None:
    for url in cluster.urls:
        reply = _ask(url, "Qui a revendiqué une « victoire éclatante » ?")
        assert reply.error is None, reply.error
        assert reply.content.strip()
        assert SEED_TITLE_START in _retrieved(reply), reply.steps


def test_an_ingest_while_they_run_is_seen_by_both(cluster: Cluster) -> None:
    article = cluster.work / "gao.txt"
    article.write_text(GAO, encoding="utf-8")
    _ingest([article], cluster.env, cluster.work)
    for url in cluster.urls:
        lookup = _ask(url, "/lookup Le conseil municipal de Gao a voté mardi un budget pour réparer le marché central.")
        assert lookup.error is None, lookup.error
        assert GAO_TITLE in lookup.content, lookup.content
        reply = _ask(url, "Qu'a voté le conseil municipal de Gao ?")
        assert reply.error is None, reply.error
        assert GAO_TITLE in _retrieved(reply), reply.steps


def test_a_replica_stopping_does_not_break_the_other(cluster: Cluster) -> None:
    """Each replica keeps Chainlit's session files in a directory of its own, so a clean stop of one (which deletes
    its files directory) leaves the other answering with its sources attached."""
    stop_app(cluster.replicas[0])
    assert cluster.replicas[0].returncode == 0
    lookup = _ask(cluster.urls[1], "/lookup Les séparatistes maliens ont revendiqué une victoire éclatante")
    assert lookup.error is None, lookup.error
    assert SEED_TITLE_START in _unescaped(lookup.content), lookup.content
    assert lookup.elements, "the lookup's source panel was not attached"
