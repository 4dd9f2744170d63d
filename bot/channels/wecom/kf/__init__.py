"""WeChat customer service (微信客服): WeChat users write to a kf account that stdbot manages through the
WeCom API.

The callback at /wechat/kf says "pull"; the pull (`kf/sync_msg`) runs in the background and hands the
customers' messages to the dispatcher. Replies go out through `kf/send_msg`; the chat id carries both the
kf account and the customer, "<open_kfid>:<external_userid>".

Modules: inbound (the callback route and the pull), sender (the channel the outbox delivers through)."""

from __future__ import annotations

import prompts
from bot.channels._workers import BackgroundWork
from bot.channels.base import Platform, PlatformContext
from bot.channels.wecom.api import QyapiClient
from bot.channels.wecom.callback import WecomXmlCallback
from bot.channels.wecom.kf.inbound import KfSync, build_router, pull_locks
from bot.channels.wecom.kf.sender import CHANNEL, WechatKfChannel
from bot.service.sent_pieces import SentPieces

__all__ = ["CHANNEL", "platform"]


def platform(context: PlatformContext) -> Platform | None:
    """微信客服, when [wechat_kf] is filled in."""
    settings = context.settings.wechat_kf
    if not settings.enabled:
        return None
    settings.require(CHANNEL, "app_id", "app_secret", "aes_key")
    client = QyapiClient(settings, context.store, context.locks, CHANNEL)
    welcome = prompts.load(settings.welcome) if settings.welcome else None
    locks, close_locks = pull_locks(context)
    sync = KfSync(client, context.store, locks, welcome)
    work = BackgroundWork(CHANNEL)

    def stop() -> None:
        work.stop()
        sync.stop()
        close_locks()

    router = build_router(WecomXmlCallback(CHANNEL, settings, context.store), sync, work, context.sink)
    return Platform(
        channel=WechatKfChannel(client, SentPieces(context.store, CHANNEL)), router=router, stop=stop
    )
