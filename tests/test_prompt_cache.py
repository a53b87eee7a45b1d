"""The prompt cache that keeps long prefixes on disk: what is saved, what a restart finds, what is never kept.

Unit tests on hand-made states (no model); the restart of a real llama.cpp server is in ``test_llm.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from llama_cpp.llama import LlamaState

from assistant.llm.prompt_cache import PersistentPromptCache

PREFIX = tuple(range(1000, 1800))  # an 800-token article prefix


def state(tokens: tuple[int, ...], payload: bytes = b"kv") -> LlamaState:
    input_ids = np.zeros(4096, dtype=np.intc)
    input_ids[: len(tokens)] = tokens
    return LlamaState(
        input_ids=input_ids,
        scores=np.ones((64, 10), dtype=np.single),
        n_tokens=len(tokens),
        llama_state=payload,
        llama_state_size=len(payload),
        seed=7,
    )


def tokens(found: LlamaState) -> tuple[int, ...]:
    return tuple(int(t) for t in found.input_ids[: found.n_tokens])


def cache(directory: Path, **options: int) -> PersistentPromptCache:
    return PersistentPromptCache(1 << 30, directory, min_saving_tokens=512, **options)


def saved_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.npz"))


def test_a_restarted_cache_finds_the_article_prefix_saved_by_the_previous_one(tmp_path: Path) -> None:
    first = cache(tmp_path)
    first[(*PREFIX, 5)] = state((*PREFIX, 5), b"prefix-kv")
    first.flush()

    restarted = cache(tmp_path)
    question = (*PREFIX, 42, 43, 44)
    assert question in restarted
    found = restarted[question]
    assert found.llama_state == b"prefix-kv"
    assert found.n_tokens == len(PREFIX) + 1
    assert list(found.input_ids[: found.n_tokens]) == list((*PREFIX, 5))
    assert found.seed == 7
    # The logits buffer is not saved; it comes back as zeros of the same shape.
    assert found.scores.shape == (64, 10) and not found.scores.any()


def test_answers_that_only_extend_a_saved_prefix_are_not_written_again(tmp_path: Path) -> None:
    prompt_cache = cache(tmp_path)
    prompt_cache[(*PREFIX, 5)] = state((*PREFIX, 5))
    for question in range(20):
        answer = PREFIX + tuple(range(question * 300, question * 300 + 250))
        prompt_cache[answer] = state(answer)
    prompt_cache.flush()
    assert len(saved_files(tmp_path)) == 1


def test_short_prompts_are_kept_in_ram_only(tmp_path: Path) -> None:
    prompt_cache = cache(tmp_path)
    rewrite = tuple(range(300))
    prompt_cache[rewrite] = state(rewrite)
    prompt_cache.flush()
    assert saved_files(tmp_path) == []
    assert rewrite in prompt_cache


def test_a_new_set_of_articles_gets_its_own_state_and_the_oldest_is_dropped(tmp_path: Path) -> None:
    prompt_cache = cache(tmp_path, keep=2)
    instructions = tuple(range(200))
    corpora = [instructions + tuple(range(n * 10_000, n * 10_000 + 900)) for n in range(1, 4)]
    for corpus in corpora:
        prompt_cache[corpus] = state(corpus, bytes([len(corpus) % 256, corpus[-1] % 256]))
        prompt_cache.flush()
    assert len(saved_files(tmp_path)) == 2

    restarted = cache(tmp_path, keep=2)
    assert tokens(restarted[corpora[2] + (1,)]) == corpora[2]
    assert tokens(restarted[corpora[1] + (1,)]) == corpora[1]
    # The first corpus's state is gone: only the shared instructions match, from another corpus's state.
    assert tokens(restarted[corpora[0]]) != corpora[0]


def test_a_damaged_state_file_is_removed_and_ignored(tmp_path: Path) -> None:
    first = cache(tmp_path)
    first[PREFIX] = state(PREFIX)
    first.flush()
    (damaged,) = saved_files(tmp_path)
    damaged.write_bytes(damaged.read_bytes()[:100])

    restarted = cache(tmp_path)
    with pytest.raises(KeyError):
        restarted[PREFIX]
    assert saved_files(tmp_path) == []


def test_no_temporary_file_is_left_and_states_are_private(tmp_path: Path) -> None:
    prompt_cache = cache(tmp_path)
    prompt_cache[PREFIX] = state(PREFIX)
    prompt_cache.flush()
    assert [path.name for path in tmp_path.iterdir()] == [saved_files(tmp_path)[0].name]
    assert saved_files(tmp_path)[0].stat().st_mode & 0o077 == 0
