"""Summaries of every stored article: milliseconds to choose the sentences, how much of the article they span
(quarters of its text holding one), and, given a question file, how many of its answers they hold; against the
article's first sentences and sentences drawn at random, in the same run.

    .venv/bin/python bench/summaries.py [../shared/eval/external-dev/questions.jsonl]

Uses the configured store (ASSISTANT_STORE_DIR). No LLM: a summary is chosen in code (assistant/answer/summary.py).
Neither figure says how well a summary reads: the questions are spread over each article, so "answers held", like
"quarters", measures how much of it a summary spans.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from benchlib import default_out, fmt, percentile, print_table, write_results

from assistant.answer.evidence import Evidence, number_evidence
from assistant.answer.summary import SUMMARY_SENTENCES, passage_vectors, shown_alone, summary_sentences
from assistant.evaluation import Case, load_cases, matches_answer
from assistant.settings import get_settings
from ingest.store import open_store

DRAWS = 30


def held(sentences: list[Evidence], cases: list[Case]) -> int:
    """How many of the cases' answers are in these sentences."""
    text = " ".join(s.text for s in sentences)
    return sum(matches_answer(text, case.answer_any) for case in cases)


def quarters(sentences: list[Evidence], length: int) -> int:
    """How many quarters of an article's text (by characters) hold one of these sentences."""
    return len({min(3, 4 * s.start // max(length, 1)) for s in sentences})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, nargs="?")
    parser.add_argument("--out", type=Path, default=default_out("summaries"))
    args = parser.parse_args()
    store = open_store(get_settings(), create=False)
    cases = [c for c in load_cases(args.questions) if c.answerable] if args.questions else []
    rows, seconds = [], []
    for doc_id in sorted(store.passage_counts()):
        article = store.passages([doc_id])
        started = time.perf_counter()
        chosen = summary_sentences(article, passage_vectors(store, article), store.embedder.embed_documents)
        seconds.append(time.perf_counter() - started)
        length = article[-1].end if article else 0
        mine = [c for c in cases if c.doc_id == doc_id]
        pool = [s for s in number_evidence(article) if shown_alone(s)]
        draws = [random.Random(seed).sample(pool, min(SUMMARY_SENTENCES, len(pool))) for seed in range(DRAWS)]
        first = pool[:SUMMARY_SENTENCES]
        rows.append({
            "article": doc_id, "passages": len(article), "sentences": len(chosen), "ms": fmt(seconds[-1] * 1000, 0),
            "quarters": quarters(chosen, length), "first: quarters": quarters(first, length),
            "random: quarters": round(statistics.mean(quarters(d, length) for d in draws), 1),
            "questions": len(mine), "held": held(chosen, mine), "first: held": held(first, mine),
            "random: held": round(statistics.mean(held(d, mine) for d in draws), 1),
        })  # fmt: skip
    total = {key: round(sum(r[key] for r in rows), 1) for key in rows[0] if key not in ("article", "sentences", "ms")}
    print_table(f"summaries of {len(rows)} articles", rows)
    print_table("all articles", [{
        "ms median": fmt(statistics.median(seconds) * 1000, 0), "ms p95": fmt(percentile(seconds, 95) * 1000, 0),
        **total,
    }])  # fmt: skip
    write_results(args.out, {"articles": rows, "total": total, "ms_median": statistics.median(seconds) * 1000})


if __name__ == "__main__":
    main()
