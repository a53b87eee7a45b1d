"""`assistant doctor`: check everything an answer depends on and say, for each thing that is wrong, how to fix it.

First the main install: one line per package of it that is missing (a package the test extra happens to bring
in hides such a gap from the tests, never from a newcomer). Then four checks, one line each: the store (opens,
holds articles, catalog and passages agree), the embedder (the configured one loads, embeds, and is the one the
store was built with), the LLM (a configured endpoint answers ``/models`` or a one-token request; for the embedded
server, llama.cpp's server is importable) and the model files (the bundled model assembled and verified, or its
parts installed; or the GGUF file set by the user).

Nothing is started or written: the embedded LLM is not launched (~40 s) and the model is not assembled. Every
failure becomes a ``FAIL`` line, never a traceback, and no line ever holds the API key: messages go through the
LLM layer's scrubbing, URLs are shown without credentials, and the key itself is masked in every line as a last
guard.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from assistant.errors import USER_ERRORS, missing_package_message
from assistant.settings import Settings
from ingest.embedding import EmbedderIdentity

Status = Literal["ok", "FAIL", "skip"]
_PING = [{"role": "user", "content": "ping"}]
_PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was checked, ok / FAIL / skip, and what was found or what to fix."""

    name: str
    status: Status
    detail: str

    def line(self) -> str:
        """One line for the terminal: ``ok    store: ...``."""
        return f"{self.status:<5} {self.name}: {self.detail}"


def run_checks(settings: Settings) -> list[Check]:
    """All checks, in the order a fix is best made (a store problem can explain an embedder one)."""
    stored: list[EmbedderIdentity | None] = [None]

    def store() -> Check:
        check, stored[0] = check_store(settings)
        return check

    checks = [
        *check_packages(),
        _guarded("store", store),
        _guarded("embedder", lambda: check_embedder(settings, stored[0])),
        _guarded("LLM", lambda: check_llm(settings)),
        _guarded("model files", lambda: check_model_files(settings)),
    ]
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    if not key:
        return checks
    return [Check(c.name, c.status, c.detail.replace(key, "***")) for c in checks]


def check_packages(distribution: str = "article-assistant") -> list[Check]:
    """A FAIL line for each package of the main install that is missing (extras the install asks for included),
    or one ok line."""
    wanted = _main_requirements(distribution)
    missing = [name for name in wanted if not _installed(name)]
    if not missing:
        return [Check("packages", "ok", f"all {len(wanted)} packages of the main install are installed")]
    return [
        Check(f"package {name}", "FAIL", "not installed, and the main install needs it: run `make install` (or "
              "`pip install -c constraints.txt -e .` in your virtualenv)")
        for name in missing
    ]


def _main_requirements(distribution: str) -> list[str]:
    """The names of the distribution's main requirements and of the extras they ask for, e.g. SQLAlchemy's
    ``asyncio`` extra (greenlet); the test extra is not part of it."""
    try:
        requirements = [Requirement(line) for line in importlib.metadata.requires(distribution) or []]
    except importlib.metadata.PackageNotFoundError:
        return []
    names: list[str] = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        names.append(canonicalize_name(requirement.name))
        for extra in requirement.extras:
            names += [canonicalize_name(r.name) for r in _extra_requirements(requirement.name, extra)]
    return list(dict.fromkeys(names))


def _extra_requirements(name: str, extra: str) -> list[Requirement]:
    try:
        lines = importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return []  # the package itself is reported missing
    found = [Requirement(line) for line in lines]
    return [r for r in found if r.marker is not None and r.marker.evaluate({"extra": extra})]


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def check_store(settings: Settings) -> tuple[Check, EmbedderIdentity | None]:
    """Open the store read-only, count what it holds and verify that catalog and passages agree.

    Returns the embedder identity recorded in the store too, for :func:`check_embedder`.
    """
    from ingest.embedding import make_embedder
    from ingest.store import open_store

    with open_store(settings, make_embedder(settings), create=False, check_identity=False) as store:
        articles, passages, problems = len(store.articles()), store.count(), store.verify()
        identity, location = store.stored_identity(), store.location
    if problems:
        return Check(
            "store", "FAIL", f"{location} is inconsistent ({len(problems)} problem(s), first: {problems[0]}); "
            "re-ingest the articles into a new --store"
        ), identity
    if not articles:
        return Check("store", "FAIL", f"{location} holds no articles; run `assistant ingest PATH`"), identity
    return Check(
        "store", "ok", f"{location} holds {_plural(articles, 'article')}, {_plural(passages, 'passage')}; "
        "catalog and passages agree"
    ), identity


def check_embedder(settings: Settings, stored: EmbedderIdentity | None) -> Check:
    """The configured embedder is the store's (backend and model first, so a mismatch costs no model load), and
    it loads and embeds."""
    from ingest.embedding import make_embedder

    embedder = make_embedder(settings)
    configured = f"{embedder.backend}/{embedder.model}"
    if stored is not None and (stored.backend, stored.model) != (embedder.backend, embedder.model):
        return Check("embedder", "FAIL", _mismatch(stored, configured))
    identity = embedder.identity
    vector = embedder.embed_query("bonjour")
    if len(vector) != identity.dim:
        return Check("embedder", "FAIL", f"{identity.describe()} returned {len(vector)} numbers, not {identity.dim}")
    if stored is not None and stored.dim != identity.dim:
        return Check("embedder", "FAIL", _mismatch(stored, identity.describe()))
    where = "the store's" if stored is not None else "no store to compare with yet"
    return Check("embedder", "ok", f"{identity.describe()} loads and embeds ({where})")


