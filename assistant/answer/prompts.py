"""Prompt templates live as files in ``prompts/`` so they can be read, reviewed and changed without code."""

from __future__ import annotations

from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


@cache
def load_prompt(name: str, language: str | None = None) -> str:
    """The template ``prompts/NAME.LANG.txt`` if it exists, else ``prompts/NAME.txt``."""
    candidates = [PROMPTS_DIR / f"{name}.{language}.txt"] if language else []
    candidates.append(PROMPTS_DIR / f"{name}.txt")
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(f"no prompt template {name!r} in {PROMPTS_DIR}")
