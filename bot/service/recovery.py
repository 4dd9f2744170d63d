"""Messages accepted but never answered — the process died mid-answer, or the database went away — are
found and finished: at start-up and then every `interval_s`, each inbound message stored more than
`grace_s` ago whose turn never finished is answered now (through the outbox, i.e. the channel's
asynchronous API, since the platform's synchronous window is gone) or, when older than `max_age_s`,
handed to staff with an apology. Each is finished once across workers: the turn runs under the
conversation's lock and re-checks that nobody finished it meanwhile."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.messages import utcnow
from bot.service.dispatcher import Dispatcher
from bot.service.worker import LoopWorker
from bot.store import Store
from config.errors import StoreUnavailable

log = logging.getLogger(__name__)

RECOVERED_KINDS = ("text", "handoff_request")


class Recovery:
    """Finishes the turns that were cut short."""

    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        *,
        grace_s: float = 60.0,
        max_age_s: float = 900.0,
        interval_s: float = 30.0,
        batch: int = 50,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.grace = timedelta(seconds=grace_s)
        self.max_age = timedelta(seconds=max_age_s)
        self.batch = batch
        self._clock = clock
        self._worker = LoopWorker("stdbot-recovery", self._round, interval_s)

    def run_once(self, now: datetime | None = None) -> int:
        """Finish every cut-short turn found at `now`; how many were finished here."""
        now = now or self._clock()
        finished = 0
        for stored in self.store.inbound.unhandled(now - self.grace, self.batch):
            if stored.kind not in RECOVERED_KINDS:
                self.store.inbound.mark_handled(stored.id, now)  # 👍/👎 and events: nothing to answer
                continue
            try:
                if now - stored.created_at > self.max_age:
                    result = self.dispatcher.hand_over(stored)
                else:
                    result = self.dispatcher.recover(stored)
            except StoreUnavailable:
                raise  # the whole round waits for the database
            except Exception:  # this one stays unhandled: retried, and handed to staff once too old
                log.exception("recovering message %s failed", stored.id)
                continue
            if not result.duplicate:
                log.warning("消息 %s 未及时回答，已补答或转人工 / message %s recovered", stored.id, stored.id)
                finished += 1
        return finished

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def _round(self) -> bool:
        self.run_once()
        return False
