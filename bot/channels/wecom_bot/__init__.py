"""The WeCom 智能机器人 channel (AI bot answering in group and single chats): route `/wecom/bot`,
settings [wecom_bot].

GET verifies the URL (the encrypted echostr is decrypted and returned). POST carries an encrypted JSON
callback: a message gets a streamed reply (the answer when it is ready within `first_reply_wait_s`, else
a placeholder while a worker thread answers), each stream refresh gets the stream's current content
until `finish: true`. The streams live in the store (bot.channels.wecom_bot.streams), so a refresh may land
on any worker. Replies outside a callback (staff) go through the conversation's latest response_url
(bot.channels.wecom_bot.sender). Every callback passes the edge first: body limit, signature, freshness,
replay.

Modules: inbound (the callback routes), sender (delivery through response_url), crypto (the callback
cipher), messages (callbacks in, passive replies out), streams (streamed replies in the store), answers
(answering streamed messages in the background)."""

from __future__ import annotations

from bot.channels.base import Platform, PlatformContext
from bot.channels.wecom_bot.inbound import WecomBotCallbacks, build_router
from bot.channels.wecom_bot.sender import CHANNEL

__all__ = ["CHANNEL", "platform"]


def platform(context: PlatformContext) -> Platform | None:
    """The 智能机器人 platform; None while [wecom_bot] token is unset."""
    settings = context.settings.wecom_bot
    if not settings.enabled:
        return None
    settings.require("wecom_bot", "aes_key")
    callbacks = WecomBotCallbacks(context)
    return Platform(channel=callbacks.channel, router=build_router(callbacks), stop=callbacks.stop)
