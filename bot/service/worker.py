"""The one kind of background loop the service runs (the outbox, the staff notifier, Telegram polling): a
daemon thread that runs a round every interval or as soon as it is woken. A round that raises is logged
and the loop goes on (the database may be away for a while); a round that says there is more to do runs
again at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Round = Callable[[], bool]  # True: more is waiting, run again without waiting


class LoopWorker:
    """Runs `round` in a daemon thread named `name` until stopped; with `last_round` it runs once more
    after being told to stop (to hand over what is queued in memory)."""

    def __init__(self, name: str, round: Round, interval_s: float, *, last_round: bool = False) -> None:
        self.name = name
        self.interval_s = interval_s
        self._round = round
        self._last_round = last_round
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run a round now rather than at the end of the interval."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            if not self._logged_round():
                self._wake.wait(self.interval_s)
        if self._last_round:
            self._logged_round()

    def _logged_round(self) -> bool:
        try:
            return self._round()
        except Exception:
            log.exception("%s: round failed", self.name)
            return False
