"""Compare retrieval modes on a question file: hit@1, hit@3 and hit@k by language (and by kind, for the external
set), and milliseconds per query.

    .venv/bin/python bench/retrieval_modes.py ../shared/eval/external-dev/questions.jsonl

Uses the configured store (ASSISTANT_STORE_DIR, ingest the articles first). A hit is a passage holding the gold
sentence, as ``assistant eval`` counts it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assistant.answer.retrieval import HybridRetriever
from assistant.evaluation import answer_sentences, holds_gold, load_cases
from assistant.settings import get_settings
from ingest.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    store = open_store(settings, create=False)
    cases = [c for c in load_cases(args.file) if c.answerable]
    k = settings.top_k
    table = Table(title=f"retrieval on {args.file} ({len(cases)} answerable questions, k={k})")
    for column in ("mode", "questions", "hit@1", "hit@3", f"hit@{k}", "ms/query median"):
        table.add_column(column)
    groups = sorted({(c.kind or "-", c.lang) for c in cases})
    for mode in ("dense", "bm25", "hybrid"):
        retriever = HybridRetriever(store=store, k=k, mode=mode)
        retriever.search("warm-up")
        for kind, lang in groups:
            hits = [0, 0, 0]
            times = []
            subset = [c for c in cases if (c.kind or "-", c.lang) == (kind, lang)]
            for case in subset:
                started = time.perf_counter()
                found = retriever.search(case.question)
                times.append((time.perf_counter() - started) * 1000)
                gold = answer_sentences(case.gold)
                for i, depth in enumerate((1, 3, k)):
                    hits[i] += any(holds_gold(p.text, gold) for p in found[:depth])
            table.add_row(mode, f"{kind}/{lang}", *(f"{h}/{len(subset)}" for h in hits),
                          f"{statistics.median(times):.1f}")  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
