"""Real processes for fault and bad-input tests: a scriptable OpenAI-compatible stub and an `assistant ask` driver.

The stub is a separate process (so a test can SIGKILL it mid-reply) serving ``/v1/chat/completions`` and
``/v1/models`` on 127.0.0.1. Its behaviour is a list of modes consumed one per chat request, the last repeating:

* ``ok``: for a schema-constrained request, one claim that copies the first numbered sentence of the prompt, cited
  by its id, and "yes" to a request for a verdict (so it passes verification); for any other request (a
  translation) the last message echoed back; streamed when the request asks for a stream;
* ``500``: HTTP 500 with an OpenAI-style error body;
* ``malformed``: HTTP 200 whose body is cut-off JSON;
* ``html``: HTTP 200 with an HTML page (a login portal or proxy in front of the server);
* ``malformed-sse``: a streamed reply whose second event is cut-off JSON;
* ``hang``: accept the request and never answer;
* ``stream-hang``: send the headers and the first piece of a streamed reply, then never send more.

It exits when its stdin closes (the test process died), prints ``port N`` once listening and
``request I MODE BYTES`` when it starts answering request I, so a test can act at a known moment.
:class:`AskProcess` runs ``assistant ask --json`` and feeds it one question at a time, and
:func:`store_contents` is what a fault or a refused input must leave unchanged.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.store import PassageStore

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

STUB = r"""
import json, os, re, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
modes = sys.argv[2:] or ["ok"]
count = [0]

def completion(content, chunk=False):
    if chunk:
        choice = {"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": None}
        kind = "chat.completion.chunk"
    else:
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        kind = "chat.completion"
    return {"id": "stub", "object": kind, "created": 1, "model": "stub", "choices": [choice]}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, kind="application/json"):
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        self.send(200, json.dumps({"object": "list", "data": [{"id": "stub-model", "object": "model"}]}).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = json.loads(body)
        index = count[0]
        count[0] += 1
        mode = modes[min(index, len(modes) - 1)]
        print(f"request {index} {mode} {len(body)}", flush=True)
        if mode == "500":
            return self.send(500, b'{"error": {"message": "stub server error"}}')
        if mode == "malformed":
            return self.send(200, b'{"id": "stub", "choices": [{"mess')
        if mode == "html":
            return self.send(200, b"<html><body>Please log in</body></html>", "text/html")
        if mode == "hang":
            time.sleep(3600)
        prompt = "\n".join(m.get("content") or "" for m in request["messages"])
        found = re.search(r"^(S\d+): (.+)$", prompt, re.MULTILINE)
        copy = [{"answer": found.group(2)[:200], "evidence": [found.group(1)]}] if found else []
        claim = {"claims": copy}
        if "verdict" in json.dumps(request.get("response_format")):
            claim = {"verdict": "yes"}
        echo = request["messages"][-1].get("content") or ""
        content = json.dumps(claim, ensure_ascii=False) if "response_format" in request else echo
        if not request.get("stream"):
            return self.send(200, json.dumps(completion(content)).encode())
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        half = len(content) // 2
        self.chunk(b"data: " + json.dumps(completion(content[:half], True)).encode() + b"\n\n")
        if mode == "stream-hang":
            time.sleep(3600)
        if mode == "malformed-sse":
            self.chunk(b"data: {broken\n\n")
        else:
            self.chunk(b"data: " + json.dumps(completion(content[half:], True)).encode() + b"\n\n")
            last = completion("", True)
            last["choices"][0]["finish_reason"] = "stop"
            self.chunk(b"data: " + json.dumps(last).encode() + b"\n\ndata: [DONE]\n\n")
        self.chunk(b"")

    def chunk(self, data):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

def exit_with_parent():
    sys.stdin.read()  # end of file: the test process is gone
    os._exit(0)

threading.Thread(target=exit_with_parent, daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
"""


class LineReader:
    """Lines of a child's pipe, read by a thread so a test can wait for one with a deadline."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def next(self, timeout: float) -> str:
        """The next line; AssertionError when none comes within ``timeout`` seconds or the pipe closes."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout:g} s (after {self.seen[-3:]})") from None
        if line is None:
            raise AssertionError(f"the pipe closed (after {self.seen[-3:]})")
        self.seen.append(line)
        return line

    def rest(self, timeout: float) -> str:
        """Everything until the pipe closes (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the pipe stayed open for {timeout:g} s") from None
            if line is None:
                return "".join(out)
            out.append(line)


class StubLLM:
    """The stub server in its own process; ``kill()`` is a SIGKILL, as when a server crashes."""

    def __init__(self, *modes: str, port: int = 0) -> None:
        self.process = subprocess.Popen(
            [PYTHON, "-c", STUB, str(port), *modes],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out = LineReader(self.process.stdout)
        self.port = int(self.out.next(30).split()[1])
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def wait_request(self, timeout: float = 60) -> tuple[str, int]:
        """The mode and body size (bytes) of the next request the stub starts answering."""
        line = self.out.next(timeout)
        assert line.startswith("request "), line
        _, _, mode, size = line.split()
        return mode, int(size)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


class AskProcess:
    """``assistant ask --json`` kept running: one question in, one JSON line out, as a script would use it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [PYTHON, "-m", "assistant.cli", "ask", "--json"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.out = LineReader(self.process.stdout)
        self.err = LineReader(self.process.stderr)

    def ask(self, question: str, timeout: float = 120) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        return json.loads(self.out.next(timeout))

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Close stdin and return the exit status and everything written to stderr."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        stderr = self.err.rest(timeout)
        return self.process.wait(timeout=timeout), stderr

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def store_contents(store: PassageStore) -> tuple[Any, ...]:
    """What a reader can get from the store: articles with their versions, passages, and the invariants' check."""
    return (
        [(a.doc_id, a.version, a.text) for a in store.articles()],
        [(p.id, p.text) for p in store.passages()],
        store.verify(),
    )
