"""The `assistant` command: one entry point, one subcommand per capability.

Heavy libraries (torch, chromadb, langchain) are imported inside the handlers so that `assistant --help`
answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.errors import USER_ERRORS, UserError, missing_package_message


def _ingest(args: argparse.Namespace) -> int:
    from ingest.pipeline import run_ingest

    return run_ingest(args.paths, _settings(), store_dir=args.store)


def _list(args: argparse.Namespace) -> int:
    import json

    from ingest.store import open_store

    with open_store(_settings(), create=False) as store:
        articles = store.articles()
        counts = store.passage_counts()
    if args.json:
        for article in articles:
            print(json.dumps(_listing(article, counts.get(article.doc_id, 0)), ensure_ascii=False))
        return 0
    if not articles:
        print("the store holds no article; add one with `assistant ingest FILE|URL`")
    for article in articles:
        row = _listing(article, counts.get(article.doc_id, 0))
        added = row["added"] or "?"
        print(f"{row['id']}  {row['title']}  ({row['source']}; {row['passages']} passages; added {added})")
    return 0


def _listing(article, passages: int) -> dict[str, object]:
    return {
        "id": article.doc_id,
        "title": article.title,
        "source": article.source,
        "passages": passages,
        "added": article.added,
        **({"author": article.author} if article.author else {}),
        **({"published": article.published} if article.published else {}),
        **({"pages": len(article.pages)} if article.pages else {}),
    }


def _remove(args: argparse.Namespace) -> int:
    from ingest.errors import CorpusError
    from ingest.store import open_store

    with open_store(_settings(), create=False) as store:
        stored = store.revisions()
        unknown = [doc_id for doc_id in args.ids if doc_id not in stored]
        if unknown:  # checked before removing anything: a typo in the third id must not leave two removed
            raise CorpusError(
                f"no article {', '.join(map(repr, unknown))} in store {store.location}; `assistant list` shows the ids"
            )
        for doc_id in args.ids:
            removed = store.remove(doc_id)
            print(f"removed {doc_id} ({removed} passages) from {store.location}")
    return 0


def _settings():
    from assistant.settings import get_settings

    return get_settings()


def _print_answer(answer) -> None:
    print(answer.answer)
    for citation in answer.citations:
        where = citation.title + (f", {citation.section}" if citation.section not in ("", citation.title) else "")
        if citation.page is not None:
            where += f", page {citation.page}"
        print(f"  [{citation.n}] « {citation.quote} »  ({where}, paragraph {citation.paragraph + 1}, "
              f"characters {citation.start}-{citation.end})")
    if answer.abstained and answer.retrieved:
        print(f"  Nearest passage: « {answer.retrieved[0].text} »")
    if answer.notice:
        print(f"  Note: {answer.notice}")


def _readable(text: str) -> str:
    """The question with bytes that were not UTF-8 replaced by U+FFFD.

    Python hands undecodable argv and stdin bytes over as lone surrogates (stdin is read with
    ``surrogateescape`` for that, see :func:`_ask`), which no encoder (the embedder, the JSON printed back)
    accepts: one stray Latin-1 byte would end the whole batch with a traceback.
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _ask(args: argparse.Namespace) -> int:
    import json
    from contextlib import ExitStack

    from assistant.answer.factory import open_chain
    from assistant.quotes.asked import quote_asked_about
    from assistant.quotes.lookup import lookup_in_store
    from ingest.store import open_store

    if args.question is None and not args.json:
        raise UserError('give a question (assistant ask "...") or use --json to read questions from stdin')
    if args.question is not None and not args.question.strip():
        raise UserError("the question is empty: type a question about the article")
    if args.question is None and hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")  # a UTF-8 locale reads strictly: one bad byte would end it
    questions = [args.question] if args.question is not None else (line.rstrip("\n") for line in sys.stdin)
    status = 0
    settings = _settings()
    with ExitStack() as opened:
        store = opened.enter_context(open_store(settings, create=False))
        # The model starts now, loading while a script writes its questions, unless the one question asked is a
        # lookup, which needs none.
        lookup_only = args.question is not None and quote_asked_about(_readable(args.question)) is not None
        chain = None if lookup_only else opened.enter_context(open_chain(settings, store))
        for question in questions:
            if args.question is None and not question.strip():
                continue
            question = _readable(question)
            asked = quote_asked_about(question)
            if asked is not None:  # "Who said "…"?": the lookup answers it, without the model
                found = lookup_in_store(asked.quote, store)
                if args.json:
                    print(json.dumps({"question": question, "lookup": found.to_json()}, ensure_ascii=False), flush=True)
                else:
                    _print_lookup(found)
                continue
            try:
                answer = chain.answer(question)
            except USER_ERRORS as error:
                if args.question is not None:
                    raise
                print(json.dumps({"question": question, "error": str(error)}, ensure_ascii=False), flush=True)
                status = 1
                continue
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
            else:
                _print_answer(answer)
    return status


