"""Polling mode, for running without a public URL: a thread long-polls getUpdates and hands each update
over. The app runs several worker processes and Telegram allows one getUpdates caller per bot, so one
worker polls at a time: it holds a lease kept in the store (renewed while it polls; another worker takes
over when it stops or dies and the lease runs out). The offset of the next update is stored after each
update is handled, so a restart neither answers an update again nor skips one."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from telegram import Update

from bot.channels._tokens import KeyedLock
from bot.channels.telegram.api import CALL_SLACK_S, BotClient
from bot.service.outbox import backoff_delay
from bot.store import Store
from config.errors import StoreError

log = logging.getLogger(__name__)

OFFSET_KEY = "telegram:offset"
LEASE_KEY = "telegram:polling"
ALLOWED_UPDATES = ("message", "callback_query")


class PollingLease:
    """Who polls: a holder id with an expiry in the store, taken and renewed under a short lock."""

    def __init__(
        self,
        store: Store,
        locks: KeyedLock,
        lease_s: float,
        *,
        holder: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.locks = locks
        self.lease_s = lease_s
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clock = clock

    def take(self) -> bool:
        """Hold (or renew) the lease; False while another worker holds it."""
        with self.locks.hold(LEASE_KEY):
            now = self._clock()
            current = self.store.channel_state.get(LEASE_KEY, now)
            if current not in (None, self.holder):
                return False
            self.store.channel_state.put(LEASE_KEY, self.holder, now + timedelta(seconds=self.lease_s))
            return True

    def release(self) -> None:
        with self.locks.hold(LEASE_KEY):
            if self.store.channel_state.get(LEASE_KEY, self._clock()) == self.holder:
                self.store.channel_state.delete(LEASE_KEY)


class Poller:
    """The getUpdates loop. `handle` is called for each update in order (in the polling thread); it may
    raise StoreError when the store is away: the update is then fetched and handled again later."""

    def __init__(
        self,
        client: BotClient,
        store: Store,
        lease: PollingLease,
        handle: Callable[[Update], None],
        *,
        poll_timeout_s: int = 25,
        idle_s: float = 5.0,
    ) -> None:
        self.client = client
        self.store = store
        self.lease = lease
        self.handle = handle
        self.poll_timeout_s = poll_timeout_s
        self.idle_s = idle_s
        self._stopping = threading.Event()
        self._guard = threading.Lock()
        self._inflight: concurrent.futures.Future[tuple[Update, ...]] | None = None
        self._thread: threading.Thread | None = None
        self._webhook_cleared = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="stdbot-telegram-polling", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the loop: an open getUpdates is cancelled (its updates are fetched again next time)."""
        if self._thread is None:
            return
        self._stopping.set()
        with self._guard:
            if self._inflight is not None:
                self._inflight.cancel()
        self._thread.join(timeout_s)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def offset(self) -> int | None:
        """The id of the next update to fetch, as stored; None before the first."""
        value = self.store.channel_state.get(OFFSET_KEY)
        return int(value) if value and value.lstrip("-").isdigit() else None

    def poll_once(self) -> int:
        """One getUpdates round under the lease: fetch, handle each update, store the offset after each.
        The number handled; 0 when another worker holds the lease."""
        if not self.lease.take():
            return 0
        if not self._webhook_cleared:  # getUpdates is refused while a webhook is set
            self.client.call(lambda bot: bot.delete_webhook())
            self._webhook_cleared = True
        offset = self.offset()
        updates = self._fetch(offset)
        handled = 0
        for update in updates:
            if self._stopping.is_set():
                break  # fetched again by whoever polls next
            try:
                self.handle(update)
            except StoreError:
                raise  # fetched again once the store is back
            except Exception:
                log.exception("Telegram update %s could not be handled; skipped", update.update_id)
            self.store.channel_state.put(OFFSET_KEY, str(update.update_id + 1))
            handled += 1
            self.lease.take()
        return handled

    def _fetch(self, offset: int | None) -> tuple[Update, ...]:
        timeout = self.poll_timeout_s
        future = self.client.submit(
            lambda bot: bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        )
        with self._guard:
            self._inflight = future
        if self._stopping.is_set():
            future.cancel()
        try:
            return future.result(timeout + 3 * self.client.timeout_s + CALL_SLACK_S)
        except concurrent.futures.CancelledError:
            return ()
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError("getUpdates 无响应 / getUpdates did not answer in time") from None
        finally:
            with self._guard:
                self._inflight = None

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    handled = self.poll_once()
                    failures = 0
                except Exception as exc:  # network, Bot API (409 Conflict: another poller), store
                    if self._stopping.is_set():
                        break
                    failures += 1
                    delay = backoff_delay(failures, base_s=1.0, cap_s=60.0)
                    log.warning(
                        "Telegram 轮询失败，%.0f 秒后重试 / polling failed, retry in %.0fs: %s",
                        delay,
                        delay,
                        exc,
                    )
                    self._stopping.wait(delay)
                    continue
                if handled == 0 and not self.lease_held():
                    self._stopping.wait(self.idle_s)
        finally:
            try:
                self.lease.release()
            except Exception as exc:  # it expires by itself
                log.warning("could not release the Telegram polling lease: %s", exc)

    def lease_held(self) -> bool:
        return self.store.channel_state.get(LEASE_KEY) == self.lease.holder
