"""How many pieces of a stored reply a platform has taken: a reply too long for one platform message goes
out in pieces, and a retried delivery (or the rest of a passive answer) sends only the pieces after them.
Kept in the store's channel state, so every worker sees it, for a few days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.messages import utcnow
from bot.store import Store

KEEP = timedelta(days=7)


class SentPieces:
    """The pieces-sent count of each reply (by stored message id) on one channel."""

    def __init__(
        self, store: Store, channel: str, *, keep: timedelta = KEEP, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.channel = channel
        self.keep = keep
        self._clock = clock

    def count(self, message_id: int | None) -> int:
        """Pieces of the reply already delivered (0 for a reply never stored or never started)."""
        if message_id is None:
            return 0
        value = self.store.channel_state.get(self._key(message_id), self._clock())
        return int(value) if value and value.isdigit() else 0

    def note(self, message_id: int | None, count: int) -> None:
        """The first `count` pieces of the reply were delivered."""
        if message_id is not None:
            self.store.channel_state.put(self._key(message_id), str(count), self._clock() + self.keep)

    def forget(self, message_id: int | None) -> None:
        if message_id is not None:
            self.store.channel_state.delete(self._key(message_id))

    def _key(self, message_id: int) -> str:
        return f"{self.channel}:sent:{message_id}"
