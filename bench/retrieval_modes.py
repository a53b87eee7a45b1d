"""Compare retrieval modes on a question file: hit@1 and hit@3 by language, and milliseconds per query.

    .venv/bin/python bench/retrieval_modes.py ../shared/eval/dev.jsonl [--translate]

Uses the configured store (ASSISTANT_STORE_DIR, ingest the articles first). ``--translate`` adds the
hybrid-translate mode, which needs the LLM (ASSISTANT_LLM_BASE_URL, or the embedded one is started).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assistant.answer.retrieval import HybridRetriever
from assistant.evaluation import holds_gold, load_cases
from assistant.settings import get_settings
from assistant.text.language import detect_language
from ingest.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--translate", action="store_true", help="also measure hybrid-translate (needs the LLM)")
    args = parser.parse_args()
    settings = get_settings()
    store = open_store(settings, create=False)
    cases = [c for c in load_cases(args.file) if c.answerable]
    modes = ["dense", "bm25", "hybrid"] + (["hybrid-translate"] if args.translate else [])
    table = Table(title=f"retrieval on {args.file} ({len(cases)} answerable questions, k={settings.top_k})")
    for column in ("mode", "lang", "hit@1", "hit@3", "ms/query median"):
        table.add_column(column)
    with contextlib.ExitStack() as stack:
        translate = None
        if args.translate:
            from assistant.answer.factory import open_chain

            translate = stack.enter_context(open_chain(settings)).translate
        for mode in modes:
            retriever = HybridRetriever(store=store, k=settings.top_k, mode=mode, translate=translate)
            retriever.search("warm-up")
            for lang in sorted({c.lang for c in cases}):
                hits1 = hits3 = 0
                times = []
                subset = [c for c in cases if c.lang == lang]
                for case in subset:
                    started = time.perf_counter()
                    found = retriever.search(case.question, not_french=detect_language(case.question) != "fr")
                    times.append((time.perf_counter() - started) * 1000)
                    hits1 += holds_gold(found[0].text, case.gold) if found else 0
                    hits3 += any(holds_gold(p.text, case.gold) for p in found[:3])
                table.add_row(mode, lang, f"{hits1}/{len(subset)}", f"{hits3}/{len(subset)}",
                              f"{statistics.median(times):.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
