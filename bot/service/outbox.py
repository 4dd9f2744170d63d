"""The outbox: every reply is stored, queued, and handed to its channel until the channel takes it.

State lives in the store, so a restart (or another worker) picks up what was left pending. Each due
delivery is claimed for a lease before sending, so two workers never send it at the same time; failures
are retried with exponential backoff (2 s, 4 s, 8 s … at most 5 min) up to `max_attempts`, then kept
as "failed" for an admin to see. A channel that says retrying cannot help fails the delivery at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.messages import DeliveryResult, Reply, utcnow
from bot.service.channels import Channel
from bot.service.events import Delivered, DeliveryFailed, EventBus
from bot.service.worker import LoopWorker
from bot.store import DeliveryRecord, Store
from config.errors import StoreError

log = logging.getLogger(__name__)

BASE_DELAY_S = 2.0
MAX_DELAY_S = 300.0
TAKEN_LEASE_S = 60.0  # beyond its hold: how long a reply taken by its channel stays untouchable


def backoff_delay(failures: int, base_s: float = BASE_DELAY_S, cap_s: float = MAX_DELAY_S) -> float:
    """Seconds to wait after the `failures`-th failed attempt: base·2^(failures-1), capped."""
    return min(base_s * 2.0 ** max(failures - 1, 0), cap_s)


class Outbox:
    """Queues replies in the store and sends them through the channels of this process."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        *,
        max_attempts: int = 12,
        lease_s: float = 60.0,
        poll_interval_s: float = 1.0,
        batch: int = 50,
        events: EventBus | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.channels = channels
        self.events = events or EventBus()
        self.max_attempts = max_attempts
        self.lease_s = lease_s
        self.batch = batch
        self._clock = clock
        self._worker = LoopWorker("stdbot-outbox", self._round, poll_interval_s)

    def enqueue(self, reply: Reply, *, hold_s: float = 0.0) -> DeliveryRecord:
        """Queue a stored reply (its `message_id` set) for sending. With `hold_s` it is held: the caller
        means to deliver it itself (`take`, then `mark_delivered` or `release`); the outbox leaves it
        alone that long, then takes over."""
        if reply.message_id is None:
            raise StoreError("回复尚未保存，无法发送 / the reply has no stored message id")
        delivery = self.store.deliveries.enqueue(
            reply.message_id, reply.channel, reply.chat_id, reply.text, reply.kind
        )
        if hold_s > 0 and delivery.state == "pending":
            self.store.deliveries.claim(delivery.id, self._clock(), hold_s)
        else:
            self._worker.wake()
        return delivery

    def take(self, delivery_id: int, held_until: datetime) -> bool:
        """Take a held reply to deliver it yourself (a passive answer): possible only while it is pending
        and due no later than `held_until` (within its hold, or released and not yet claimed by a sender);
        taken, the outbox leaves it alone until `release` or the lease beyond the hold runs out. Of two
        takers only one succeeds."""
        current = self.store.deliveries.get(delivery_id)
        due = current.next_attempt_at
        if current.state != "pending" or due > held_until:
            return False
        lease_s = (held_until - due).total_seconds() + TAKEN_LEASE_S
        return self.store.deliveries.claim(delivery_id, due, lease_s)

    def release(self, delivery_id: int, delay_s: float = 0.0) -> None:
        """Hand a taken reply (or what is left of it) back to the outbox, to send after `delay_s`."""
        self.store.deliveries.retry(delivery_id, self._clock() + timedelta(seconds=delay_s))
        self.wake()

    def wake(self) -> None:
        """Look for due deliveries now (one was queued by someone else in this process)."""
        self._worker.wake()

    def mark_delivered(self, delivery_id: int, platform_message_id: str | None = None) -> None:
        """The caller delivered the reply itself (e.g. the WeChat passive reply)."""
        self.store.deliveries.mark_sent(delivery_id, platform_message_id)
        delivery = self.store.deliveries.get(delivery_id)
        self.events.publish(Delivered(channel=delivery.channel, kind=delivery.kind, delivery_id=delivery.id))

    def run_once(self, now: datetime | None = None) -> int:
        """Try every delivery due at `now` (default: the clock) once; the number tried."""
        now = now or self._clock()
        tried = 0
        for delivery in self.store.deliveries.due(now, self.batch):
            if not self.store.deliveries.claim(delivery.id, now, self.lease_s):
                continue  # another worker has it
            tried += 1
            self._attempt(delivery, now)
        return tried

    def _attempt(self, delivery: DeliveryRecord, now: datetime) -> None:
        result = self._send(delivery)
        if result.ok:
            self.store.deliveries.mark_sent(delivery.id, result.platform_message_id)
            self.events.publish(
                Delivered(channel=delivery.channel, kind=delivery.kind, delivery_id=delivery.id)
            )
            return
        attempt = delivery.attempts + 1
        error = (result.error or "unknown error")[:2000]
        final = not result.retryable or attempt >= self.max_attempts
        self.events.publish(
            DeliveryFailed(channel=delivery.channel, delivery_id=delivery.id, error=error, final=final)
        )
        if final:
            log.error(
                "发送失败，已放弃 / delivery %s to %s:%s failed after %s attempts: %s",
                delivery.id,
                delivery.channel,
                delivery.chat_id,
                attempt,
                error,
            )
            self.store.deliveries.mark_failed(delivery.id, error)
            return
        delay = backoff_delay(attempt)
        log.warning(
            "发送失败，%.0f 秒后重试 / delivery %s failed, retry in %.0fs: %s",
            delay,
            delivery.id,
            delay,
            error,
        )
        self.store.deliveries.mark_retry(delivery.id, error, now + timedelta(seconds=delay))

    def _send(self, delivery: DeliveryRecord) -> DeliveryResult:
        channel = self.channels.get(delivery.channel)
        if channel is None:
            return DeliveryResult(ok=False, error=f"no channel {delivery.channel!r} in this process")
        try:
            bot_reply = delivery.kind == "bot"
            citations = self.store.conversations.message(delivery.message_id).citations if bot_reply else ()
            reply = Reply(
                channel=delivery.channel,
                chat_id=delivery.chat_id,
                text=delivery.text,
                kind=delivery.kind,
                citations=citations,
                message_id=delivery.message_id,
            )
            return channel.send(reply)
        except Exception as exc:  # a channel's bug must not stop the outbox
            log.exception("channel %s raised while sending delivery %s", delivery.channel, delivery.id)
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}")

    # --- background thread -----------------------------------------------------------------------

    def start(self) -> None:
        self._worker.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._worker.stop(timeout_s)

    @property
    def running(self) -> bool:
        return self._worker.running

    def _round(self) -> bool:
        return self.run_once() >= self.batch
