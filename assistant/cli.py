"""The `assistant` command: one entry point, one subcommand per capability.

Heavy libraries (torch, chromadb, langchain) are imported inside the handlers so that `assistant --help`
answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.errors import UserError


def _ingest(args: argparse.Namespace) -> int:
    from ingest.pipeline import run_ingest

    return run_ingest(args.paths, store_dir=args.store)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answer questions about news articles, with every answer proven by verified quotes.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="Split, embed and store articles (.txt, .md, .html).")
    ingest.add_argument("paths", nargs="+", type=Path, help="Article files or directories of articles.")
    ingest.add_argument("--store", type=Path, default=None, help="Store directory (default from settings).")
    ingest.set_defaults(handler=_ingest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and turn every expected failure into a one-line message."""
    args = _build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UserError as error:
        print(f"assistant: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("assistant: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
