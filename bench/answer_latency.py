"""Answer latency and quality of the assistant against a naive RAG chain, in the same run, on the same LLM and store.

    .venv/bin/python bench/answer_latency.py [--limit 6] [--llm-base-url URL] [--out bench/results/x.json]

Both chains answer the dev questions one after the other, each on a freshly started LLM endpoint (the embedded
offline Qwen 1.5B unless ``--llm-base-url`` is given), so their first question is *cold* (empty prompt cache:
the embedded server's saved prompt states are removed first; ``bench/cold_start.py`` measures a restart that
keeps them) and the rest are *warm*. Measured from the caller: time to open the chain (store + LLM server
start), time to first answer token and to the full answer. Quality is judged by ``assistant.evaluation.judge`` for both.

The naive chain is what the Chainlit/LangChain cookbook shows: dense top-k from the same store, every retrieved
passage stuffed into one prompt under the classic "use the following pieces of context" instructions, a plain
streamed completion, no verification; its sources are the retrieved passages, shown as they are. It lives here
because it is a yardstick, not product code.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import REPO, default_out, fmt, forget_prompt_states, percentile, print_table, write_results

from assistant.answer.answers import Answer, Citation, Step, Token
from assistant.evaluation import Case, Outcome, Report, judge, load_cases
from assistant.settings import Settings
from assistant.text.language import answer_language

DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"
NAIVE_PROMPT = (
    "Use the following pieces of context to answer the question at the end. If you don't know the answer, just "
    "say that you don't know, don't try to make up an answer.\n\n{context}\n\nQuestion: {question}\nHelpful Answer:"
)
NAIVE_MAX_TOKENS = 256
_DONT_KNOW = re.compile(r"don'?t know|do not know|ne (le )?sais pas|je ne sais|sais pas", re.IGNORECASE)


@dataclass
class Timing:
    """Seconds from the question to: the retrieval done, the first answer token, the full answer; and the steps."""

    retrieved: float
    first: float
    total: float
    steps: list[str]


Answerer = Callable[[str], tuple[Answer, Timing]]


@dataclass
class Run:
    """One chain's pass over the questions: how long it took to open, and each judged answer with its timings."""

    name: str
    open_seconds: float
    outcomes: list[Outcome]
    timings: list[Timing]

    @property
    def first_token(self) -> list[float]:
        return [t.first for t in self.timings]

    @property
    def total(self) -> list[float]:
        return [t.total for t in self.timings]


# ----------------------------------------------------------------------------------------------------------------
# The two chains


@contextlib.contextmanager
def ours(settings: Settings) -> Iterator[Answerer]:
    """The product chain (``open_chain``), timed on its streamed events."""
    from assistant.answer.factory import open_chain

    with open_chain(settings) as chain:

        def answer(question: str) -> tuple[Answer, Timing]:
            started = time.perf_counter()
            first = retrieved = None
            final, steps = None, []
            for event in chain.stream(question):
                now = time.perf_counter() - started
                if isinstance(event, Token) and first is None:
                    first = now
                elif isinstance(event, Step):
                    steps.append(event.name)
                    retrieved = now if event.name == "retrieve" else retrieved
                elif isinstance(event, Answer):
                    final = event
            total = time.perf_counter() - started
            assert final is not None
            return final, Timing(retrieved or 0.0, first if first is not None else total, total, steps)

        yield answer


@contextlib.contextmanager
def naive(settings: Settings) -> Iterator[Answerer]:
    """The cookbook chain: dense top-k, all passages in one prompt, plain streamed completion, no checks."""
    from assistant.llm.client import make_client
    from assistant.llm.endpoint import llm_endpoint
    from ingest.store import open_store

    with open_store(settings, create=False) as store, llm_endpoint(settings) as endpoint:
        client = make_client(endpoint, settings)

        def answer(question: str) -> tuple[Answer, Timing]:
            started = time.perf_counter()
            passages = [p for p, _ in store.search(question, settings.top_k)]
            retrieved = time.perf_counter() - started
            context = "\n\n".join(p.text for p in passages)
            prompt = NAIVE_PROMPT.format(context=context, question=question)
            stream = client.chat.completions.create(
                model=endpoint.model, messages=[{"role": "user", "content": prompt}], temperature=0,
                max_tokens=NAIVE_MAX_TOKENS, stream=True,
            )  # fmt: skip
            first, pieces = None, []
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    first = first if first is not None else time.perf_counter() - started
                    pieces.append(chunk.choices[0].delta.content)
            total = time.perf_counter() - started
            text = "".join(pieces).strip()
            timing = Timing(retrieved, first if first is not None else total, total, ["retrieve"])
            return naive_answer(question, text, passages, total), timing

        yield answer


