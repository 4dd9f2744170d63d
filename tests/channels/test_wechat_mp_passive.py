"""The passive-answer protocol against a real store (SQLite and PostgreSQL) and a real outbox: a reply is
either answered passively or sent by the outbox, never both; a later delivery of the same message gets the
same text again; the reply is released to the outbox as soon as no delivery waits for it; a long reply's
first piece is passive and the outbox sends only the rest."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from bot.channels.wechat_mp.passive import (
    REST_DELAY_S,
    Outcome,
    PassiveTurns,
    hold_seconds,
)
from bot.messages import DeliveryResult, IncomingMessage, Reply, utcnow
from bot.service.channels import ChannelRegistry
from bot.service.outbox import Outbox
from bot.service.sent_pieces import SentPieces
from bot.store import Store

CHANNEL = "wechat_mp"
HOLD_S = hold_seconds(4.0)


class RecordingChannel:
    """Records what the outbox sends; optionally blocks inside `send` until released."""

    name = CHANNEL

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.sent: list[Reply] = []
        self.gate = gate
        self.sending = threading.Event()

    def send(self, reply: Reply) -> DeliveryResult:
        self.sending.set()
        if self.gate is not None:
            self.gate.wait(10)
        self.sent.append(reply)
        return DeliveryResult(ok=True)


def held_reply(store: Store, outbox: Outbox, text: str = "答复", pieces: int = 1) -> Outcome:
    """A stored reply queued with the passive hold, as the dispatcher does for the callback."""
    inbound = store.conversations.record_inbound(
        IncomingMessage(CHANNEL, "o1", "o1", f"m{time.time_ns()}", "问")
    )
    out = store.conversations.record_outbound(inbound.conversation.id, text, author="bot")
    delivery = outbox.enqueue(Reply(CHANNEL, "o1", text, message_id=out.id), hold_s=HOLD_S)
    held_until = store.deliveries.get(delivery.id).next_attempt_at
    return Outcome(delivery.id, out.id, held_until, text[:10], pieces)


def parts(store: Store, channel: RecordingChannel) -> tuple[PassiveTurns, Outbox]:
    outbox = Outbox(store, ChannelRegistry([channel]))
    return PassiveTurns(store, CHANNEL, SentPieces(store, CHANNEL)), outbox


def after(outcome: Outcome, seconds: float) -> datetime:
    assert outcome.held_until is not None
    held: datetime = outcome.held_until
    return held + timedelta(seconds=seconds)


def test_the_hold_covers_every_delivery_the_platform_makes() -> None:
    # the third delivery comes 2 × 5 s after the first and may still answer for its budget
    assert hold_seconds(4.0) >= 2 * 5.0 + 4.0
    assert hold_seconds(1.0) < hold_seconds(4.0)


def test_a_passive_answer_takes_the_reply_from_the_outbox_for_good(store: Store) -> None:
    channel = RecordingChannel()
    turns, outbox = parts(store, channel)
    outcome = held_reply(store, outbox)
    assert outbox.run_once() == 0  # held
    turns.finished("m1", outcome, outbox)
    assert turns.passive_text("m1", outcome, outbox) == outcome.first
    assert outcome.delivery_id is not None
    assert store.deliveries.get(outcome.delivery_id).state == "sent"
    assert outbox.run_once(after(outcome, 3600)) == 0 and channel.sent == []
    # a later delivery of the message (the platform did not hear the answer) gets the same text again
    assert turns.passive_text("m1", outcome, outbox) == outcome.first
    assert channel.sent == []


def test_what_the_outbox_is_sending_is_never_answered_passively(store: Store) -> None:
    gate = threading.Event()
    channel = RecordingChannel(gate)
    turns, outbox = parts(store, channel)
    outcome = held_reply(store, outbox)
    sender = threading.Thread(target=outbox.run_once, args=(after(outcome, 0.5),))
    sender.start()  # the hold is over: the outbox claims the reply and is sending it
    assert channel.sending.wait(10)
    try:
        assert turns.passive_text("m2", outcome, outbox) is None
    finally:
        gate.set()
        sender.join(10)
    assert len(channel.sent) == 1
    assert outcome.delivery_id is not None and store.deliveries.get(outcome.delivery_id).state == "sent"


def test_of_two_deliveries_only_one_takes_the_reply_and_both_say_the_same(store: Store) -> None:
    channel = RecordingChannel()
    turns, outbox = parts(store, channel)
    outcome = held_reply(store, outbox)
    texts: list[str | None] = []
    start = threading.Barrier(2)

    def answer() -> None:
        start.wait()
        texts.append(turns.passive_text("m3", outcome, outbox))

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert texts == [outcome.first, outcome.first]
    assert outbox.run_once(after(outcome, 3600)) == 0 and channel.sent == []


def test_the_reply_is_released_once_no_delivery_waits_for_it(store: Store) -> None:
    channel = RecordingChannel()
    turns, outbox = parts(store, channel)
    # the answer is ready after its only delivery gave up: released at once, not after the hold
    slow = held_reply(store, outbox, "慢的答复")
    turns.arrived("m4", "delivery-1")
    turns.gave_up("m4", "delivery-1", outbox)
    turns.finished("m4", slow, outbox)
    assert outbox.run_once() == 1 and [r.text for r in channel.sent] == ["慢的答复"]
    # a delivery that gave up while the answer was being recorded releases it itself
    racing = held_reply(store, outbox, "另一个答复")
    turns.arrived("m5", "delivery-1")
    turns._put(turns._key("m5", "done"), racing.to_json())  # recorded, not yet released
    turns.gave_up("m5", "delivery-1", outbox)
    assert outbox.run_once() == 1 and channel.sent[-1].text == "另一个答复"
    # while a later delivery still waits, the reply stays held for it
    waited = held_reply(store, outbox, "等候的答复")
    turns.arrived("m6", "delivery-1")
    turns.gave_up("m6", "delivery-1", outbox)
    turns.arrived("m6", "delivery-2")
    turns.finished("m6", waited, outbox)
    assert outbox.run_once() == 0
    assert turns.passive_text("m6", waited, outbox) == waited.first
    assert outbox.run_once(after(waited, 3600)) == 0 and len(channel.sent) == 2


def test_a_long_reply_goes_first_piece_passively_and_the_rest_through_the_outbox(store: Store) -> None:
    channel = RecordingChannel()
    turns, outbox = parts(store, channel)
    outcome = held_reply(store, outbox, "很长的答复", pieces=3)
    turns.finished("m7", outcome, outbox)
    assert turns.passive_text("m7", outcome, outbox) == outcome.first
    assert outcome.message_id is not None
    assert SentPieces(store, CHANNEL).count(outcome.message_id) == 1
    assert outbox.run_once() == 0  # the rest follows the passive piece a moment later
    assert outbox.run_once(utcnow() + timedelta(seconds=REST_DELAY_S + 0.5)) == 1
    assert len(channel.sent) == 1
