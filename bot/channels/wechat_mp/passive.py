"""Answering inside the platform's 5-second callback, exactly once.

The platform waits 5 s for each delivery of a message and, when it heard nothing, delivers the same
MsgId again (3 deliveries in all). A reply returned on a delivery the platform already gave up on is
thrown away, so a later delivery of the same message is evidence that no earlier response arrived.

The reply is stored and queued in the outbox with a hold (`hold_seconds`). Whoever hands it over takes it
first (`Outbox.take`, one guarded UPDATE): a callback answering passively, or a release to the outbox
(once every callback waiting for it has given up). A take only succeeds while the delivery is still within
its hold or released and not yet claimed by an outbox, so the outbox never sends what a callback answers
passively, and of two callbacks only one takes it. The text a callback answered with is kept for every
worker: a later delivery of the same message (the platform did not hear that answer) gets the same text
again, never a second answer. A reply longer than one message goes out as its first piece passively and
the rest through the outbox, which skips the pieces already delivered (`SentPieces`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.messages import utcnow
from bot.service.outbox import Outbox
from bot.service.sent_pieces import SentPieces
from bot.store import Store

PLATFORM_WAIT_S = 5.0  # how long the platform waits for each delivery
PLATFORM_DELIVERIES = 3  # the first delivery and two retries
HOLD_MARGIN_S = 2.0
REST_DELAY_S = 1.0  # the rest of a long reply follows its passive first piece after this
GIVEN_ELSEWHERE_WAIT_S = 0.5
TURN_TTL = timedelta(minutes=15)


def hold_seconds(budget_s: float) -> float:
    """How long the outbox leaves a reply to the callbacks: until the last delivery the platform makes of
    the message (the third, 2 × 5 s after the first) is past its passive budget, plus a margin."""
    return (PLATFORM_DELIVERIES - 1) * PLATFORM_WAIT_S + budget_s + HOLD_MARGIN_S


@dataclass(frozen=True)
class Outcome:
    """What answering one platform message produced, as every worker sees it: the reply's outbox entry,
    where its hold ends, and its first piece for a passive answer (None: nothing to answer)."""

    delivery_id: int | None = None
    message_id: int | None = None
    held_until: datetime | None = None
    first: str | None = None
    pieces: int = 0

    def to_json(self) -> str:
        held = self.held_until.isoformat() if self.held_until is not None else None
        return json.dumps(
            {
                "delivery": self.delivery_id,
                "message": self.message_id,
                "held_until": held,
                "first": self.first,
                "pieces": self.pieces,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> Outcome:
        data = json.loads(raw)
        held = data.get("held_until")
        return cls(
            delivery_id=data.get("delivery"),
            message_id=data.get("message"),
            held_until=datetime.fromisoformat(held) if held else None,
            first=data.get("first"),
            pieces=int(data.get("pieces", 0)),
        )


class PassiveTurns:
    """The shared record of each platform message being answered: its latest delivery, the delivery that
    last gave up waiting, the outcome, and the text answered passively."""

    def __init__(
        self,
        store: Store,
        channel: str,
        sent: SentPieces,
        *,
        clock: Callable[[], datetime] = utcnow,
        poll_s: float = 0.05,
    ) -> None:
        self.store = store
        self.channel = channel
        self.sent = sent
        self._clock = clock
        self._poll_s = poll_s

    def arrived(self, message_key: str, delivery: str) -> bool:
        """Note a delivery of the message as the latest; True when an earlier one was seen."""
        key = self._key(message_key, "latest")
        earlier = self.store.channel_state.get(key, self._clock()) is not None
        self._put(key, delivery)
        return earlier

    def outcome(self, message_key: str) -> Outcome | None:
        raw = self.store.channel_state.get(self._key(message_key, "done"), self._clock())
        return Outcome.from_json(raw) if raw else None

    def finished(self, message_key: str, outcome: Outcome, outbox: Outbox) -> None:
        """Record the outcome; release the reply to the outbox when no delivery is waiting for it."""
        self._put(self._key(message_key, "done"), outcome.to_json())
        latest = self._get(message_key, "latest")
        if latest is not None and latest == self._get(message_key, "gave_up"):
            self._release(outcome, outbox)

    def gave_up(self, message_key: str, delivery: str, outbox: Outbox) -> None:
        """This delivery answers `success`; when it was the latest and the outcome is already there
        (it came while this one was giving up), release the reply to the outbox."""
        self._put(self._key(message_key, "gave_up"), delivery)
        outcome = self.outcome(message_key)
        if outcome is not None and self._get(message_key, "latest") == delivery:
            self._release(outcome, outbox)

    def passive_text(self, message_key: str, outcome: Outcome, outbox: Outbox) -> str | None:
        """The text to answer this delivery with, or None to answer `success` (nothing to say, or the
        outbox has the reply)."""
        given = self._get(message_key, "passive")
        if given is not None:
            return given  # answered before on a delivery the platform did not hear: the same text again
        if outcome.delivery_id is None or outcome.first is None or outcome.message_id is None:
            return None
        if not self._take(outcome, outbox):
            return self._given_elsewhere(message_key, outcome.delivery_id)
        self._put(self._key(message_key, "passive"), outcome.first)
        if outcome.pieces > 1:
            self.sent.note(outcome.message_id, 1)
            outbox.release(outcome.delivery_id, REST_DELAY_S)
        else:
            outbox.mark_delivered(outcome.delivery_id, "passive")
        return outcome.first

    @staticmethod
    def _take(outcome: Outcome, outbox: Outbox) -> bool:
        """Take the delivery from the outbox, unless an outbox is sending it or another callback took it."""
        if outcome.delivery_id is None or outcome.held_until is None:
            return False
        return outbox.take(outcome.delivery_id, outcome.held_until)

    def _release(self, outcome: Outcome, outbox: Outbox) -> None:
        """Hand the reply to the outbox now instead of at the end of its hold."""
        if outcome.delivery_id is not None and self._take(outcome, outbox):
            outbox.release(outcome.delivery_id)

    def _given_elsewhere(self, message_key: str, delivery_id: int) -> str | None:
        """Another callback may have just taken the reply to answer passively: its text, if it did."""
        deadline = time.monotonic() + GIVEN_ELSEWHERE_WAIT_S
        while True:
            pending = self.store.deliveries.get(delivery_id).state == "pending"
            given = self._get(message_key, "passive")  # written before a taker marks the delivery sent
            if given is not None or not pending:
                return given
            if time.monotonic() >= deadline:
                return None
            time.sleep(self._poll_s)

    def _get(self, message_key: str, part: str) -> str | None:
        return self.store.channel_state.get(self._key(message_key, part), self._clock())

    def _put(self, key: str, value: str) -> None:
        self.store.channel_state.put(key, value, self._clock() + TURN_TTL)

    def _key(self, message_key: str, part: str) -> str:
        return f"{self.channel}:turn:{message_key}:{part}"
