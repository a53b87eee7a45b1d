"""Concurrent chat sessions against a real ``assistant serve`` on loopback: errors, latency, and the queue.

    .venv/bin/python bench/concurrency.py [--sessions 10 20] [--local-model SmolLM.gguf | --llm-base-url URL]

Starts ``assistant serve`` on a free port over a temporary store of seeds/ (the embedded offline LLM unless
``--local-model`` names another GGUF for it or ``--llm-base-url`` an OpenAI-compatible server; other
``ASSISTANT_*`` variables of the environment pass through, e.g. ``ASSISTANT_LLM_JSON_MODE=json_object`` for a
``python -m llama_cpp.server``). One session first asks a question alone (the cold answer, and the single-user
baseline); then for each level N, N Socket.IO clients (``bench/chat_client.py``, the frontend's own exchange)
connect, send one dev question each at the same moment, and wait, bounded by ``--answer-timeout``.

The app answers one question at a time (``assistant/chat/app.py`` holds a lock around the chain, since the embedded
llama.cpp server has one slot), so the sessions queue in the app, not in the LLM server: the table shows the
spacing of completions (the service time of one answer) and how long the last session waited.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchlib import REPO, default_out, fmt, free_port, percentile, print_table, stop_app, write_results
from chat_client import ChatSession, Reply

from assistant.evaluation import load_cases

DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


def child_env(work: Path, args: argparse.Namespace) -> dict[str, str]:
    """The app's environment: a temporary store, the chosen LLM, a generous LLM timeout, quiet OpenMP threads."""
    env = dict(os.environ, ASSISTANT_STORE_DIR=str(work / "store"), ASSISTANT_LLM_TIMEOUT="600",
               OMP_WAIT_POLICY="passive", HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))  # fmt: skip
    if args.local_model:
        env["ASSISTANT_LOCAL_MODEL_PATH"] = str(args.local_model.resolve())
    if args.llm_base_url:
        env["ASSISTANT_LLM_BASE_URL"] = args.llm_base_url
    return env


def model_name(env: dict[str, str]) -> str:
    """Which LLM the app answers with, for the report."""
    if env.get("ASSISTANT_LLM_BASE_URL"):
        return f"{env.get('ASSISTANT_LLM_MODEL', 'qwen2.5-coder-1.5b-instruct')} at {env['ASSISTANT_LLM_BASE_URL']}"
    local = env.get("ASSISTANT_LOCAL_MODEL_PATH")
    return f"embedded llama.cpp, {Path(local).name if local else 'bundled Qwen2.5-Coder-1.5B Q4_K_M'}"


@contextlib.contextmanager
def served(work: Path, env: dict[str, str]) -> Iterator[str]:
    """Ingest seeds/ and run ``assistant serve`` from an empty directory; yields its URL, stops it (SIGINT) after."""
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(REPO / "seeds")], env=env, cwd=work,
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    cwd = work / "cwd"
    cwd.mkdir()
    log = (work / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], env=env,
                               cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_app(process)
        log.close()


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    """Wait until the app serves its page; fail at once if it exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"assistant serve exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"assistant serve did not answer on {url} within {timeout:.0f} s")


async def one_session(url: str, question: str, timeout: float, language: str) -> Reply:
    """Connect, ask one question, close; a failure to connect is recorded as the reply's error."""
    session = ChatSession(url, language)
    try:
        await session.connect()
        return await session.ask(question, timeout)
    except Exception as error:  # a refused or dropped socket is an error of this session, not of the run
        return Reply(question, time.perf_counter(), error=f"{type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(Exception):
            await session.close()


async def level(url: str, questions: list[tuple[str, str]], count: int, timeout: float) -> list[Reply]:
    """``count`` sessions, each asking one question, all at once."""
    picks = [questions[i % len(questions)] for i in range(count)]
    return list(await asyncio.gather(*(one_session(url, q, timeout, lang) for q, lang in picks)))


def summary(label: str, replies: list[Reply], wall: float) -> dict[str, Any]:
    """Errors, p50/p95 of first token and full answer, and the queue as the completions show it."""
    ok = [r for r in replies if r.error is None]
    first = [r.first_token_s for r in ok if r.first_token_s is not None]
    total = [r.total_s for r in ok if r.total_s is not None]
    ends = sorted(total)
    spacing = [b - a for a, b in itertools.pairwise(ends)]
    return {
        "run": label, "sessions": len(replies), "errors": len(replies) - len(ok), "wall s": fmt(wall, 1),
        "first token p50 s": fmt(statistics.median(first) if first else None),
        "first token p95 s": fmt(percentile(first, 95)),
        "answer p50 s": fmt(statistics.median(total) if total else None),
        "answer p95 s": fmt(percentile(total, 95)),
        "completion spacing median s": fmt(statistics.median(spacing) if spacing else None),
        "last waited s": fmt(max(total) if total else None),
    }  # fmt: skip


async def bench(url: str, args: argparse.Namespace, questions: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The cold single answer, then each concurrency level, bounded by ``--answer-timeout`` per level."""
    results = []
    started = time.perf_counter()
    single = await level(url, questions, 1, args.answer_timeout)
    results.append((summary("1 session (cold)", single, time.perf_counter() - started), single))
    for count in args.sessions:
        started = time.perf_counter()
        replies = await level(url, questions, count, args.answer_timeout)
        results.append((summary(f"{count} sessions", replies, time.perf_counter() - started), replies))
        for reply in replies:
            if reply.error:
                print(f"  error: {reply.question[:40]!r}: {reply.error[:200]}", file=sys.stderr)
    return [{"summary": s, "replies": [r.__dict__ for r in rs]} for s, rs in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 20], help="concurrency levels")
    parser.add_argument("--local-model", type=Path, default=None, help="GGUF for the app's embedded LLM server")
    parser.add_argument("--llm-base-url", default=None, help="an OpenAI-compatible server instead")
    parser.add_argument("--answer-timeout", type=float, default=900.0, help="seconds a session waits at most")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/...)")
    args = parser.parse_args()
    questions = [(c.question, "fr-FR" if c.lang == "fr" else "en-US") for c in load_cases(DEV) if c.answerable]
    with tempfile.TemporaryDirectory(prefix="concurrency-bench-") as tmp:
        env = child_env(Path(tmp), args)
        model = model_name(env)
        print(f"LLM: {model}", file=sys.stderr)
        with served(Path(tmp), env) as url:
            results = asyncio.run(bench(url, args, questions))
    print_table(f"concurrent chat sessions on loopback, LLM {model}", [r["summary"] for r in results])
    write_results(args.out or default_out("concurrency"), {"llm": model, "levels": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
