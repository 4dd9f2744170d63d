"""Floods: one user sending message after message. Each worker counts the messages of each sender in a
sliding window; over the limit, the web chat refuses with 429 before storing, and other channels (whose
platforms retry refused callbacks) store the message but answer only a request to slow down, once per
window."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from enum import Enum

MAX_SENDERS = 100_000


class Flood(Enum):
    OK = "ok"
    FIRST_OVER = "first_over"  # the first message over the limit in this window: tell the user once
    OVER = "over"


class FloodGuard:
    """At most `per_minute` messages per sender per sliding minute (in this worker)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._told: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, sender: str) -> Flood:
        """Count one message of `sender` (refused ones too: a flood does not earn its way back)."""
        now = self._clock()
        with self._lock:
            times = self._seen.pop(sender, None) or deque()
            while times and times[0] <= now - 60.0:
                times.popleft()
            times.append(now)
            self._seen[sender] = times
            while len(self._seen) > MAX_SENDERS:
                dropped, _ = self._seen.popitem(last=False)
                self._told.pop(dropped, None)
            if len(times) <= self.per_minute:
                return Flood.OK
            if now - self._told.get(sender, float("-inf")) < 60.0:
                return Flood.OVER
            self._told[sender] = now
            return Flood.FIRST_OVER

    def retry_after_s(self, sender: str) -> int:
        """Seconds until `sender` may send again."""
        with self._lock:
            times = self._seen.get(sender)
            if not times or len(times) <= self.per_minute:
                return 0
            return max(1, int(times[-self.per_minute] + 60.0 - self._clock()) + 1)
