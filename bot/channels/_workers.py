"""Work a callback hands off so it can answer the platform at once: a bounded pool of threads whose
failures are logged, drained (for a while) when the app stops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

log = logging.getLogger(__name__)


class BackgroundWork:
    """A named thread pool for one channel's callbacks."""

    def __init__(self, name: str, workers: int = 4, drain_s: float = 15.0) -> None:
        self.name = name
        self.drain_s = drain_s
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"stdbot-{name}")
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any]:
        future = self._executor.submit(job, *args)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._finished)
        return future

    def stop(self) -> None:
        """Take no more work; wait up to `drain_s` for what is running (its messages are stored already
        or will be delivered again by the platform)."""
        with self._lock:
            pending = set(self._pending)
        self._executor.shutdown(wait=False, cancel_futures=False)
        if pending:
            _, left = wait(pending, timeout=self.drain_s)
            if left:
                log.warning("%s: %d background jobs still running at shutdown", self.name, len(left))

    def _finished(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)
        if not future.cancelled() and (exc := future.exception()) is not None:
            log.error("%s: background job failed", self.name, exc_info=exc)
