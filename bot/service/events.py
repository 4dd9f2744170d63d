"""Domain events: what happened to a message, published by the service and heard by whatever listens
(metrics, the staff notifier). Handlers run synchronously in the publishing thread; a handler that
raises is logged and never fails the message's turn."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessageReceived:
    """A new (not duplicate) message from a user was stored."""

    channel: str
    kind: str
    conversation_id: int


@dataclass(frozen=True)
class Answered:
    """The bot answered a message; `seconds` from receiving it to the stored reply."""

    channel: str
    conversation_id: int
    seconds: float
    mode: str


@dataclass(frozen=True)
class HandoffOpened:
    """A conversation was handed to staff: why, the question, and the bot's attempt at it."""

    conversation_id: int
    channel: str
    reason: str
    question: str
    attempt: str | None
    user: str
    created_at: datetime


@dataclass(frozen=True)
class StaffReplied:
    """A staff member's reply was stored and queued for the user."""

    conversation_id: int
    channel: str
    staff: str
    message_id: int


@dataclass(frozen=True)
class Delivered:
    """A reply reached its platform (through the outbox, or carried by the channel itself)."""

    channel: str
    kind: str
    delivery_id: int


@dataclass(frozen=True)
class DeliveryFailed:
    """An attempt to deliver a reply failed; `final` when no retry follows."""

    channel: str
    delivery_id: int
    error: str
    final: bool


Event = MessageReceived | Answered | HandoffOpened | StaffReplied | Delivered | DeliveryFailed
E = TypeVar("E", MessageReceived, Answered, HandoffOpened, StaffReplied, Delivered, DeliveryFailed)


class EventBus:
    """Handlers by event type; thread-safe subscription and publication."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self._lock = threading.Lock()

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        with self._lock:
            self._handlers[event_type].append(handler)

    def publish(self, event: Event) -> None:
        with self._lock:
            handlers = list(self._handlers.get(type(event), ()))
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, type(event).__name__)
