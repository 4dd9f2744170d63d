"""The Telegram channel: a bot answering in private chats and groups.

Design: stdbot already has what python-telegram-bot's `Application` would add — its own dispatcher (the
handlers), outbox (sending with retries) and lifespan — so the channel uses PTB's `Bot` directly, for
the Bot API calls, the Update / Message types and its error classes, without an Application or Updater.

Modules: inbound (the webhook route and the service handling updates), sender (TelegramChannel), api (PTB's
`Bot` from synchronous code), updates (updates as stdbot messages), polling (getUpdates in one worker),
budget (the per-group sending budget)."""

from __future__ import annotations

from telegram.request import BaseRequest

from bot.channels.base import Platform, PlatformContext
from bot.channels.telegram.inbound import TelegramService
from bot.channels.telegram.updates import CHANNEL

__all__ = ["CHANNEL", "platform"]


def platform(context: PlatformContext, *, request: BaseRequest | None = None) -> Platform | None:
    """The Telegram platform, or None while [telegram] token is unset. `request` replaces PTB's HTTP
    client (tests play the Bot API with it)."""
    if not context.settings.telegram.enabled:
        return None
    service = TelegramService(context, request=request)
    return Platform(channel=service.channel, router=service.router(), start=service.start, stop=service.stop)
