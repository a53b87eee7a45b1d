"""Ingest throughput: the seed alone, then a synthetic corpus of 50 articles, into throwaway stores.

    .venv/bin/python bench/ingest_throughput.py [--articles 50] [--threads 1]

The corpus is generated in a temporary directory (never committed) from the seed's sentences, recombined at
random into articles of about the seed's size, so the embedder sees realistic French text. Prints one row per run:
documents, passages, wall seconds, passages/s for the whole ingest and for embedding alone, and the process's
peak RSS so far (``getrusage``; it only grows, so the corpus row includes the model loaded for the seed).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.settings import Settings  # noqa: E402
from ingest.embedding import make_embedder  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from ingest.splitting import sentence_spans  # noqa: E402
from ingest.store import open_store  # noqa: E402

SEED = REPO / "seeds" / "mali-wagner-tinzaouatene.txt"


def make_corpus(directory: Path, articles: int, rng: random.Random) -> None:
    """Write ``articles`` synthetic articles: a title, 3 sections of 2-3 paragraphs of 2-4 seed sentences."""
    text = SEED.read_text(encoding="utf-8")
    sentences = [text[s:e] for s, e in sentence_spans(text, 0, len(text)) if "\n" not in text[s:e]]
    for index in range(articles):
        lines = [f"Dépêche numéro {index} : le nord du Mali en questions"]
        for section in range(3):
            lines.append(f"Partie {section + 1} du récit")
            lines.extend(" ".join(rng.sample(sentences, rng.randint(2, 4))) for _ in range(rng.randint(2, 3)))
        (directory / f"depeche-{index:03d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(label: str, paths: list[Path], settings: Settings) -> None:
    """Ingest ``paths`` into ``settings.store_dir`` and print one row of figures."""
    embedder = make_embedder(settings)
    embed_seconds = 0.0
    original = embedder.embed_documents

    def timed(texts: list[str]) -> list[list[float]]:
        nonlocal embed_seconds
        started = time.perf_counter()
        try:
            return original(texts)
        finally:
            embed_seconds += time.perf_counter() - started

    embedder.embed_documents = timed  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        run_ingest(paths, settings=settings)
        seconds = time.perf_counter() - started
    finally:
        del embedder.embed_documents
    with open_store(settings, embedder, create=False) as store:
        documents, passages = len(store.articles()), store.count()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    embedded = f"{passages / embed_seconds:.1f}" if embed_seconds else "-"
    print(
        f"| {label:<22} | {documents:>9} | {passages:>8} | {seconds:>7.1f} | {passages / seconds:>10.1f} "
        f"| {embedded:>10} | {peak_mb:>11.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=50, help="synthetic articles to generate (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="embedding threads (default 1)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the synthetic corpus")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir()
        make_corpus(corpus, args.articles, random.Random(args.seed))
        base = Settings(_env_file=None, embed_threads=args.threads)  # type: ignore[call-arg]
        print(f"embedder {base.embedder}, {args.threads} thread(s), chunk_size {base.chunk_size}")
        print("| run                    | documents | passages | seconds | passages/s | embedded/s | peak RSS MB |")
        print("|------------------------|-----------|----------|---------|------------|------------|-------------|")
        run("seed (cold)", [SEED], base.model_copy(update={"store_dir": root / "seed-store"}))
        run("seed (warm, new store)", [SEED], base.model_copy(update={"store_dir": root / "seed-store-2"}))
        run(f"synthetic x{args.articles}", [corpus], base.model_copy(update={"store_dir": root / "corpus-store"}))
        again = base.model_copy(update={"store_dir": root / "corpus-store"})
        run(f"synthetic x{args.articles} again", [corpus], again)
    return 0


if __name__ == "__main__":
    sys.exit(main())
