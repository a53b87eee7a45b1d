"""The import graph runs one way: ingest imports only ingest, and each stage of assistant only lower stages.

Every module of ``assistant/`` and ``ingest/`` is parsed (not imported), and every import in it is checked, those
inside functions included: a heavy library or a late import is still a dependency of the module that makes it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: The parts of ``assistant``, lowest first: a module may import its own part, lower ranks, and ``ingest``.
RANKS = {
    "errors": 0,
    "settings": 0,
    "text": 1,
    "llm": 2,
    "answer": 3,
    "quotes": 4,
    "chat": 5,
    "cli": 6,
    "doctor": 6,
    "evaluation": 6,
}


def imported_modules(tree: ast.AST) -> Iterator[str]:
    """The dotted names of every module an AST imports, at any depth (``from a import b`` yields ``a.b``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def part_of(module: str) -> str | None:
    """The part of ``assistant`` a dotted module name belongs to (``assistant.answer.chain`` -> ``answer``)."""
    pieces = module.split(".")
    return pieces[1] if pieces[0] == "assistant" and len(pieces) > 1 else None


def violations(module: str, tree: ast.AST) -> list[str]:
    """What ``module`` (a dotted name) imports against the order."""
    found = []
    for name in imported_modules(tree):
        if module.startswith("ingest.") and name.split(".")[0] == "assistant":
            found.append(f"{module} imports {name}: ingest imports nothing from assistant")
        importer, imported = part_of(module), part_of(name)
        if importer is None or imported is None or imported == importer or imported not in RANKS:
            continue
        if RANKS[imported] > RANKS[importer]:
            found.append(f"{module} ({importer}) imports {name} ({imported}), a higher rank")
    return found


def _modules() -> list[tuple[str, Path]]:
    paths = sorted([*(REPO / "assistant").rglob("*.py"), *(REPO / "ingest").rglob("*.py")])
    modules = []
    for path in paths:
        parts = path.relative_to(REPO).with_suffix("").parts
        modules.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return modules


def test_every_part_of_assistant_has_a_rank() -> None:
    parts = {part_of(module) for module, _ in _modules()} - {None}
    assert parts <= RANKS.keys(), f"give these a rank in RANKS: {sorted(parts - RANKS.keys())}"


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[module for module, _ in _modules()])
def test_imports_run_one_way(module: str, path: Path) -> None:
    assert violations(module, ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("ingest.store", "from assistant.errors import UserError"),
        ("assistant.text.language", "def late():\n    from assistant.chat import view"),
        ("assistant.llm.client", "import assistant.answer.chain"),
        ("assistant.answer.chain", "from assistant import quotes"),
    ],
)
def test_a_violating_import_is_caught(module: str, source: str) -> None:
    assert violations(module, ast.parse(source))
