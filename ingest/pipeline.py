"""``assistant ingest``: load, split, embed and store articles, all-or-nothing per article.

Order matters for the bad-input guarantee: every file is read and split before the store is opened, so a bad
file in a batch fails the command with nothing written. The store's write lock is taken before the (slow)
embedding starts, so a second writer is refused at once rather than after minutes of work. Articles whose
current version is already stored are skipped without embedding anything, and a passage whose text is already
stored for its article (the previous version's, or one written by an ingest killed before it finished) keeps its
vector instead of being embedded again.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from ingest.articles import Article, Passage
from ingest.config import IngestConfig
from ingest.embedding import BATCH_SIZE, make_embedder
from ingest.errors import CorpusError
from ingest.loading import load_articles
from ingest.splitting import split_article
from ingest.store import IngestOutcome, open_store

#: Below this many passages to embed, no progress bar (it would flash for a second and clutter the output).
PROGRESS_MIN_PASSAGES = 64


class _Advance(Protocol):
    def __call__(self, done: int) -> None: ...


def run_ingest(paths: Sequence[Path], config: IngestConfig, *, store_dir: Path | None = None) -> int:
    """Ingest the articles at ``paths`` (files or directories) into the store; print a one-line summary.

    ``store_dir`` overrides ``config.store_dir`` (the ``--store`` option). Returns the exit status (0); every
    expected failure is raised as :class:`~ingest.errors.CorpusError`.
    """
    started = time.perf_counter()
    articles = load_articles(list(paths), max_bytes=config.max_article_bytes)
    split = [(article, split_article(article, config.chunk_size)) for article in articles]
    for article, passages in split:
        if not passages:
            raise CorpusError(f"{article.source}: only headings, no text to index; check that it holds the article")

    outcomes: list[IngestOutcome] = []
    # Ingest is a batch job: it embeds with every core, where a question is embedded with one (see embedding.py).
    embedder = make_embedder(config, threads=config.ingest_threads)
    with open_store(config, embedder, store_dir=store_dir) as store, store.writing():
        pending: list[tuple[Article, list[Passage]]] = []
        for article, passages in split:
            if store.is_current(article, passages):
                outcomes.append(IngestOutcome(article.doc_id, "unchanged", 0, 0))
            else:
                pending.append((article, passages))
        embedded = 0
        with _progress(sum(len(ps) for _, ps in pending)) as advance:
            for article, passages in pending:
                # One article's stored vectors at a time: re-ingesting thousands of edited articles must not hold
                # all their vectors at once.
                known = store.stored_vectors(article.doc_id)
                vectors, fresh = _embed(store.embedder.embed_documents, passages, known, advance)
                embedded += fresh
                outcomes.append(store.ingest(article, passages, vectors))

    statuses = Counter(outcome.status for outcome in outcomes)
    total_passages = sum(len(ps) for _, ps in split)
    elapsed = time.perf_counter() - started
    print(
        f"Ingested {len(articles)} document{'s' if len(articles) != 1 else ''} ({statuses['new']} new, "
        f"{statuses['replaced']} replaced, {statuses['unchanged']} unchanged), {total_passages} passages "
        f"({embedded} embedded) in {elapsed:.1f} s into {store.location}"
    )
    return 0


def _embed(
    embed_documents: Callable[[list[str]], list[list[float]]],
    passages: list[Passage],
    known: dict[str, list[float]],
    advance: _Advance,
) -> tuple[list[list[float]], int]:
    """One vector per passage, ``known`` ones reused and the others embedded in batches (progress, bounded
    memory); and how many texts were embedded. Progress counts passages, reused ones included."""
    texts = list(dict.fromkeys(p.text for p in passages if p.text not in known))
    vectors = dict(known)
    for start in range(0, len(texts), BATCH_SIZE):
        batch = texts[start : start + BATCH_SIZE]
        vectors.update(zip(batch, embed_documents(batch), strict=True))
        advance(len(batch))
    advance(len(passages) - len(texts))
    return [vectors[p.text] for p in passages], len(texts)


@contextmanager
def _progress(total: int) -> Iterator[_Advance]:
    """A rich progress bar on stderr for long, interactive runs; a no-op otherwise (pipes, CI logs, tests)."""
    if total < PROGRESS_MIN_PASSAGES or not sys.stderr.isatty():
        yield lambda done: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("Embedding passages"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("embed", total=total)
        yield lambda done: progress.advance(task, done)

