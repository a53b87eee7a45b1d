"""The embedded offline LLM: llama-cpp-python's OpenAI-compatible server as a child process on 127.0.0.1.

Running the model in a separate process (rather than in-process ``llama_cpp.Llama``) means the rest of the code
talks to every LLM the same way, through the ``openai`` package, whether it is this server, OpenAI, vLLM or Ollama.

The child is ``python -m llama_cpp.server`` run through :mod:`assistant.llm.server_child`, which adds what the
server lacks: it drops environment variables that llama_cpp.server would silently read as its own settings
(``PORT``, ``HOST``, ``API_KEY``, ``CONFIG_FILE``, ``N_CTX``... a ``PORT`` set for another program would move the
server away from the port we wait on, an ``API_KEY`` would make it reject us), and it exits by itself when its
parent dies, even by SIGKILL, so a crashed assistant never leaves a 1.2 GB server running.

Server flags, and why:

* ``--n_threads`` from ``settings.local_llm_threads`` (1): on a busy 2-core machine spinning OpenMP threads
  slowed generation ~100x. ``OMP_WAIT_POLICY=passive`` is set for the same reason.
* ``--n_threads_batch`` from ``settings.local_llm_batch_threads`` (2): reading a prompt parallelises well, and
  with passive waits a busy core only slows it down to one thread's speed. Measured on the dev questions: time
  to first token 2.9 s median with 2 threads against 4.2 s with 1, the article prefix read in 17 s against ~25 s.
* ``--logits_all False``: the server defaults to keeping logits for every prompt position, an
  ``n_ctx x n_vocab`` float array (4096 x 151,936 x 4 B = 2.5 GB for Qwen) that we never use (no logprobs).
* ``--interrupt_requests False``: by default a new request silently cuts off a streaming answer in progress;
  with two chat users the first would see a truncated answer. Requests queue instead.
* ``--cache True`` (RAM): besides reusing the common prefix with the *previous* request (always on), the server
  keeps the state of recent prompts, so a different call in between (question rewrite, translation) does not
  evict the long article prefix of the answer prompt. Measured with Qwen 1.5B, 1 thread, ~950-token article:
  with a rewrite-like call between two questions the next answer's first token came after ~1 s with the cache,
  ~30 s without (the cold figure).
  The cache also keeps the article prefix's state on disk (:mod:`assistant.llm.prompt_cache`), so a restarted
  server answers its first question without re-reading the articles (~18 s on this machine).
* Greedy decoding under the reply's JSON grammar checks the chosen token against the grammar first
  (:mod:`assistant.llm.grammar_sampling`): the same tokens, ~15 ms less per token for Qwen.
* ``--n_batch 64`` and ``--cache_size`` 512 MiB bound the memory of that cache. Each saved state carries an
  uncounted copy of the logits buffer (``n_batch x n_vocab`` floats: 311 MB for Qwen at the default 512), and
  ``--cache_size`` only counts the KV part: measured, the server grew ~330 MB per request (would reach ~12 GB);
  with 64 it grows ~60 MB per request up to the cap. Prompt speed on CPU did not change measurably.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.metadata
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from assistant.errors import UserError
from assistant.llm.server_child import PARENT_PID_VARIABLE, STATE_DIR_VARIABLE
from assistant.settings import Settings

log = logging.getLogger(__name__)

_LIVE: set[LocalLLMServer] = set()
_LIVE_LOCK = threading.Lock()
_STOP_GRACE_S = 5.0
_PROMPT_CACHE_BYTES = 512 << 20
_BATCH = 64
_LOG_LIMIT_BYTES = 5 << 20
# A server that dies is restarted on its port, but not more than this many times in this many seconds (a model
# that crashes at every request must not be restarted forever).
_RESTARTS = 3
_RESTART_WINDOW_S = 300.0


class LocalLLMServer:
    """A llama.cpp OpenAI-compatible server for one GGUF file, alive for the duration of a ``with`` block.

    ``base_url`` (``http://127.0.0.1:PORT/v1``) is valid once the block is entered, that is once the model is
    loaded and ``GET /v1/models`` answers, and stays valid: a server that dies (killed, out of memory) is started
    again on the same port. The server is stopped on exit, at interpreter exit (atexit), and by its own watchdog
    if this process is killed.
    """

    def __init__(
        self,
        model_path: Path,
        settings: Settings,
        *,
        startup_timeout: float = 180.0,
        log_path: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.settings = settings
        self.startup_timeout = startup_timeout
        self.log_path = log_path or Path(settings.cache_dir).expanduser() / "llama-server.log"
        self.state_dir = prompt_state_dir(self.model_path, settings)
        self.port: int | None = None
        self._log_offset = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # Set while a started server is serving, cleared while the watchdog restarts a dead one.
        self._serving = threading.Event()
        self._restarts: list[float] = []

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL of the running server (ends in ``/v1``)."""
        if self.port is None or self._process is None:
            raise RuntimeError("the local LLM server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LocalLLMServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def command(self, port: int) -> list[str]:
        """The child's command line (public so the flags can be shown and tested)."""
        threads = str(self.settings.local_llm_threads)
        batch_threads = str(self.settings.local_llm_batch_threads)
        return [
            sys.executable, "-m", "assistant.llm.server_child",
            "--model", str(self.model_path),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_threads", threads,
            "--n_threads_batch", batch_threads,
            "--n_ctx", str(self.settings.local_llm_ctx),
            "--n_batch", str(_BATCH),
            "--model_alias", self.settings.llm_model,
            "--logits_all", "False",
            "--interrupt_requests", "False",
            "--cache", "True",
            "--cache_type", "ram",
            "--cache_size", str(_PROMPT_CACHE_BYTES),
        ]  # fmt: skip

    def start(self) -> None:
        """Start the child and wait until it serves; UserError (with the log's last lines) if it cannot."""
        if self._process is not None:
            return
        if not self.model_path.is_file():
            raise UserError(f"model file {self.model_path} does not exist")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            self._stopping.clear()
            self.port = _free_port()
            self._spawn()
            try:
                self._wait_ready()
                log.info("local LLM server ready at %s (log: %s)", self.base_url, self.log_path)
                self._serving.set()
                threading.Thread(target=self._restart_when_dead, daemon=True, name="llm-server-watch").start()
                return
            except _PortTaken:
                # Another program took the port between our probe and the server's bind: try another.
                self.stop()
                if attempt == 2:
                    raise UserError(
                        f"the local LLM server could not bind a port on 127.0.0.1 (see {self.log_path})"
                    ) from None
            except BaseException:
                self.stop()
                raise

    def stop(self) -> None:
        """Stop the child: SIGTERM, then SIGKILL after a grace period. Safe to call twice."""
        self._stopping.set()
        with self._lock:
            process, self._process = self._process, None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            # uvicorn waits for in-flight requests on SIGTERM; a long generation must not hold up exit.
            process.kill()
            process.wait()

    def wait_until_serving(self) -> None:
        """Block while a dead server is being restarted (at most its start-up timeout), so that a question asked
        meanwhile is answered by the new server instead of failing on a refused connection."""
        self._serving.wait(self.startup_timeout)

    def _restart_when_dead(self) -> None:
        """Start the server again, on the same port, whenever it exits without being asked to.

        The question being answered when it died gets one clear error; the next finds the server back at the same
        URL (the client's retries may even bridge the gap), with the article prefix restored from its saved state
        rather than re-read. Runs in a daemon thread from :meth:`start` until :meth:`stop`.
        """
        while True:
            with self._lock:
                process = self._process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            self._serving.clear()
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < _RESTART_WINDOW_S] + [now]
            if len(self._restarts) > _RESTARTS:
                log.error(
                    "the local LLM server exited with status %s%s, %d times in %.0f s: not restarting it (log: %s)",
                    code, _hint(code), len(self._restarts), _RESTART_WINDOW_S, self.log_path,
                )  # fmt: skip
                self._serving.set()  # nobody waits for a server that will not come back
                return
            log.warning(
                "the local LLM server exited with status %s%s; restarting it (log: %s)",
                code, _hint(code), self.log_path,
            )  # fmt: skip
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()
            try:
                self._wait_ready()
            except Exception as error:  # it cannot load, its port was taken, or stop() came meanwhile
                if not self._stopping.is_set():
                    log.error("the local LLM server could not be restarted: %s", error)
            finally:
                self._serving.set()

    def _spawn(self) -> None:
        env = dict(os.environ)
        env["OMP_WAIT_POLICY"] = "passive"
        env["PYTHONUNBUFFERED"] = "1"
        env[PARENT_PID_VARIABLE] = str(os.getpid())
        env[STATE_DIR_VARIABLE] = str(self.state_dir)
        # The child runs its module by name: make it importable even when the project is not pip-installed.
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        _rotate(self.log_path)
        # Appended to, not truncated: another assistant process may have its server writing here too.
        with self.log_path.open("ab") as log_file:
            log_file.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} port {self.port}\n".encode())
            log_file.flush()
            self._log_offset = log_file.tell()
            self._process = subprocess.Popen(
                self.command(self.port or 0),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop the server in order
            )
        with _LIVE_LOCK:
            _LIVE.add(self)

    def _wait_ready(self) -> None:
        assert self._process is not None
        url = f"http://127.0.0.1:{self.port}/v1/models"
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                tail = _log_tail(self.log_path, self._log_offset)
                if "address already in use" in tail.lower():
                    raise _PortTaken
                raise UserError(
                    f"the local LLM server exited with status {code}{_hint(code)} while loading "
                    f"{self.model_path.name}: {tail or 'no output'} (full log: {self.log_path})"
                )
            if _answers(url):
                return
            if time.monotonic() > deadline:
                tail = _log_tail(self.log_path, self._log_offset) or "none"
                raise UserError(
                    f"the local LLM server did not answer within {self.startup_timeout:.0f} s "
                    f"(last log lines: {tail}; full log: {self.log_path})"
                )
            time.sleep(0.2)


