"""Server-sent events: a per-chat wake-up signal that threads can ring, and the event-stream framing.

The web chat's outbound messages live in the store; a subscriber reads what is new after the last id it
sent. `ChatSignals.notify` (called by WebchatChannel.send, from any thread) wakes the subscribers of that
chat in this process at once; subscribers also poll the store every second, which covers messages sent
by another worker process."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

KEEPALIVE_S = 15.0
POLL_S = 1.0
RETRY_MS = 3000


class ChatSignals:
    """In-process wake-ups per chat id, bound to the server's event loop once it runs."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the loop the subscribers wait on (called from the app's lifespan)."""
        self._loop = loop

    def notify(self, chat_id: str) -> None:
        """Wake every subscriber of `chat_id`; safe from any thread, a no-op before the loop is bound."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake(chat_id)
            return
        with suppress(RuntimeError):  # the loop closed meanwhile (shutting down): nobody to wake
            loop.call_soon_threadsafe(self._wake, chat_id)

    def _wake(self, chat_id: str) -> None:
        with self._lock:
            events = list(self._waiters.get(chat_id, ()))
        for event in events:
            event.set()

    @contextmanager
    def subscribe(self, chat_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever `chat_id` gets a message, for as long as the block runs."""
        event = asyncio.Event()
        with self._lock:
            self._waiters[chat_id].add(event)
        try:
            yield event
        finally:
            with self._lock:
                waiters = self._waiters.get(chat_id)
                if waiters is not None:
                    waiters.discard(event)
                    if not waiters:
                        del self._waiters[chat_id]

    def subscribers(self, chat_id: str) -> int:
        with self._lock:
            return len(self._waiters.get(chat_id, ()))


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
