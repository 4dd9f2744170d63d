"""The messaging platforms the app can serve besides the web chat. Each platform package offers a factory,
`platform`, that returns None while its settings are empty (the channel is simply off) and otherwise its
Platform."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.channels import telegram, wechat_mp, wecom_bot
from bot.channels.base import Platform, PlatformContext
from bot.channels.wecom import app as wecom_app
from bot.channels.wecom import kf as wechat_kf

PlatformFactory = Callable[[PlatformContext], Platform | None]

PLATFORM_FACTORIES: tuple[PlatformFactory, ...] = (
    wechat_mp.platform,
    wecom_app.platform,
    wechat_kf.platform,
    wecom_bot.platform,
    telegram.platform,
)


def enabled_platforms(
    context: PlatformContext, factories: Sequence[PlatformFactory] = PLATFORM_FACTORIES
) -> list[Platform]:
    """The platforms whose settings are filled in, in the order their routes are added."""
    found = (factory(context) for factory in factories)
    return [platform for platform in found if platform is not None]
