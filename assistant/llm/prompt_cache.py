"""The embedded LLM's prompt cache, with the states worth keeping also saved on disk for the next start.

Reading the instructions and the numbered articles (~1,300 tokens for the seed) takes ~18 s on this machine's two
cores, on every start of the server; loading the same state from disk takes a fraction of a second. This cache
is llama-cpp-python's RAM cache (the most recent states, bounded in bytes) plus a directory of saved states:

* A state is saved only when loading it would spare at least ``min_saving_tokens`` of prompt reading compared
  with the best state already on disk. The article prefix of a new set of articles is saved once; an answer,
  which only adds its own ~200 tokens to a saved prefix, is not. So disk writes happen once per corpus, not
  once per question, and they run on a background thread, after the answer has been sent.
* On a lookup, a saved state that shares a longer prefix with the prompt than any state in RAM is loaded into
  RAM first; llama-cpp-python then restores it and reads only the rest of the prompt.
* At most ``keep`` files are kept, the least recently used removed first. Files are written to a temporary name
  and renamed, so a crash never leaves half a state, and an unreadable file is removed and ignored.

The state files are only valid for the model file, context size and llama.cpp build that wrote them: the caller
gives a directory named after all three (:func:`assistant.llm.local_server.prompt_state_dir`).

llama-cpp-python's own ``LlamaDiskCache`` does not fit: it writes every request's full state (~80 MB with the
logits buffer) before the reply ends, it deletes a state when it is read (a second restart is cold again), and
it prints debug lines on every write. The logits buffer is not saved here: with ``logits_all`` off it is not
read back (llama-cpp-python re-reads the prompt's last token after restoring a state), so it is restored as
zeros of the same shape.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from llama_cpp.llama import Llama, LlamaState
from llama_cpp.llama_cache import LlamaRAMCache

_SUFFIX = ".npz"


class PersistentPromptCache(LlamaRAMCache):
    """A RAM prompt cache whose long, new prefixes are also saved in ``directory`` and found there after a restart."""

    def __init__(
        self,
        capacity_bytes: int,
        directory: Path,
        *,
        min_saving_tokens: int = 512,
        keep: int = 3,
    ) -> None:
        super().__init__(capacity_bytes)
        self.directory = directory
        self.min_saving_tokens = min_saving_tokens
        self.keep = keep
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prompt-state-writer")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._saved: dict[tuple[int, ...], Path] = self._scan()

    def __getitem__(self, key: Sequence[int]) -> LlamaState:
        self._load_better_saved_state(tuple(key))
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, Sequence):
            return False
        self._load_better_saved_state(tuple(key))
        return super().__contains__(key)

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        key = tuple(key)
        super().__setitem__(key, value)
        with self._lock:
            saving = len(key) - max((_common(saved, key) for saved in self._saved), default=0)
            if saving < self.min_saving_tokens:
                return
            digest = hashlib.sha256(np.asarray(key, dtype=np.int32).tobytes()).hexdigest()[:32]
            path = self.directory / (digest + _SUFFIX)
            self._saved[key] = path
        self._writer.submit(self._write, key, value, path)

    def flush(self) -> None:
        """Wait for pending writes (tests, and a clean shutdown)."""
        self._writer.submit(lambda: None).result()

    # -- disk ------------------------------------------------------------------------------------------------

    def _scan(self) -> dict[tuple[int, ...], Path]:
        saved: dict[tuple[int, ...], Path] = {}
        for path in sorted(self.directory.glob("*" + _SUFFIX)):
            try:
                with np.load(path, allow_pickle=False) as data:
                    saved[tuple(int(t) for t in data["key"])] = path
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                _remove(path)
        return saved

    def _load_better_saved_state(self, key: tuple[int, ...]) -> None:
        """Bring into RAM the saved state that shares the longest prefix with ``key``, if RAM has none as long."""
        with self._lock:
            best = max(self._saved, key=lambda saved: _common(saved, key), default=None)
            if best is None or best in self.cache_state:
                return
            shared = _common(best, key)
            in_ram = self._find_longest_prefix_key(key)
            if shared == 0 or (in_ram is not None and _common(in_ram, key) >= shared):
                return
            path = self._saved[best]
        state = _read(path)
        if state is None:
            with self._lock:
                self._saved.pop(best, None)
            _remove(path)
            return
        os.utime(path)  # most recently used: pruned last
        print(f"prompt cache: loaded a saved state of {state.n_tokens} tokens from {path}", file=sys.stderr)
        LlamaRAMCache.__setitem__(self, best, state)

    def _write(self, key: tuple[int, ...], state: LlamaState, path: Path) -> None:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as handle:
                np.savez(
                    handle,
                    key=np.asarray(key, dtype=np.int32),
                    input_ids=state.input_ids,
                    scores_shape=np.asarray(state.scores.shape, dtype=np.int64),
                    n_tokens=np.int64(state.n_tokens),
                    llama_state=np.frombuffer(state.llama_state, dtype=np.uint8),
                    seed=np.int64(state.seed),
                )
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except OSError as error:
            _remove(temporary)
            with self._lock:
                self._saved.pop(key, None)
            print(f"prompt cache: could not save a state to {path}: {error}", file=sys.stderr)
            return
        print(f"prompt cache: saved a state of {state.n_tokens} tokens to {path}", file=sys.stderr)
        self._prune()

    def _prune(self) -> None:
        with self._lock:
            if len(self._saved) <= self.keep:
                return
            by_age = sorted(self._saved.items(), key=lambda item: _mtime(item[1]))
            doomed = by_age[: len(by_age) - self.keep]
            for key, _ in doomed:
                del self._saved[key]
        for _, path in doomed:
            _remove(path)


def _read(path: Path) -> LlamaState | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            llama_state = data["llama_state"].tobytes()
            return LlamaState(
                input_ids=data["input_ids"].astype(np.intc),
                scores=np.zeros(tuple(int(n) for n in data["scores_shape"]), dtype=np.single),
                n_tokens=int(data["n_tokens"]),
                llama_state=llama_state,
                llama_state_size=len(llama_state),
                seed=int(data["seed"]),
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    return int(Llama.longest_token_prefix(a, b))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
