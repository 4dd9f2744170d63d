"""The WeChat Official Account (公众号) channel: the `/wechat/mp` callback and the customer-service API.

A text message (or a menu CLICK mapped to a question) goes to the dispatcher in a thread. When the reply
is ready within `passive_budget_s` it is the callback's passive answer; otherwise the callback answers
`success` and the outbox delivers the reply through `message/custom/send` (see
bot.channels.wechat_mp.passive for how the platform's retries of a MsgId never produce a second answer or
lose one). A subscription gets the welcome text; other messages (images, voice…) a notice that only text
questions are answered.

Modules: inbound (the callback routes), sender (the channel the outbox delivers through), api (the
customer-service API and its shared access token), crypto (the signed, optionally encrypted envelope),
passive (passive answers across the platform's retries)."""

from __future__ import annotations

import prompts
from bot.channels.base import Platform, PlatformContext
from bot.channels.wechat_mp.api import CustomMessages, SharedTokenClient
from bot.channels.wechat_mp.crypto import MpEnvelope
from bot.channels.wechat_mp.inbound import MpCallbacks
from bot.channels.wechat_mp.passive import PassiveTurns
from bot.channels.wechat_mp.sender import CHANNEL, WechatMpChannel
from bot.service.sent_pieces import SentPieces

__all__ = ["CHANNEL", "platform"]


def platform(context: PlatformContext) -> Platform | None:
    """The Official Account channel, or None while [wechat] has no token."""
    wechat = context.settings.wechat
    if not wechat.enabled:
        return None
    wechat.require("wechat", "app_id", "app_secret")
    prompts.load(wechat.welcome)  # a missing welcome file fails at startup, not on the first subscriber
    sent = SentPieces(context.store, CHANNEL)
    client = SharedTokenClient(wechat, context.store, context.locks)
    channel = WechatMpChannel(CustomMessages(client), sent)
    turns = PassiveTurns(context.store, CHANNEL, sent)
    callbacks = MpCallbacks(context, MpEnvelope(wechat), turns)
    return Platform(channel=channel, router=callbacks.router(), start=callbacks.start, stop=callbacks.stop)
