"""What a messaging platform is made of (its channel, routes and workers) and built from (settings, the
store, the message sink, the outbox)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from fastapi import APIRouter

from bot.channels._tokens import KeyedLock
from bot.messages import IncomingMessage
from bot.service.channels import Channel
from bot.store import Store
from config.settings import Settings

if TYPE_CHECKING:
    from bot.service.dispatcher import HandleResult
    from bot.service.outbox import Outbox


class MessageSink(Protocol):
    """Where a platform hands the messages it receives (the dispatcher)."""

    def handle(self, message: IncomingMessage, *, hold_delivery_s: float = 0.0) -> HandleResult: ...


@dataclass(frozen=True)
class PlatformContext:
    """What a platform is built from: settings, the store and locks, the sink for what users send, and the
    outbox for replies the platform delivers itself."""

    settings: Settings
    store: Store
    locks: KeyedLock
    sink: MessageSink
    outbox: Outbox


@dataclass(frozen=True)
class Platform:
    """One enabled platform: its channel (for the outbox), its callback routes, and what runs beside them."""

    channel: Channel
    router: APIRouter | None = None
    start: Callable[[], None] = field(default=lambda: None)
    stop: Callable[[], None] = field(default=lambda: None)
