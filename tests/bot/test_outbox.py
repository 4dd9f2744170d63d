"""The outbox against a real store (SQLite and PostgreSQL): delivery, backoff, failure, restarts, leases."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from datetime import datetime, timedelta

import pytest

from bot.messages import DeliveryResult, IncomingMessage, Reply, utcnow
from bot.service.channels import ChannelRegistry
from bot.service.outbox import Outbox, backoff_delay
from bot.store import Store
from config.errors import SettingsError, StoreError
from knowledge.types import Citation

CHANNEL = "testchat"


class ScriptedChannel:
    """A channel that records what it is given and answers with scripted results, then ok."""

    def __init__(self, name: str = CHANNEL, *results: DeliveryResult | Exception) -> None:
        self.name = name
        self.results: deque[DeliveryResult | Exception] = deque(results)
        self.sent: list[Reply] = []
        self.lock = threading.Lock()

    def send(self, reply: Reply) -> DeliveryResult:
        with self.lock:
            self.sent.append(reply)
            result = self.results.popleft() if self.results else None
        if isinstance(result, Exception):
            raise result
        if result is None:
            time.sleep(0.002)  # a little like a network call, so competing workers overlap
            return DeliveryResult(ok=True, platform_message_id=f"p{reply.message_id}")
        return result


DOWN = DeliveryResult(ok=False, error="HTTP 502", retryable=True)


def stored_reply(store: Store, text: str = "答复", chat: str = "chat-1") -> Reply:
    inbound = store.conversations.record_inbound(
        IncomingMessage(CHANNEL, chat, "u1", f"m-{text}-{time.time_ns()}", "问")
    )
    out = store.conversations.record_outbound(inbound.conversation.id, text, author="bot")
    return Reply(CHANNEL, chat, text, "bot", message_id=out.id)


def outbox_for(store: Store, channel: ScriptedChannel, **options: float) -> Outbox:
    return Outbox(store, ChannelRegistry([channel]), **options)  # type: ignore[arg-type]


def later(seconds: float, start: datetime | None = None) -> datetime:
    return (start or utcnow()) + timedelta(seconds=seconds)


def test_backoff_doubles_from_two_seconds_up_to_five_minutes() -> None:
    assert [backoff_delay(n) for n in range(1, 11)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_a_reply_is_delivered_once(store: Store) -> None:
    channel = ScriptedChannel()
    outbox = outbox_for(store, channel)
    reply = stored_reply(store, "您好，企业标准需要自我声明公开。")
    delivery = outbox.enqueue(reply)
    assert outbox.enqueue(reply).id == delivery.id  # one delivery per message
    assert outbox.run_once(later(0.1)) == 1
    assert [(r.chat_id, r.text, r.kind, r.message_id) for r in channel.sent] == [
        ("chat-1", "您好，企业标准需要自我声明公开。", "bot", reply.message_id)
    ]
    sent = store.deliveries.get(delivery.id)
    assert (sent.state, sent.attempts, sent.platform_message_id) == ("sent", 1, f"p{reply.message_id}")
    assert outbox.run_once(later(3600)) == 0
    assert len(channel.sent) == 1


def test_a_bot_answer_leaves_with_the_citations_it_was_stored_with(store: Store) -> None:
    law = Citation("中华人民共和国标准化法", "law", ("第二十七条",), None, 0.7, "国家实行…自我声明公开")
    inbound = store.conversations.record_inbound(
        IncomingMessage(CHANNEL, "chat-9", "u9", "m-cite", "企业标准要公开吗")
    )
    out = store.conversations.record_outbound(
        inbound.conversation.id, "要公开。", author="bot", citations=(law,)
    )
    channel = ScriptedChannel()
    outbox = outbox_for(store, channel)
    outbox.enqueue(Reply(CHANNEL, "chat-9", "要公开。", "bot", message_id=out.id))
    assert outbox.run_once(later(0.1)) == 1
    assert channel.sent[0].citations == (law,)


def test_failures_are_retried_with_exponential_backoff(store: Store) -> None:
    channel = ScriptedChannel(CHANNEL, DOWN, DOWN)
    outbox = outbox_for(store, channel)
    delivery = outbox.enqueue(stored_reply(store))
    start = later(0.1)
    assert outbox.run_once(start) == 1
    first = store.deliveries.get(delivery.id)
    assert (first.state, first.attempts, first.last_error) == ("pending", 1, "HTTP 502")
    assert abs((first.next_attempt_at - start).total_seconds() - 2) < 0.01
    assert outbox.run_once(later(1.9, start)) == 0  # not due yet
    assert outbox.run_once(later(2, start)) == 1
    second = store.deliveries.get(delivery.id)
    assert abs((second.next_attempt_at - later(2, start)).total_seconds() - 4) < 0.01
    assert outbox.run_once(later(6, start)) == 1
    assert store.deliveries.get(delivery.id).state == "sent"
    assert len(channel.sent) == 3


def test_after_max_attempts_a_delivery_fails_and_is_kept(store: Store) -> None:
    channel = ScriptedChannel(CHANNEL, *[DOWN] * 3)
    outbox = outbox_for(store, channel, max_attempts=3)
    delivery = outbox.enqueue(stored_reply(store))
    moment = later(0.1)
    for _ in range(3):
        assert outbox.run_once(moment) == 1
        moment = later(400, moment)
    failed = [f.delivery for f in store.deliveries.failed()]
    assert [(d.id, d.state, d.attempts, d.last_error) for d in failed] == [
        (delivery.id, "failed", 3, "HTTP 502")
    ]
    assert outbox.run_once(later(3600, moment)) == 0


def test_a_permanent_failure_fails_at_once(store: Store) -> None:
    blocked = DeliveryResult(ok=False, error="bot was blocked by the user", retryable=False)
    outbox = outbox_for(store, ScriptedChannel(CHANNEL, blocked))
    delivery = outbox.enqueue(stored_reply(store))
    assert outbox.run_once(later(0.1)) == 1
    failed = store.deliveries.get(delivery.id)
    assert (failed.state, failed.attempts, failed.last_error) == ("failed", 1, "bot was blocked by the user")


def test_a_channel_that_raises_or_is_missing_is_retried(store: Store) -> None:
    channel = ScriptedChannel(CHANNEL, RuntimeError("socket closed"))
    outbox = outbox_for(store, channel)
    raised = outbox.enqueue(stored_reply(store, "一"))
    assert outbox.run_once(later(0.1)) == 1
    assert store.deliveries.get(raised.id).last_error == "RuntimeError: socket closed"
    assert store.deliveries.get(raised.id).state == "pending"

    elsewhere = stored_reply(store, "二")
    orphan = outbox.enqueue(Reply("nowhere", "c", "二", message_id=elsewhere.message_id))
    outbox.run_once(later(10))
    assert "no channel 'nowhere'" in (store.deliveries.get(orphan.id).last_error or "")
    assert store.deliveries.get(raised.id).state == "sent"


def test_a_restarted_outbox_sends_what_was_left(store: Store, store_url: str) -> None:
    before = outbox_for(store, ScriptedChannel(CHANNEL, DOWN))
    retried = before.enqueue(stored_reply(store, "重试中"))
    before.run_once(later(0.1))
    untouched = before.enqueue(stored_reply(store, "未发送"))  # the process stops before sending this
    assert store.deliveries.get(retried.id).state == "pending"

    reopened = Store(store_url)  # a new process: new connections, new outbox, same database
    try:
        channel = ScriptedChannel()
        after = outbox_for(reopened, channel)
        assert after.run_once(later(10)) == 2
        assert sorted(r.text for r in channel.sent) == ["未发送", "重试中"]
        assert {reopened.deliveries.get(d.id).state for d in (retried, untouched)} == {"sent"}
    finally:
        reopened.close()


def test_competing_workers_send_each_delivery_once(store: Store, store_url: str) -> None:
    replies = [stored_reply(store, f"第{n}条") for n in range(12)]
    channel = ScriptedChannel()
    outbox_for(store, channel).enqueue(replies[0])
    for reply in replies[1:]:
        outbox_for(store, channel).enqueue(reply)
    stores = [Store(store_url) for _ in range(3)]
    try:
        workers = [outbox_for(s, channel) for s in stores]
        moment = later(0.1)
        threads = [threading.Thread(target=w.run_once, args=(moment,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for s in stores:
            s.close()
    counts = Counter(r.message_id for r in channel.sent)
    assert set(counts) == {r.message_id for r in replies}
    assert set(counts.values()) == {1}


def test_a_held_delivery_is_left_to_the_caller_then_taken_over(store: Store) -> None:
    channel = ScriptedChannel()
    outbox = outbox_for(store, channel)
    delivered = outbox.enqueue(stored_reply(store, "被动回复"), hold_s=30)
    assert outbox.run_once(later(1)) == 0
    outbox.mark_delivered(delivered.id, "wx-1")
    assert store.deliveries.get(delivered.id).state == "sent"

    dropped = outbox.enqueue(stored_reply(store, "被动回复失败"), hold_s=30)
    assert outbox.run_once(later(1)) == 0
    assert outbox.run_once(later(31)) == 1  # the caller never delivered it: the outbox does
    assert store.deliveries.get(dropped.id).state == "sent"
    assert [r.text for r in channel.sent] == ["被动回复失败"]


def test_the_background_thread_delivers_promptly(store: Store) -> None:
    channel = ScriptedChannel()
    outbox = outbox_for(store, channel, poll_interval_s=30)
    outbox.start()
    try:
        assert outbox.running
        outbox.enqueue(stored_reply(store, "后台发送"))  # wakes the thread: no waiting for the poll
        deadline = time.monotonic() + 5
        while not channel.sent and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        outbox.stop()
    assert [r.text for r in channel.sent] == ["后台发送"]
    assert not outbox.running


def test_a_reply_must_be_stored_first(store: Store) -> None:
    with pytest.raises(StoreError, match="stored message id"):
        outbox_for(store, ScriptedChannel()).enqueue(Reply(CHANNEL, "c", "未保存"))


def test_channel_names_are_unique() -> None:
    registry = ChannelRegistry([ScriptedChannel("a")])
    registry.register(ScriptedChannel("b"))
    assert sorted(registry) == ["a", "b"] and registry["b"].name == "b" and len(registry) == 2
    with pytest.raises(SettingsError, match="twice"):
        registry.register(ScriptedChannel("a"))
