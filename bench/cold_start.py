"""App cold start: from launching ``assistant serve`` to the first answer, with and without a saved prompt state.

    .venv/bin/python bench/cold_start.py [--repeat 2] [--local-model SmolLM.gguf | --llm-base-url URL]

Ingests seeds/ into a temporary store once, then launches ``assistant serve`` on a free port several times. Each
launch, a headless chat user (``bench/chat_client.py``) opens the page as soon as it is served, connects and asks
the first dev question; the clock starts at the launch. Two cases:

* **first start**: the embedded server's saved prompt states are removed first, as on the first start after a
  new set of articles: the server reads the instructions and articles (the chat's warm-up does it at start) and
  the question waits for that;
* **restart**: the state saved by the previous launch is there, as on every later start.

The bench removes the saved prompt states of the configured model (under ``ASSISTANT_CACHE_DIR``) for the first
case; they are a cache, written again by that launch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, default_out, fmt, forget_prompt_states, free_port, print_table, stop_app, write_results
from chat_client import ChatSession
from concurrency import child_env, model_name, wait_http

from assistant.evaluation import load_cases
from assistant.settings import Settings

DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


def app_settings(env: dict[str, str]) -> Settings:
    """The settings the launched app reads from ``env`` (its ``ASSISTANT_*`` variables)."""
    prefix = "ASSISTANT_"
    return Settings(**{key[len(prefix) :].lower(): value for key, value in env.items() if key.startswith(prefix)})


async def first_answer(url: str, question: str, timeout: float) -> tuple[float, float | None, str]:
    """Connect and ask; seconds from sending to the first token, and the answer's first words (or its error)."""
    session = ChatSession(url)
    try:
        await session.connect(timeout)
        reply = await session.ask(question, timeout)
    finally:
        with contextlib.suppress(Exception):
            await session.close()
    return reply.sent_at, reply.first_token_s, reply.error or reply.content[:70]


def launch(work: Path, env: dict[str, str], question: str, timeout: float) -> dict[str, Any]:
    """One launch of ``assistant serve``: seconds from launch to page, to first token, to full answer."""
    port = free_port()
    cwd = Path(tempfile.mkdtemp(prefix="cwd-", dir=work))
    with (work / "serve.log").open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], env=env, cwd=cwd,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            wait_http(f"http://127.0.0.1:{port}/", process)
            page = time.perf_counter() - started
            sent, first_token, answer = asyncio.run(first_answer(f"http://127.0.0.1:{port}", question, timeout))
            done = time.perf_counter() - started
        finally:
            stop_app(process)
    return {
        "page s": page,
        "first token s": None if first_token is None else sent - started + first_token,
        "answer s": done,
        "answer": answer,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="launches per case")
    parser.add_argument("--local-model", type=Path, default=None, help="another GGUF for the embedded server")
    parser.add_argument("--llm-base-url", default=None, help="an OpenAI-compatible endpoint, not the embedded LLM")
    parser.add_argument("--answer-timeout", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/...)")
    args = parser.parse_args()
    question = load_cases(DEV)[0].question
    with tempfile.TemporaryDirectory(prefix="cold-start-bench-") as tmp:
        work = Path(tmp)
        env = child_env(work, args)
        subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(REPO / "seeds")], env=env, cwd=work,
                       check=True, capture_output=True)  # fmt: skip
        settings = app_settings(env)
        launches: dict[str, list[dict[str, Any]]] = {"first start": [], "restart": []}
        for _ in range(args.repeat):
            forget_prompt_states(settings)
            launches["first start"].append(launch(work, env, question, args.answer_timeout))
            launches["restart"].append(launch(work, env, question, args.answer_timeout))
            for case, runs in launches.items():
                print(f"[{case}] {runs[-1]}", file=sys.stderr)
    rows = [
        {
            "case": case, "launches": str(len(runs)),
            **{f"{key} median": fmt(statistics.median(r[key] for r in runs if r[key] is not None))
               for key in ("page s", "first token s", "answer s")},
            "max answer s": fmt(max(r["answer s"] for r in runs)),
        }
        for case, runs in launches.items()
    ]  # fmt: skip
    print_table(f"cold start of assistant serve to the first answer ({model_name(env)}): {question!r}", rows)
    write_results(args.out or default_out("cold_start"), {"question": question, "rows": rows, "launches": launches})
    return 0


if __name__ == "__main__":
    sys.exit(main())
