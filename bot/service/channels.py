"""What the outbox sends through: a channel is a name and a synchronous `send`; the registry holds this
process's channels by name (platforms add theirs when the web app builds them)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from bot.messages import DeliveryResult, Reply
from config.errors import SettingsError


@runtime_checkable
class Channel(Protocol):
    """A platform replies can be sent to. `send` blocks until the platform answered; channels that are
    asynchronous inside run their own loop or thread. It returns DeliveryResult(ok=False, retryable=False)
    when trying again cannot help (the user blocked the bot, the chat is gone)."""

    name: str

    def send(self, reply: Reply) -> DeliveryResult: ...


class ChannelRegistry(Mapping[str, Channel]):
    """The channels of this process by name; thread-safe, each name registered once."""

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._lock = threading.Lock()
        self._channels: dict[str, Channel] = {}
        for channel in channels:
            self.register(channel)

    def register(self, channel: Channel) -> Channel:
        with self._lock:
            if channel.name in self._channels:
                raise SettingsError(f"渠道重复注册 / channel registered twice: {channel.name}")
            self._channels[channel.name] = channel
        return channel

    def __getitem__(self, name: str) -> Channel:
        with self._lock:
            return self._channels[name]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._channels))

    def __len__(self) -> int:
        with self._lock:
            return len(self._channels)
