"""Latency of the embedded LLM server: cold vs warm (prompt cache), and the effect of the prompt layout.

For each layout a fresh server is started, then questions are sent one after the other, streamed, and the time to
first token and the total time are measured from the client:

* ``article-first``: system prompt = instructions + article (byte-identical across questions), question last;
* ``question-first``: the question comes before the article, so nothing after the first few tokens is shared.

``--interleave`` sends a short unrelated request (like a question rewrite) between the questions, to show what
the server's RAM prompt cache (``--cache``) buys; ``--no-ram-cache`` starts the server without it.

Usage (from the repository root; the first run assembles the bundled model, ~4 s)::

    .venv/bin/python bench/llm_latency.py                      # bundled Qwen 1.5B, 1 thread
    .venv/bin/python bench/llm_latency.py --model path.gguf --threads 2 --max-tokens 64 --interleave
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.llm.client import make_client  # noqa: E402
from assistant.llm.endpoint import llm_endpoint  # noqa: E402
from assistant.llm.local_server import LocalLLMServer  # noqa: E402
from assistant.settings import Settings  # noqa: E402

QUESTIONS = [
    "Qui a revendiqué une « victoire éclatante » ?",
    "Who signed the communiqué of the separatists?",
    "Que sont devenus les rares survivants des FAMa et de Wagner ?",
]
INSTRUCTIONS = "Tu réponds à des questions sur l'article ci-dessous, en une phrase, dans la langue de la question."
REWRITE = [
    {"role": "system", "content": "Rewrite the user's question so that it stands alone. Reply with the question."},
    {"role": "user", "content": "And who signed it?"},
]


def build_messages(layout: str, article: str, question: str) -> list[dict[str, str]]:
    """The two layouts compared: the stable article prefix first, or the question first."""
    if layout == "article-first":
        return [
            {"role": "system", "content": f"{INSTRUCTIONS}\n\nARTICLE:\n{article}"},
            {"role": "user", "content": question},
        ]
    return [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": f"QUESTION: {question}\n\nARTICLE:\n{article}"},
    ]


def timed_stream(client, model: str, messages, max_tokens: int) -> tuple[float, float, int, str]:
    """(seconds to first token, total seconds, pieces received, text) for one streamed request."""
    started = time.perf_counter()
    first = None
    pieces: list[str] = []
    stream = client.chat.completions.create(
        model=model, messages=messages, temperature=0, max_tokens=max_tokens, stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if first is None:
                first = time.perf_counter() - started
            pieces.append(chunk.choices[0].delta.content)
    total = time.perf_counter() - started
    return (first if first is not None else total), total, len(pieces), "".join(pieces)


def run(args: argparse.Namespace) -> int:
    article = Path(args.article).read_text(encoding="utf-8")
    overrides: dict[str, object] = {"local_llm_threads": args.threads, "llm_timeout": 600.0, "llm_base_url": None}
    if args.model:
        overrides["local_model_path"] = Path(args.model)
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if args.no_ram_cache:
        original = LocalLLMServer.command

        def command(self: LocalLLMServer, port: int) -> list[str]:
            flags = original(self, port)
            at = flags.index("--cache")
            return [*flags[:at], "--cache", "False", *flags[at + 6 :]]

        LocalLLMServer.command = command  # type: ignore[method-assign]

    rows: list[tuple[str, str, int, float, float, int]] = []
    for layout in args.layouts:
        started = time.perf_counter()
        with llm_endpoint(settings) as endpoint:
            load = time.perf_counter() - started
            print(f"[{layout}] server ready in {load:.1f} s at {endpoint.base_url}", file=sys.stderr)
            client = make_client(endpoint, settings)
            for round_no in range(args.rounds):
                for n, question in enumerate(QUESTIONS[: args.questions], start=1):
                    if args.interleave and (round_no or n > 1):
                        timed_stream(client, endpoint.model, REWRITE, 24)
                    first, total, pieces, text = timed_stream(
                        client, endpoint.model, build_messages(layout, article, question), args.max_tokens
                    )
                    state = "cold" if round_no == 0 and n == 1 else "warm"
                    rows.append((layout, state, n, first, total, pieces))
                    print(f"  q{n} {state}: {first:.2f} s / {total:.2f} s  {text[:80]!r}", file=sys.stderr)

    print(f"\nthreads={args.threads} max_tokens={args.max_tokens} interleave={args.interleave} "
          f"ram_cache={not args.no_ram_cache} article={len(article)} chars")  # fmt: skip
    print(f"{'layout':<15} {'state':<5} {'q':>2} {'first token s':>13} {'total s':>8} {'pieces':>6}")
    for layout, state, n, first, total, pieces in rows:
        print(f"{layout:<15} {state:<5} {n:>2} {first:>13.2f} {total:>8.2f} {pieces:>6}")
    for layout in args.layouts:
        warm = [r[3] for r in rows if r[0] == layout and r[1] == "warm"]
        if warm:
            print(f"{layout}: median warm first token {statistics.median(warm):.2f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="GGUF file (default: the bundled Qwen 1.5B, assembled on first use)")
    parser.add_argument("--article", default=str(ROOT / "seeds" / "mali-wagner-tinzaouatene.txt"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--questions", type=int, default=2, choices=range(1, len(QUESTIONS) + 1))
    parser.add_argument("--rounds", type=int, default=1, help="times the question list is repeated")
    parser.add_argument("--layouts", nargs="+", default=["article-first", "question-first"])
    parser.add_argument("--interleave", action="store_true", help="send a rewrite-like request between questions")
    parser.add_argument("--no-ram-cache", action="store_true", help="start the server without --cache")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
