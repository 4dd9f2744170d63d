"""The WeCom self-built app (企业微信自建应用): members write to the app, the bot answers through
`message/send`.

Callbacks at /wecom/app: URL verification echoes the decrypted echostr; a message is decrypted, answered
with an empty 200 at once, and handed to the dispatcher in the background; its answer (and any staff reply)
goes out through the outbox and `send`. The chat is the member's UserID.

Modules: inbound (the callback routes), sender (the channel the outbox delivers through)."""

from __future__ import annotations

from bot.channels._workers import BackgroundWork
from bot.channels.base import Platform, PlatformContext
from bot.channels.wecom.api import QyapiClient
from bot.channels.wecom.app.inbound import build_router
from bot.channels.wecom.app.sender import CHANNEL, WecomAppChannel
from bot.channels.wecom.callback import WecomXmlCallback
from bot.service.sent_pieces import SentPieces

__all__ = ["CHANNEL", "platform"]


def platform(context: PlatformContext) -> Platform | None:
    """The self-built app, when [wecom_app] is filled in."""
    settings = context.settings.wecom_app
    if not settings.enabled:
        return None
    settings.require(CHANNEL, "app_id", "app_secret", "aes_key", "agent_id")
    assert settings.agent_id is not None
    client = QyapiClient(settings, context.store, context.locks, CHANNEL)
    channel = WecomAppChannel(client, settings.agent_id, SentPieces(context.store, CHANNEL))
    work = BackgroundWork(CHANNEL)
    callback = WecomXmlCallback(CHANNEL, settings, context.store)
    router = build_router(callback, settings.agent_id, work, context.sink)
    return Platform(channel=channel, router=router, stop=work.stop)
