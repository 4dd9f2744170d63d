"""Channels: where users write from and where replies go back (one module per platform)."""

from __future__ import annotations

from bot.channels.base import Channel, ChannelRegistry

__all__ = ["Channel", "ChannelRegistry"]