def _hint(code: int) -> str:
    """What an exit status says about its cause, when it says something a user can act on."""
    if code == -signal.SIGILL:
        return (
            " (an instruction this CPU cannot run: llama-cpp-python was built for another CPU; rebuild it with "
            "CMAKE_ARGS=-DGGML_NATIVE=OFF pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python)"
        )
    return ""


def prompt_state_dir(model_path: Path, settings: Settings) -> Path:
    """Where the server keeps saved prompt states: one directory per model file, context size and llama.cpp build.

    A saved state can only be restored into the same model with the same context layout; naming the directory
    after all of them means a changed model or upgrade starts from an empty directory instead of failing.
    """
    stat = model_path.stat() if model_path.is_file() else None
    identity = "|".join(
        str(part)
        for part in (
            model_path.resolve(),
            stat.st_size if stat else "",
            stat.st_mtime_ns if stat else "",
            settings.local_llm_ctx,
            _BATCH,
            importlib.metadata.version("llama-cpp-python"),
        )
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Path(settings.cache_dir).expanduser() / "prompt-states" / f"{model_path.stem}-{digest}"


class _PortTaken(Exception):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    # Plain urllib: proxies are ignored for this loopback probe, as HTTP(S)_PROXY must not capture it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _rotate(path: Path) -> None:
    """Keep the log bounded: past the limit it becomes ``.1`` (replacing the previous one) at the next start."""
    try:
        if path.stat().st_size > _LOG_LIMIT_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass


def _log_tail(path: Path, offset: int = 0, lines: int = 3) -> str:
    """The last few meaningful lines this run wrote (from ``offset``) joined on one line, for an error message."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(offset, size - 8192))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


@atexit.register
def _stop_all() -> None:
    """Stop every server still running when the interpreter exits (a forgotten ``stop()``, an uncaught error)."""
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()
