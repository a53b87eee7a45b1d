"""``assistant ingest`` and the chat's uploads: load, split, embed and store articles, all-or-nothing per article.

Order matters for the bad-input guarantee: every file is read (and every URL fetched) and split before the store is
opened, so a bad file in a batch fails the command with nothing written. The store's write lock is taken before the
(slow) embedding starts, so a second writer is refused at once rather than after minutes of work. Articles whose
current version is already stored are skipped without embedding anything, and a passage whose text is already stored
for its article (the previous version's, or one written by an ingest killed before it finished) keeps its vector
instead of being embedded again.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingest.articles import Article, Passage
from ingest.config import IngestConfig
from ingest.embedding import BATCH_SIZE, Embedder, make_embedder
from ingest.errors import CorpusError
from ingest.fetching import is_url
from ingest.loading import check_unique_ids, load_articles, load_url
from ingest.splitting import split_article
from ingest.store import IngestOutcome, open_store

#: Below this many passages to embed, no progress bar (it would flash for a second and clutter the output).
PROGRESS_MIN_PASSAGES = 64


class _Advance(Protocol):
    def __call__(self, done: int) -> None: ...


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did, article by article, for the command line's summary and the chat's reply."""

    results: list[tuple[Article, IngestOutcome]]
    passages: int
    embedded: int
    seconds: float
    location: str

    def summary(self) -> str:
        """One line: documents by outcome, passages, vectors computed, time and store."""
        statuses = Counter(outcome.status for _, outcome in self.results)
        count = len(self.results)
        return (
            f"Ingested {count} document{'s' if count != 1 else ''} ({statuses['new']} new, "
            f"{statuses['replaced']} replaced, {statuses['unchanged']} unchanged), {self.passages} passages "
            f"({self.embedded} embedded) in {self.seconds:.1f} s into {self.location}"
        )


def run_ingest(sources: Sequence[str | Path], config: IngestConfig, *, store_dir: Path | None = None) -> int:
    """Ingest the articles at ``sources`` (files, directories or http(s) URLs); print a one-line summary.

    ``store_dir`` overrides ``config.store_dir`` (the ``--store`` option). Returns the exit status (0); every
    expected failure is raised as :class:`~ingest.errors.CorpusError`.
    """
    started = time.perf_counter()
    articles = load_sources(sources, config)
    report = ingest_articles(articles, config, store_dir=store_dir, started=started)
    print(report.summary())
    return 0


def load_sources(sources: Sequence[str | Path], config: IngestConfig) -> list[Article]:
    """Every article the user named, URLs fetched and files read, before anything is written (all or nothing).

    Two sources with one document id would overwrite each other in the store, so that is an error.
    """
    articles: list[Article] = []
    paths: list[Path] = []
    for source in sources:
        if isinstance(source, str) and is_url(source):
            articles.append(
                load_url(
                    source,
                    max_bytes=config.max_article_bytes,
                    timeout=config.url_timeout,
                    allow_private=config.allow_private_urls,
                )
            )
        else:
            paths.append(Path(source))
    if paths:
        articles.extend(load_articles(paths, max_bytes=config.max_article_bytes))
    check_unique_ids(articles)
    return articles


def ingest_articles(
    articles: Sequence[Article],
    config: IngestConfig,
    *,
    store_dir: Path | None = None,
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
    started: float | None = None,
) -> IngestReport:
    """Split, embed and store loaded articles, each switched in atomically (see the module docstring).

    ``embedder`` reuses one already loaded (the chat keeps one); ``progress(done, total)`` hears about every
    embedded batch, in place of the terminal's progress bar.
    """
    started = time.perf_counter() if started is None else started
    split = [(article, split_article(article, config.chunk_size)) for article in articles]
    for article, passages in split:
        if not passages:
            raise CorpusError(
                f"{article.source}: only headings, no text to index; check that it holds the article", reason="empty"
            )

    results: list[tuple[Article, IngestOutcome]] = []
    # Ingest is a batch job: it embeds with every core, where a question is embedded with one (see embedding.py).
    embedder = embedder if embedder is not None else make_embedder(config, threads=config.ingest_threads)
    with open_store(config, embedder, store_dir=store_dir) as store, store.writing():
        pending: list[tuple[Article, list[Passage]]] = []
        for article, passages in split:
            if store.is_current(article, passages):
                results.append((article, IngestOutcome(article.doc_id, "unchanged", 0, 0)))
            else:
                pending.append((article, passages))
        embedded = 0
        total = sum(len(ps) for _, ps in pending)
        with _progress(total, progress) as advance:
            for article, passages in pending:
                # One article's stored vectors at a time: re-ingesting thousands of edited articles must not hold
                # all their vectors at once.
                known = store.stored_vectors(article.doc_id)
                vectors, fresh = _embed(store.embedder.embed_documents, passages, known, advance)
                embedded += fresh
                results.append((article, store.ingest(article, passages, vectors)))
    return IngestReport(
        results=results,
        passages=sum(len(ps) for _, ps in split),
        embedded=embedded,
        seconds=time.perf_counter() - started,
        location=store.location,
    )


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
def _progress(total: int, report: Callable[[int, int], None] | None = None) -> Iterator[_Advance]:
    """``report`` told of every advance when given; else a rich progress bar on stderr for long, interactive runs,
    and a no-op otherwise (pipes, CI logs, tests)."""
    if report is not None:
        done = 0

        def tell(step: int) -> None:
            nonlocal done
            done += step
            report(done, total)

        yield tell
        return
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