def check_llm(settings: Settings) -> Check:
    """A configured endpoint answers (``/models``, else a one-token request); the embedded server can start."""
    if not settings.llm_base_url:
        try:
            import llama_cpp
        except ImportError as error:
            return Check(
                "LLM", "FAIL", f"llama-cpp-python cannot be imported ({error}); reinstall it with `make run`, or set "
                "ASSISTANT_LLM_BASE_URL to an LLM server"
            )
        if importlib.util.find_spec("llama_cpp.server") is None:
            return Check(
                "LLM", "FAIL", "llama_cpp is installed without its server; reinstall llama-cpp-python[server]"
            )
        return Check(
            "LLM", "ok", f"embedded llama.cpp server (llama-cpp-python {llama_cpp.__version__}) is installed; "
            "`assistant ask` starts it"
        )

    from assistant.llm.client import complete_text
    from assistant.llm.endpoint import display_url, llm_endpoint
    from assistant.llm.errors import LLMBadReply, LLMUnavailable, llm_errors

    probe = settings.model_copy(update={"llm_timeout": min(settings.llm_timeout, _PROBE_TIMEOUT_S),
                                        "llm_max_retries": 0})  # fmt: skip
    with llm_endpoint(probe) as endpoint:
        import openai

        client = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key, max_retries=0,
                               timeout=probe.llm_timeout)  # fmt: skip
        url = display_url(endpoint.base_url)
        try:
            with llm_errors(endpoint.base_url, probe):
                models = [model.id for model in client.models.list()]
        except LLMUnavailable as error:
            if "HTTP 404" not in str(error):
                raise
            with contextlib.suppress(LLMBadReply):  # cut off at one token, as asked: it did answer
                complete_text(client, _PING, probe, max_tokens=1)  # no /models on this server
            return Check("LLM", "ok", f"{url} answers a one-token request (it has no /models)")
    if models and settings.llm_model not in models:
        listed = ", ".join(models[:5]) + (", ..." if len(models) > 5 else "")
        return Check(
            "LLM", "ok", f"{url} answers, but ASSISTANT_LLM_MODEL={settings.llm_model} is not among its models "
            f"({listed}); set it to one of them if questions fail with HTTP 404"
        )
    return Check("LLM", "ok", f"{url} answers and serves {settings.llm_model}")


def check_model_files(settings: Settings) -> Check:
    """The GGUF file the embedded server would load: the user's, or the bundled one (assembled, or its parts)."""
    from assistant.llm.model_files import QWEN_CODER_1_5B, locate_parts, verified_copy

    if settings.llm_base_url:
        return Check("model files", "skip", "not used: ASSISTANT_LLM_BASE_URL points at an LLM server")
    if settings.local_model_path is not None:
        return _user_model(settings.local_model_path.expanduser())
    spec = QWEN_CODER_1_5B
    copy = verified_copy(settings, spec)
    if copy is not None:
        return Check("model files", "ok", f"{copy} is assembled and verified ({spec.size / 1e9:.2f} GB)")
    parts = locate_parts(spec)
    total = sum(part.stat().st_size for part in parts)
    if total != spec.size:
        return Check(
            "model files", "FAIL", f"the {spec.part_count} model parts add up to {total:,} bytes instead of "
            f"{spec.size:,}; reinstall them with: {spec.pip_command()}"
        )
    target = Path(settings.cache_dir).expanduser() / spec.filename
    return Check(
        "model files", "ok", f"all {spec.part_count} parts of {spec.filename} are installed; they are assembled "
        f"into {target} on the first question"
    )


def _user_model(path: Path) -> Check:
    if not path.is_file():
        return Check(
            "model files", "FAIL", f"ASSISTANT_LOCAL_MODEL_PATH={path} does not exist; fix it or unset it to use "
            "the bundled model"
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        return Check("model files", "FAIL", f"{path} is not a GGUF file; point ASSISTANT_LOCAL_MODEL_PATH at one")
    return Check("model files", "ok", f"{path} is a GGUF file ({path.stat().st_size / 1e6:.0f} MB)")


def _mismatch(stored: EmbedderIdentity, configured: str) -> str:
    return (
        f"the store was built with {stored.describe()} but the configured embedder is {configured}; re-ingest "
        f"into a new --store or set {stored.settings_hint()}"
    )


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; whatever goes wrong becomes its FAIL line, so one broken part never hides the others."""
    try:
        return check()
    except USER_ERRORS as error:
        return Check(name, "FAIL", str(error))
    except ImportError as error:
        return Check(name, "FAIL", missing_package_message(error))
    except Exception as error:  # a damaged store or library: report it, the other checks still run
        first = str(error).splitlines()[0] if str(error) else ""
        return Check(name, "FAIL", f"unexpected {type(error).__name__}: {first[:200]}")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
