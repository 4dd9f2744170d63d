"""Telegram lets a bot post about 20 messages a minute into one group. Every worker process sends, so
the budget is kept in the store: the send times of the last minute per chat, read and written under a
cross-process lock for the chat."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.channels._tokens import KeyedLock
from bot.store import Store

WINDOW_S = 60.0


class ChatBudget:
    """At most `per_minute` messages into one chat in any 60 seconds, across workers."""

    def __init__(
        self,
        store: Store,
        locks: KeyedLock,
        per_minute: int,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.locks = locks
        self.per_minute = per_minute
        self._clock = clock

    def take(self, chat_id: str, count: int = 1) -> float:
        """Spend `count` messages (at most a minute's worth) for `chat_id`: 0.0 when spent, else the
        seconds until the chat has room for them (nothing spent)."""
        count = max(1, min(count, self.per_minute))
        key = f"telegram:budget:{chat_id}"
        with self.locks.hold(key):
            now = self._clock()
            epoch = now.timestamp()
            sent = sorted(t for t in _times(self.store.channel_state.get(key, now)) if epoch - t < WINDOW_S)
            over = len(sent) + count - self.per_minute
            if over > 0:
                return max(sent[over - 1] + WINDOW_S - epoch, 0.001)
            sent.extend([epoch] * count)
            self.store.channel_state.put(key, json.dumps(sent), now + timedelta(seconds=WINDOW_S))
            return 0.0


def _times(value: str | None) -> list[float]:
    if not value:
        return []
    try:
        loaded = json.loads(value)
    except ValueError:
        return []
    return [float(t) for t in loaded if isinstance(t, int | float)] if isinstance(loaded, list) else []