def naive_answer(question: str, text: str, passages: list[Any], seconds: float) -> Answer:
    """The naive reply as an :class:`Answer` the judge can score: every retrieved passage is one of its sources."""
    citations = [
        Citation(
            n=n, passage_id=p.id, doc_id=p.doc_id, title=p.title, section=p.section, paragraph=p.paragraph,
            quote=p.text, start=p.start, end=p.end, passage_text=p.text, passage_start=p.start,
        )
        for n, p in enumerate(passages, start=1)
    ]  # fmt: skip
    return Answer(
        question=question,
        standalone_question=question,
        language=answer_language(question, "auto"),
        answer=text,
        abstained=bool(_DONT_KNOW.search(text)) or not text,
        citations=citations,
        retrieved=passages,
        seconds=seconds,
    )


# ----------------------------------------------------------------------------------------------------------------
# Running and reporting


def run_chain(name: str, opener: Callable[[Settings], Any], settings: Settings, cases: list[Case]) -> Run:
    """Open one chain on a fresh endpoint, answer every case in order (the first one cold), judge each."""
    forget_prompt_states(settings)
    started = time.perf_counter()
    with opener(settings) as answer:
        run = Run(name, time.perf_counter() - started, [], [])
        print(f"[{name}] open in {run.open_seconds:.1f} s", file=sys.stderr)
        for case in cases:
            result, timing = answer(case.question)
            run.outcomes.append(judge(case, result))
            run.timings.append(timing)
            print(f"[{name}] {case.id} retrieved {timing.retrieved:5.2f} s first {timing.first:5.2f} s "
                  f"total {timing.total:6.2f} s {timing.steps} {result.answer[:60]!r}", file=sys.stderr)  # fmt: skip
    return run


def latency_rows(run: Run) -> list[dict[str, str]]:
    """Cold (first question on a fresh server) and warm (the others) rows: n, median and p95 of both timings."""
    rows = []
    for state, timings in (("cold", run.timings[:1]), ("warm", run.timings[1:])):
        first, total = [t.first for t in timings], [t.total for t in timings]
        retrieved = [t.retrieved for t in timings]
        rows.append({
            "chain": run.name, "state": state, "n": str(len(total)),
            "open s": fmt(run.open_seconds) if state == "cold" else "",
            "retrieved median s": fmt(statistics.median(retrieved) if retrieved else None),
            "retries": str(sum("retry" in t.steps for t in timings)),
            "first token median s": fmt(statistics.median(first) if first else None),
            "first token p95 s": fmt(percentile(first, 95)),
            "full answer median s": fmt(statistics.median(total) if total else None),
            "full answer p95 s": fmt(percentile(total, 95)),
        })  # fmt: skip
    return rows


def quality(run: Run) -> dict[str, str]:
    """The 'all' row of ``assistant eval`` for this run."""
    return {"chain": run.name, **Report(run.outcomes).rows()[-1]}


def fraction(cell: str) -> float | None:
    """'3/4' -> 0.75; None when the denominator is 0."""
    top, bottom = (int(x) for x in cell.split("/"))
    return top / bottom if bottom else None


def ratio(a: float | None, b: float | None) -> str:
    """ours/naive, '-' when either side is missing or naive is 0."""
    return "-" if a is None or not b else f"{a / b:.2f}"


