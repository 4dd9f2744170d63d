"""Server-sent events: waiting on a chat's wake-up signal (bot.channels.webchat.ChatSignals) and the
event-stream framing.

The web chat's outbound messages live in the store; a subscriber reads what is new after the last id it
sent. The web chat channel wakes the subscribers of a chat in this process at once; subscribers also poll
the store every second, which covers messages sent by another worker process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

KEEPALIVE_S = 15.0
POLL_S = 1.0
RETRY_MS = 3000


async def wait_for(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set or `timeout` passes; True if it was set. Clears it for the next round."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    finally:
        event.clear()
    return True


def event_frame(event_id: int, data: Any) -> str:
    """One SSE event with an id, so a reconnecting EventSource sends Last-Event-ID."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id}\ndata: {payload}\n\n"


def comment_frame(text: str = "keep-alive") -> str:
    """An SSE comment: keeps proxies from closing an idle stream."""
    return f": {text}\n\n"


def retry_frame(milliseconds: int = RETRY_MS) -> str:
    """Tells the browser how long to wait before reconnecting."""
    return f"retry: {milliseconds}\n\n"
