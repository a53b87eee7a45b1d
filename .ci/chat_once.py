"""Ask one question over the Chainlit socket as the chat page does; exit 1 unless a cited answer comes back."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from chat_client import ChatSession


async def main(url: str, question: str) -> int:
    session = ChatSession(url, language="fr-FR")
    await session.connect(timeout=120)
    try:
        reply = await session.ask(question, timeout=300)
    finally:
        await session.close()
    print(f"chat answer in {reply.total_s:.1f} s: {reply.content}")
    if reply.error or "[1]" not in reply.content:
        print(f"no cited answer from the chat: {reply.error or reply.content}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