def ratios(ours_run: Run, naive_run: Run) -> list[dict[str, str]]:
    """our/naive for latency (below 1 is faster) and for quality (above 1 is better), and quality per second."""
    q_ours, q_naive = quality(ours_run), quality(naive_run)
    rows = []
    for label, a, b in (
        ("warm first token median", ours_run.first_token[1:], naive_run.first_token[1:]),
        ("warm full answer median", ours_run.total[1:], naive_run.total[1:]),
        ("cold full answer", ours_run.total[:1], naive_run.total[:1]),
        ("all answers median", ours_run.total, naive_run.total),
    ):
        a_med, b_med = (statistics.median(a) if a else None), (statistics.median(b) if b else None)
        rows.append({"figure": label, "ours": fmt(a_med), "naive": fmt(b_med), "ours/naive": ratio(a_med, b_med)})
    for key in ("correct", "citation precision", "abstained (unanswerable)", "wrong refusals", "language ok"):
        a, b = fraction(q_ours[key]), fraction(q_naive[key])
        rows.append({"figure": key, "ours": q_ours[key], "naive": q_naive[key], "ours/naive": ratio(a, b)})
    per_second = [
        (fraction(q["correct"]) or 0.0) / statistics.median(run.total)
        for q, run in ((q_ours, ours_run), (q_naive, naive_run))
    ]
    rows.append({
        "figure": "correct per second (correct rate / median s)", "ours": f"{per_second[0]:.3f}",
        "naive": f"{per_second[1]:.3f}", "ours/naive": ratio(*per_second),
    })  # fmt: skip
    return rows


def run_json(run: Run) -> dict[str, Any]:
    """Every answer with its timings and verdicts, for the JSON file."""
    return {
        "open_seconds": run.open_seconds,
        "answers": [
            {**o.to_json(), "timing": t.__dict__} for o, t in zip(run.outcomes, run.timings, strict=True)
        ],
    }


def spread(cases: list[Case], limit: int | None) -> list[Case]:
    """``limit`` cases evenly spaced over the file, so a short run still has both languages and refusals."""
    if limit is None or limit >= len(cases):
        return cases
    return [cases[i * len(cases) // limit] for i in range(limit)]


def prepared_settings(args: argparse.Namespace, stack: contextlib.ExitStack) -> Settings:
    """Settings from the environment, with a throwaway store of seeds/ unless ``--store`` names one."""
    from ingest.pipeline import run_ingest

    settings = Settings(llm_timeout=600.0)  # type: ignore[call-arg]
    if args.llm_base_url:
        settings = settings.model_copy(update={"llm_base_url": args.llm_base_url})
    if args.store:
        return settings.model_copy(update={"store_dir": args.store})
    store_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="answer-bench-"))) / "store"
    settings = settings.model_copy(update={"store_dir": store_dir})
    run_ingest([REPO / "seeds"], settings)
    return settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEV, help=f"question file (default {DEV})")
    parser.add_argument("--limit", type=int, default=None, help="N questions spread evenly over the file")
    parser.add_argument("--store", type=Path, default=None, help="an ingested store (default: temporary, of seeds/)")
    parser.add_argument("--llm-base-url", default=None, help="an OpenAI-compatible endpoint, not the embedded LLM")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/...)")
    args = parser.parse_args()
    cases = spread(load_cases(args.questions), args.limit)
    with contextlib.ExitStack() as stack:
        settings = prepared_settings(args, stack)
        model = settings.llm_base_url or f"embedded {settings.local_model_path or settings.llm_model}"
        runs = [run_chain("ours", ours, settings, cases), run_chain("naive", naive, settings, cases)]
    title = (
        f"{len(cases)} questions from {args.questions.name}, LLM {model}, "
        f"{settings.local_llm_threads} generation / {settings.local_llm_batch_threads} prompt thread(s)"
    )
    latency = [row for run in runs for row in latency_rows(run)]
    print_table(f"answer latency: {title}", latency)
    print_table("quality (assistant.evaluation.judge, all languages)", [quality(run) for run in runs])
    compared = ratios(*runs)
    print_table("ours / naive", compared)
    write_results(args.out or default_out("answer_latency"), {
        "questions": str(args.questions), "limit": args.limit, "llm": model, "latency": latency,
        "quality": [quality(run) for run in runs], "ratios": compared,
        "runs": {run.name: run_json(run) for run in runs},
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
