"""A headless chat user of ``assistant serve``: the Socket.IO exchange the Chainlit 2.12 frontend performs.

Used by ``bench/concurrency.py`` and ``tests/test_replicas.py`` to talk to a real app without a browser. What the
frontend does, read from Chainlit's ``socket.py`` and its bundled ``index-*.js``:

0. sign in as the page does without a sign-in page (``POST /auth/header``: each browser is its own user, see
   ``assistant/chat/identity.py``) and keep its cookies;
1. connect to ``/ws/socket.io`` with the cookies and ``auth = {clientType, sessionId, threadId, userEnv,
   chatProfile}`` (a new uuid4 ``sessionId`` per tab; ``userEnv`` a JSON string);
2. emit ``connection_successful``; the server runs ``on_chat_start`` (this app then emits ``set_commands``);
3. send a question as ``client_message`` ``{message: {id, threadId, name, type: "user_message", output,
   createdAt, metadata}, fileReferences: []}``;
4. the reply arrives as ``task_start``, ``new_message``/``update_message`` (steps and messages),
   ``stream_start`` + ``stream_token`` (the streamed answer) and ``task_end`` when ``on_message`` returns (only a
   ``task_end`` after the question's ``task_start`` counts: the chat's start emits one too).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import socketio

ERROR_MARK = "⚠️"


@dataclass
class Reply:
    """What one question produced, timed from the moment it was sent; ``steps`` maps each step's name to its output."""

    question: str
    sent_at: float
    first_token_s: float | None = None
    total_s: float | None = None
    content: str = ""
    steps: dict[str, str] = field(default_factory=dict)
    elements: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


class ChatSession:
    """One browser tab's worth of chat: connect, ask questions one at a time, close."""

    def __init__(self, base_url: str, language: str = "en-US") -> None:
        self.base_url = base_url.rstrip("/")
        self.language = language
        self.client = socketio.AsyncClient(reconnection=False)
        self._started = asyncio.Event()
        self._done = asyncio.Event()
        self._working = False
        self._reply: Reply | None = None
        self._messages: dict[str, dict[str, Any]] = {}
        for event in ("set_commands", "stream_start", "stream_token", "new_message", "update_message", "element",
                      "task_start", "task_end"):  # fmt: skip
            self.client.on(event, self._handler(event))

    async def connect(self, timeout: float = 60.0) -> None:
        """Open the socket as the frontend does and wait until the chat has started (``set_commands``)."""
        auth = {"clientType": "webapp", "sessionId": str(uuid.uuid4()), "threadId": "",
                "userEnv": json.dumps({}), "chatProfile": ""}  # fmt: skip
        headers = {"Accept-Language": self.language}
        cookies = await self._sign_in(timeout)
        if cookies:
            headers["Cookie"] = cookies
        await self.client.connect(
            self.base_url, socketio_path="/ws/socket.io", transports=["websocket"], auth=auth,
            headers=headers, wait_timeout=timeout,
        )  # fmt: skip
        await self.client.emit("connection_successful")
        await asyncio.wait_for(self._started.wait(), timeout)

    async def _sign_in(self, timeout: float) -> str:
        """The cookies of a browser's sign-in (its identity and Chainlit's token), as one Cookie header value;
        empty when the server asks for a password instead."""
        import httpx

        async with httpx.AsyncClient(base_url=self.base_url, timeout=timeout) as http:
            response = await http.post("/auth/header", headers={"Accept-Language": self.language})
            if response.status_code != 200:
                return ""
            return "; ".join(f"{name}={value}" for name, value in http.cookies.items())

    async def ask(self, question: str, timeout: float) -> Reply:
        """Send one question and wait for the end of its task; a timeout is recorded as the reply's error."""
        self._reply = Reply(question, time.perf_counter())
        self._messages.clear()
        self._done.clear()
        self._working = False
        message = {
            "id": str(uuid.uuid4()), "threadId": "", "name": "User", "type": "user_message", "output": question,
            "createdAt": datetime.now(UTC).isoformat(), "metadata": {"location": self.base_url},
        }  # fmt: skip
        await self.client.emit("client_message", {"message": message, "fileReferences": []})
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            self._reply.error = f"no answer within {timeout:.0f} s"
        return self._finish(self._reply)

    async def close(self) -> None:
        """Tell the server to drop the session, then disconnect."""
        if self.client.connected:
            await self.client.emit("clear_session")
            await self.client.disconnect()

    def _finish(self, reply: Reply) -> Reply:
        """The last assistant message is the answer (the verified one replaces the streamed one)."""
        answers = [m for m in self._messages.values() if m.get("type") == "assistant_message"]
        reply.steps = {
            str(m.get("name")): str(m.get("output") or "")
            for m in self._messages.values()
            if m.get("type") not in ("assistant_message", "user_message")
        }
        if answers:
            reply.content = str(answers[-1].get("output") or "")
        failed = [m for m in self._messages.values() if m.get("isError")]
        if reply.error is None and failed:  # an exception in the app: Chainlit sends it as an error step/message
            reply.error = str(failed[-1].get("output") or "error")
        if reply.error is None and (not reply.content or reply.content.startswith(ERROR_MARK)):
            reply.error = reply.content or "no answer message"
        if reply.total_s is None:
            reply.total_s = time.perf_counter() - reply.sent_at
        return reply

    def _handler(self, event: str) -> Any:
        async def handle(data: Any = None) -> None:
            self._on(event, data)

        return handle

    def _on(self, event: str, data: Any) -> None:
        """Record one server event against the question in flight."""
        if event == "set_commands":
            self._started.set()
            return
        reply = self._reply
        if reply is None:
            return
        now = time.perf_counter() - reply.sent_at
        if event == "stream_token" and reply.first_token_s is None:
            reply.first_token_s = now
        elif event in ("new_message", "update_message", "stream_start") and isinstance(data, dict):
            self._messages[str(data.get("id"))] = data
        elif event == "element" and isinstance(data, dict):
            reply.elements.append(data)
        elif event == "task_start":
            self._working = True
        elif event == "task_end" and self._working:  # a task_end of the chat's start may still be in flight
            reply.total_s = now
            self._done.set()
