"""Helpers every benchmark shares: percentiles, one rich table per result set, JSON results with machine context.

Figures from this project's machines are only comparable with the load they were taken under (2 shared cores),
so every JSON file records the load average and core count next to the numbers.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def forget_prompt_states(settings: Any) -> None:
    """Remove the embedded LLM's saved prompt states for these settings, so the next server starts truly cold.

    They are a cache (``assistant/llm/prompt_cache.py``), written again by the next run; nothing to do with an outside
    LLM.
    """
    import shutil

    from assistant.llm.local_server import prompt_state_dir
    from assistant.llm.model_files import bundled_model_path

    if settings.llm_base_url is None:
        shutil.rmtree(prompt_state_dir(bundled_model_path(settings), settings), ignore_errors=True)


def stop_app(process: subprocess.Popen[bytes]) -> None:
    """Stop a launched ``assistant serve``: SIGINT (a clean shutdown, as Ctrl+C), then SIGKILL to its group."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def free_port() -> int:
    """A port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank), None for no values: p95 of 5 samples is their maximum, not a guess."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for a table cell; '-' when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(title: str, rows: Sequence[dict[str, Any]]) -> None:
    """Print rows of equal keys as one rich table (the keys are the columns)."""
    if not rows:
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console(width=200).print(table)


def default_out(name: str) -> Path:
    """Default JSON path: ``bench/results/NAME-TIMESTAMP.json`` (the directory is ignored by git)."""
    return RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"


def write_results(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with the machine's context (cores, load), so a number is never read without its conditions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    context = {
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    path.write_text(json.dumps({"machine": context, **payload}, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"results written to {path} (load average {context['load_average'][0]:.2f} on {context['cores']} cores)")