def _eval(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from assistant.answer.factory import open_chain
    from assistant.evaluation import Report, evaluate, load_cases

    cases = load_cases(args.file)
    report = Report()
    console = Console(stderr=True)
    with open_chain(_settings()) as chain:
        for outcome in evaluate(chain, cases, every=args.ablation):
            report.outcomes.append(outcome)
            mark = "ok" if outcome.lost is None else "--"
            console.print(f"{mark} {outcome.case.id} {outcome.answer.seconds:5.1f}s {outcome.answer.answer[:90]}")
            if args.json:
                print(json.dumps(outcome.to_json(), ensure_ascii=False), flush=True)
    tables = {"summary": report.rows(), **({"ablation": report.ablation()} if args.ablation else {})}
    if args.json:
        print(json.dumps({**tables, "lost": report.misses(), "dropped by": report.dropped_by()}, ensure_ascii=False))
        return 0
    for name, rows in tables.items():
        table = Table(title=f"assistant eval {args.file}: {name}")
        for column in rows[0]:
            table.add_column(column)
        for row in rows:
            table.add_row(*row.values())
        Console(width=200).print(table)
    print(f"misses lost at: {report.misses()}; claims dropped by: {report.dropped_by()}")
    return 0


def _lookup(args: argparse.Namespace) -> int:
    import json

    from assistant.quotes.lookup import lookup_in_store
    from ingest.store import open_store

    with open_store(_settings(), create=False) as store:
        result = lookup_in_store(args.text, store)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_lookup(result)
    return 0 if result.found else 1


def _print_lookup(result) -> None:
    """Where a looked-up text is, its exact words and who says them, as `assistant lookup` and `ask` print it."""
    if not result.found:
        print(f"not found (closest wording similarity {result.score:.2f})")
        return
    where = result.title + (f", {result.section}" if result.section and result.section != result.title else "")
    print(f"{result.kind} match (score {result.score:.2f}) in {where}, paragraph {result.paragraph + 1}, "
          f"characters {result.start}-{result.end}:")
    print(f"  « {result.quote} »")
    if result.attribution:
        print(f"  Speaker: {result.attribution.speaker}  (« {result.attribution.cue} »)")
    elif result.quoted:
        print("  Speaker: not named (quoted, but no speaker the rules can name)")
    else:
        print("  Speaker: not attributed (the article's own narration)")
    if result.notice:
        print(f"  Note: {result.notice}")


def _serve(args: argparse.Namespace) -> int:
    from assistant.chat.serve import serve

    settings = _settings()
    updates = {key: value for key, value in (("host", args.host), ("port", args.port)) if value is not None}
    return serve(settings.model_copy(update=updates) if updates else settings)


def _doctor(args: argparse.Namespace) -> int:
    from assistant.doctor import run_checks

    checks = run_checks(_settings())
    for check in checks:
        print(check.line(), flush=True)
    return 1 if any(check.status == "FAIL" for check in checks) else 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answer questions about news articles, with every answer proven by verified quotes.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="Split, embed and store articles (.txt, .md, .html, .pdf, or a URL).")
    ingest.add_argument("paths", nargs="+", help="Article files, directories of articles, or http(s) URLs of articles.")
    ingest.add_argument("--store", type=Path, default=None, help="Store directory (default from settings).")
    ingest.set_defaults(handler=_ingest)

    ask = sub.add_parser("ask", help="Answer a question with verified citations.")
    ask.add_argument("question", nargs="?", help="The question; omit it with --json to read one per stdin line.")
    ask.add_argument("--json", action="store_true", help="Print one JSON object per answer.")
    ask.set_defaults(handler=_ask)

    evaluate = sub.add_parser("eval", help="Score answers on a JSONL question file (see shared/eval/dev.jsonl).")
    evaluate.add_argument("file", type=Path, help="The question file.")
    evaluate.add_argument("--json", action="store_true", help="Print each outcome and the summary as JSON.")
    evaluate.add_argument(
        "--ablation", action="store_true",
        help="Run every check on every claim and add a table of the answers without each check (slower).",
    )  # fmt: skip
    evaluate.set_defaults(handler=_eval)

    listing = sub.add_parser("list", help="List the articles in the store: id, title, source, passages, date added.")
    listing.add_argument("--json", action="store_true", help="Print one JSON object per article.")
    listing.set_defaults(handler=_list)

    remove = sub.add_parser("remove", help="Remove articles from the store by id (see `assistant list`).")
    remove.add_argument("ids", nargs="+", help="Document ids, as `assistant list` shows them.")
    remove.set_defaults(handler=_remove)

    lookup = sub.add_parser(
        "lookup", help="Say whether and where a sentence or quote appears in the articles, and who says it."
    )
    lookup.add_argument("text", help="The sentence or quote (French or English, exact or approximate).")
    lookup.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
    lookup.set_defaults(handler=_lookup)

    serve = sub.add_parser("serve", help="Start the chat in the browser (Chainlit) on ASSISTANT_HOST:ASSISTANT_PORT.")
    serve.add_argument("--host", default=None, help="Address to listen on (default from settings: 127.0.0.1).")
    serve.add_argument("--port", type=int, default=None, help="Port to listen on (default from settings: 8000).")
    serve.set_defaults(handler=_serve)

    doctor = sub.add_parser(
        "doctor", help="Check the store, the embedder, the LLM endpoint and the model files, and say what to fix."
    )
    doctor.set_defaults(handler=_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and turn every expected failure into a one-line message."""
    args = _build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except USER_ERRORS as error:
        print(f"assistant: {error}", file=sys.stderr)
        return 1
    except ImportError as error:  # a package of the main install is missing: name it, no traceback
        print(f"assistant: {missing_package_message(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("assistant: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
