"""The messaging platforms the app can serve besides the web chat. Each platform module offers a factory
that returns None while its settings are empty (the channel is simply off) and otherwise its Channel
(for the outbox), its callback routes, and anything that runs beside them (a polling loop)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter

from bot.channels.access_token import KeyedLock
from bot.channels.base import Channel
from bot.store import Store
from config.settings import Settings


@dataclass(frozen=True)
class PlatformContext:
    """What a platform factory may use."""

    settings: Settings
    store: Store
    locks: KeyedLock


@dataclass(frozen=True)
class Platform:
    """One enabled platform."""

    channel: Channel
    router: APIRouter | None = None
    start: Callable[[], None] = field(default=lambda: None)
    stop: Callable[[], None] = field(default=lambda: None)


PlatformFactory = Callable[[PlatformContext], Platform | None]


def platform_factories() -> tuple[PlatformFactory, ...]:
    """Every platform stdbot knows, in the order their routes are added."""
    from bot.channels import telegram, wechat_kf, wechat_mp, wecom_app, wecom_bot

    return (wechat_mp.platform, wecom_app.platform, wechat_kf.platform, wecom_bot.platform, telegram.platform)


def enabled_platforms(
    context: PlatformContext, factories: Sequence[PlatformFactory] | None = None
) -> list[Platform]:
    """The platforms whose settings are filled in."""
    found = (factory(context) for factory in (platform_factories() if factories is None else factories))
    return [platform for platform in found if platform is not None]
