"""The web chat channel: browser sessions signed with the server's key, delivery by waking live streams.

A web chat session is its own chat: the session id is the chat id and the user id. Replies are already in
the store when the outbox hands them here, so `send` stores nothing; it wakes the page's event stream."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer

from bot.messages import DeliveryResult, Reply

CHANNEL = "webchat"
_SALT = "stdbot.webchat.session"


@dataclass(frozen=True)
class ChatSession:
    """A web chat session as the browser keeps it."""

    session_id: str
    token: str


class ChatSessions:
    """Creates sessions and checks their tokens: the token is a signature of the session id."""

    def __init__(self, secret_key: str) -> None:
        self._signer = Signer(secret_key, salt=_SALT)

    def new(self) -> ChatSession:
        session_id = secrets.token_urlsafe(18)
        return ChatSession(
            session_id=session_id, token=self._signer.get_signature(session_id).decode("ascii")
        )

    def valid(self, session_id: str, token: str) -> bool:
        """True when `token` was issued by this server for `session_id`."""
        try:
            return self._signer.verify_signature(session_id, token)
        except BadSignature:
            return False

    @staticmethod
    def message_id(session_id: str, client_message_id: str) -> str:
        """The channel message id of a browser message: unique per session, so retries dedupe."""
        return f"{session_id}:{client_message_id}"


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


class WebchatChannel:
    """Delivers to web chat pages by waking their event streams (in this process; others poll)."""

    name = CHANNEL

    def __init__(self, signals: ChatSignals) -> None:
        self._signals = signals

    def send(self, reply: Reply) -> DeliveryResult:
        self._signals.notify(reply.chat_id)
        message_id = str(reply.message_id) if reply.message_id is not None else None
        return DeliveryResult(ok=True, platform_message_id=message_id)
