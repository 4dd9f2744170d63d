from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.pool import NullPool
from support.races import in_processes, together, wait_until_blocked

from bot.messages import IncomingMessage
from bot.store import FormUse, Store
from bot.store.migrate import alembic_config
from bot.store.models import Base, ConversationRow, MessageRow
from config.errors import StoreError, StoreUnavailable
from config.settings import load_settings
from knowledge.types import Citation

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLOSED_PORT_URL = "postgresql+psycopg://postgres:secret@127.0.0.1:1/x"


def incoming(message_id: str = "m1", text: str = "企业标准要公开吗？", **fields: Any) -> IncomingMessage:
    values: dict[str, Any] = {"channel": "web", "chat_id": "chat-1", "user_id": "u1"} | fields
    return IncomingMessage(message_id=message_id, text=text, **values)


def citation(clause: str = "第二十七条") -> Citation:
    return Citation(
        "中华人民共和国标准化法", "law", (clause,), None, 0.42, "国家实行团体标准、企业标准自我声明公开…"
    )


# conversations and messages


def test_record_inbound_creates_the_conversation_and_the_message(store: Store) -> None:
    sent = datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    result = store.conversations.record_inbound(
        incoming(user_name="张经理", chat_type="private", received_at=sent)
    )

    assert not result.duplicate
    conversation, message = result.conversation, result.message
    assert (conversation.channel, conversation.chat_id, conversation.user_id) == ("web", "chat-1", "u1")
    assert conversation.user_name == "张经理" and conversation.state == "bot"
    assert conversation.low_confidence_streak == 0
    assert (message.direction, message.author, message.kind) == ("in", "user", "text")
    assert message.text == "企业标准要公开吗？" and message.channel_message_id == "m1"
    assert message.conversation_id == conversation.id
    assert message.created_at == sent and message.created_at.tzinfo == UTC
    assert store.conversations.get(conversation.id) == conversation
    assert store.conversations.find("web", "chat-1", "u1") == conversation
    assert store.conversations.find("web", "chat-1", "nobody") is None


def test_a_repeated_platform_message_id_is_recorded_once(store: Store) -> None:
    first = store.conversations.record_inbound(incoming("m1"))
    again = store.conversations.record_inbound(incoming("m1", text="平台重发 / redelivered"))

    assert again.duplicate and again.message == first.message
    assert again.conversation.id == first.conversation.id
    assert [m.text for m in store.conversations.transcript(first.conversation.id)] == ["企业标准要公开吗？"]
    assert not store.conversations.record_inbound(
        incoming("m1", channel="telegram")
    ).duplicate  # unique per channel
    blank = [store.conversations.record_inbound(incoming("", text=f"无编号 {n}")) for n in range(2)]
    assert not any(r.duplicate for r in blank) and blank[0].message.id != blank[1].message.id


def test_each_person_in_a_group_chat_has_their_own_conversation(store: Store) -> None:
    alice = store.conversations.record_inbound(
        incoming("m1", chat_id="group-9", user_id="alice", chat_type="group")
    )
    bob = store.conversations.record_inbound(
        incoming("m2", chat_id="group-9", user_id="bob", chat_type="group")
    )
    alice_again = store.conversations.record_inbound(
        incoming("m3", chat_id="group-9", user_id="alice", user_name="Alice")
    )

    assert alice.conversation.id != bob.conversation.id
    assert alice_again.conversation.id == alice.conversation.id
    assert alice_again.conversation.user_name == "Alice" and alice_again.conversation.chat_type == "group"
    assert alice_again.conversation.updated_at >= alice.conversation.updated_at


def test_outbound_messages_keep_mode_confidence_citations_and_latency(store: Store) -> None:
    conversation = store.conversations.record_inbound(incoming()).conversation
    answer = store.conversations.record_outbound(
        conversation.id,
        "需要公开。",
        author="bot",
        mode="extractive",
        confidence=0.73,
        citations=[citation("第二十七条"), citation("第二条")],
        latency_ms=12.5,
    )
    staff = store.conversations.record_outbound(conversation.id, "您好，我是客服。", author="staff:li")
    notice = store.conversations.record_outbound(conversation.id, "已为您转人工", author="system")

    stored = store.conversations.transcript(conversation.id)
    assert [m.id for m in stored][1:] == [answer.id, staff.id, notice.id]
    bot = stored[1]
    assert (bot.direction, bot.author, bot.kind, bot.mode) == ("out", "bot", "bot", "extractive")
    assert bot.confidence == 0.73 and bot.latency_ms == 12.5 and bot.channel_message_id is None
    assert bot.citations == (citation("第二十七条"), citation("第二条"))
    assert (stored[2].kind, stored[3].kind) == ("staff", "system")
    assert stored[2].citations == ()


def test_outbound_rejects_an_unknown_author_or_conversation(store: Store) -> None:
    conversation = store.conversations.record_inbound(incoming()).conversation
    for author in ("user", "staff:", "robot"):
        with pytest.raises(StoreError, match="author"):
            store.conversations.record_outbound(conversation.id, "x", author=author)
    with pytest.raises(StoreError, match="conversation not found: 999"):
        store.conversations.record_outbound(999, "x", author="bot")
    assert len(store.conversations.transcript(conversation.id)) == 1


def test_transcript_keeps_the_latest_messages_and_messages_after_follows_on(store: Store) -> None:
    conversation = store.conversations.record_inbound(incoming("m0", text="q0")).conversation
    ids = [
        store.conversations.record_inbound(incoming(f"m{n}", text=f"q{n}")).message.id for n in range(1, 6)
    ]

    assert [m.text for m in store.conversations.transcript(conversation.id, limit=3)] == ["q3", "q4", "q5"]
    assert [m.id for m in store.conversations.messages_after(conversation.id, ids[1])] == ids[2:]
    assert store.conversations.messages_after(conversation.id, ids[-1]) == []
    other = store.conversations.record_inbound(incoming("x", user_id="u2")).conversation
    assert [m.text for m in store.conversations.transcript(other.id)] == ["企业标准要公开吗？"]


def test_missing_conversation_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="会话不存在 / conversation not found: 42"):
        store.conversations.get(42)


def test_low_confidence_streak(store: Store) -> None:
    conversation = store.conversations.record_inbound(incoming()).conversation
    store.conversations.set_low_confidence_streak(conversation.id, 2)
    assert store.conversations.get(conversation.id).low_confidence_streak == 2
    with pytest.raises(StoreError, match="negative"):
        store.conversations.set_low_confidence_streak(conversation.id, -1)
    assert store.conversations.get(conversation.id).low_confidence_streak == 2


def test_search_finds_conversations_by_message_user_or_chat(store: Store) -> None:
    first = store.conversations.record_inbound(
        incoming("a", text="GB/T 19001 还有效吗", user_id="u-a")
    ).conversation
    second = store.conversations.record_inbound(
        incoming("b", text="收费标准", user_id="u-b", user_name="王工")
    ).conversation
    third = store.conversations.record_inbound(
        incoming("c", text="折扣 100% 吗", chat_id="room_7", user_id="u-c")
    ).conversation

    assert [c.id for c in store.conversations.search("19001")] == [first.id]
    assert [c.id for c in store.conversations.search("王工")] == [second.id]
    assert [c.id for c in store.conversations.search("ROOM_7")] == [third.id]
    assert [c.id for c in store.conversations.search("100%")] == [third.id]  # % is literal
    assert store.conversations.search("_") == [store.conversations.get(third.id)]  # _ is literal too
    assert [c.id for c in store.conversations.search("")] == [third.id, second.id, first.id]
    assert len(store.conversations.search("u-", limit=2)) == 2


REFUSE_MESSAGES = {
    "sqlite": [
        "CREATE TRIGGER refuse_messages BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
        " AS $$BEGIN RAISE EXCEPTION 'refused'; END$$",
        "CREATE TRIGGER refuse_messages BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}
ALLOW_MESSAGES = {
    "sqlite": ["DROP TRIGGER refuse_messages"],
    "postgresql": ["DROP TRIGGER refuse_messages ON messages", "DROP FUNCTION refuse()"],
}


def test_a_failure_midway_leaves_nothing_written(store: Store, store_url: str, backend: str) -> None:
    """The database refuses the message after the new conversation was inserted: both are rolled back."""
    engine = create_engine(store_url, poolclass=NullPool)
    with engine.begin() as connection:
        for statement in REFUSE_MESSAGES[backend]:
            connection.exec_driver_sql(statement)
    try:
        with pytest.raises(StoreError, match="refused"):
            store.conversations.record_inbound(incoming("m1"))
        assert store.conversations.find("web", "chat-1", "u1") is None
        assert store.conversations.search("") == []
    finally:
        with engine.begin() as connection:
            for statement in ALLOW_MESSAGES[backend]:
                connection.exec_driver_sql(statement)
        engine.dispose()
    assert not store.conversations.record_inbound(incoming("m1")).duplicate


def test_nul_characters_are_dropped_not_fatal(store: Store) -> None:
    result = store.conversations.record_inbound(incoming(text="GB\x00/T 1.1", user_name="王\x00工"))
    assert result.message.text == "GB/T 1.1" and result.conversation.user_name == "王工"
    reply = store.conversations.record_outbound(result.conversation.id, "见\x00第三条", author="bot")
    assert [m.text for m in store.conversations.transcript(result.conversation.id)] == [
        "GB/T 1.1",
        "见第三条",
    ]
    assert store.deliveries.enqueue(reply.id, "web", "chat-1", "见\x00第三条", "bot").text == "见第三条"


def test_an_in_memory_database_serves_several_threads() -> None:
    store = Store("sqlite://")
    store.migrate()
    results = together(6, lambda i: store.conversations.record_inbound(incoming(f"m{i % 3}")))
    assert sorted(r.duplicate for r in results) == [False] * 3 + [True] * 3
    assert len(store.conversations.transcript(results[0].conversation.id)) == 3
    store.close()


# handoffs


def test_handoff_lifecycle(store: Store) -> None:
    conversation = store.conversations.record_inbound(incoming()).conversation
    store.conversations.set_low_confidence_streak(conversation.id, 2)
    handoff = store.handoffs.open(conversation.id, "intent:human")
    assert (handoff.state, handoff.reason, handoff.staff) == ("open", "intent:human", None)
    assert store.conversations.get(conversation.id).state == "waiting"
    assert store.handoffs.open(conversation.id, "low_confidence") == handoff
    assert store.handoffs.active_for(conversation.id) == handoff

    claimed = store.handoffs.claim(handoff.id, "li")
    assert (claimed.state, claimed.staff) == ("claimed", "li") and claimed.claimed_at is not None
    assert store.conversations.get(conversation.id).state == "staff"
    assert store.handoffs.claim(handoff.id, "li") == claimed  # a double click changes nothing
    with pytest.raises(StoreError, match="already claimed by li"):
        store.handoffs.claim(handoff.id, "wang")

    released = store.handoffs.release(handoff.id)
    assert (released.state, released.staff, released.claimed_at) == ("open", None, None)
    assert store.conversations.get(conversation.id).state == "waiting"
    store.handoffs.claim(handoff.id, "wang")

    store.handoffs.note_staff_reply(handoff.id)
    noted = store.handoffs.active_for(conversation.id)
    assert noted is not None and noted.first_reply_at is not None
    store.handoffs.note_staff_reply(handoff.id)
    assert store.handoffs.active_for(conversation.id) == noted  # the first reply's time is kept

    resolved = store.handoffs.resolve(handoff.id, "wang")
    assert (resolved.state, resolved.staff) == ("resolved", "wang") and resolved.resolved_at is not None
    after = store.conversations.get(conversation.id)
    assert after.state == "bot" and after.low_confidence_streak == 0
    assert store.handoffs.active_for(conversation.id) is None

    with pytest.raises(StoreError, match="already resolved"):
        store.handoffs.resolve(handoff.id, "li")
    with pytest.raises(StoreError, match="already resolved"):
        store.handoffs.claim(handoff.id, "li")
    with pytest.raises(StoreError, match="already resolved"):
        store.handoffs.release(handoff.id)
    assert store.handoffs.active_for(conversation.id) is None
    assert store.conversations.get(conversation.id).state == "bot"

    reopened = store.handoffs.open(conversation.id, "feedback:-1")
    assert reopened.id != handoff.id and reopened.state == "open"


def test_waiting_handoffs_lists_open_and_claimed_oldest_first(store: Store) -> None:
    ids = [
        store.conversations.record_inbound(incoming(f"m{n}", user_id=f"u{n}")).conversation.id
        for n in range(3)
    ]
    handoffs = [store.handoffs.open(conversation_id, "keyword") for conversation_id in ids]
    store.handoffs.claim(handoffs[1].id, "li")
    store.handoffs.resolve(handoffs[2].id, "li")

    waiting = store.handoffs.waiting()
    assert [h.id for h in waiting] == [handoffs[0].id, handoffs[1].id]
    assert [h.state for h in waiting] == ["open", "claimed"]


def test_missing_handoff_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="handoff not found"):
        store.handoffs.claim(7, "li")
    with pytest.raises(StoreError, match="handoff not found"):
        store.handoffs.note_staff_reply(7)
    with pytest.raises(StoreError, match="conversation not found"):
        store.handoffs.open(7, "keyword")


def test_opening_a_handoff_from_many_threads_opens_one(store: Store) -> None:
    conversation = store.conversations.record_inbound(incoming()).conversation
    opened = together(6, lambda _: store.handoffs.open(conversation.id, "intent:human"))
    assert len({h.id for h in opened}) == 1
    assert len(store.handoffs.waiting()) == 1


# feedback


def test_feedback_is_recorded_and_a_later_vote_replaces_it(store: Store, store_url: str) -> None:
    conversation = store.conversations.record_inbound(incoming()).conversation
    answer = store.conversations.record_outbound(conversation.id, "需要公开。", author="bot", mode="faq")
    store.conversations.record_feedback(answer.id, 1)
    store.conversations.record_feedback(answer.id, -1, "没有回答我的问题")
    with pytest.raises(StoreError, match="1 or -1"):
        store.conversations.record_feedback(answer.id, 5)
    with pytest.raises(StoreError, match="message not found"):
        store.conversations.record_feedback(answer.id + 100, 1)

    engine = create_engine(store_url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT message_id, value, comment FROM feedback")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(answer.id, -1, "没有回答我的问题")]


# outbox


def queued(store: Store, text_: str = "回复", user_id: str = "u1") -> tuple[int, int]:
    conversation = store.conversations.record_inbound(
        incoming(f"in-{user_id}-{text_}", user_id=user_id)
    ).conversation
    message = store.conversations.record_outbound(conversation.id, text_, author="bot")
    delivery = store.deliveries.enqueue(message.id, "web", conversation.chat_id, text_, "bot")
    return message.id, delivery.id


def test_enqueue_delivery_once_per_message(store: Store) -> None:
    message_id, delivery_id = queued(store)
    again = store.deliveries.enqueue(message_id, "web", "chat-1", "回复", "bot")
    assert again.id == delivery_id
    delivery = store.deliveries.get(delivery_id)
    assert (delivery.state, delivery.attempts, delivery.kind, delivery.chat_id) == (
        "pending",
        0,
        "bot",
        "chat-1",
    )
    assert delivery.last_error is None and delivery.platform_message_id is None
    with pytest.raises(StoreError, match="invalid kind"):
        store.deliveries.enqueue(message_id, "web", "chat-1", "x", "email")
    with pytest.raises(StoreError, match="message not found"):
        store.deliveries.enqueue(message_id + 100, "web", "chat-1", "x", "bot")


def test_delivery_claim_retry_fail_and_send(store: Store) -> None:
    _, delivery_id = queued(store)
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert [d.id for d in store.deliveries.due(now)] == [delivery_id]
    assert store.deliveries.due(now - timedelta(minutes=5)) == []

    assert store.deliveries.claim(delivery_id, now, lease_s=30)
    assert not store.deliveries.claim(delivery_id, now, lease_s=30)  # leased to the first worker
    assert store.deliveries.due(now) == []
    assert store.deliveries.get(delivery_id).next_attempt_at == now + timedelta(seconds=30)
    assert store.deliveries.claim(delivery_id, now + timedelta(seconds=31), lease_s=30)  # the lease ran out

    store.deliveries.mark_retry(delivery_id, "timeout", now + timedelta(seconds=2))
    retried = store.deliveries.get(delivery_id)
    assert (retried.state, retried.attempts, retried.last_error) == ("pending", 1, "timeout")
    assert not store.deliveries.claim(delivery_id, now, lease_s=30)
    assert store.deliveries.claim(delivery_id, now + timedelta(seconds=2), lease_s=30)

    store.deliveries.mark_failed(delivery_id, "chat closed")
    failed = store.deliveries.get(delivery_id)
    assert (failed.state, failed.attempts, failed.last_error) == ("failed", 2, "chat closed")
    assert [f.delivery.id for f in store.deliveries.failed()] == [delivery_id]
    assert not store.deliveries.claim(delivery_id, now + timedelta(hours=1), lease_s=30)

    assert store.deliveries.retry(delivery_id, now).state == "pending"
    assert store.deliveries.failed() == []
    store.deliveries.mark_sent(delivery_id, "wx-123")
    sent = store.deliveries.get(delivery_id)
    assert (sent.state, sent.attempts, sent.platform_message_id, sent.last_error) == (
        "sent",
        3,
        "wx-123",
        None,
    )
    assert store.deliveries.due(now + timedelta(hours=1)) == []


def test_due_deliveries_are_oldest_first_and_limited(store: Store) -> None:
    ids = [queued(store, f"回复{n}", user_id=f"u{n}")[1] for n in range(3)]
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert [d.id for d in store.deliveries.due(later)] == ids
    assert [d.id for d in store.deliveries.due(later, limit=2)] == ids[:2]


def test_outbox_needs_timezone_aware_times(store: Store) -> None:
    _, delivery_id = queued(store)
    naive = datetime(2025, 1, 1, 12, 0)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.deliveries.due(naive)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.deliveries.claim(delivery_id, naive, 30)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.deliveries.mark_retry(delivery_id, "x", naive)
    with pytest.raises(StoreError, match="delivery not found"):
        store.deliveries.mark_sent(delivery_id + 1, None)


def test_only_one_of_many_workers_claims_a_delivery(store: Store, store_url: str) -> None:
    _, delivery_id = queued(store)
    now = datetime.now(UTC) + timedelta(seconds=1)
    workers = [Store(store_url) for _ in range(6)]
    try:
        claims = together(6, lambda i: workers[i].deliveries.claim(delivery_id, now, lease_s=60))
    finally:
        for worker in workers:
            worker.close()
    assert sorted(claims) == [False] * 5 + [True]


# races on the inbound path


def test_the_same_message_from_many_threads_is_recorded_once(store: Store) -> None:
    results = together(8, lambda _: store.conversations.record_inbound(incoming("same")))
    assert sorted(r.duplicate for r in results) == [False] + [True] * 7
    assert len({r.message.id for r in results}) == 1 and len({r.conversation.id for r in results}) == 1


def record_from_another_process(url: str, count: int, barrier: Any, results: Any) -> None:
    store = Store(url)
    barrier.wait()
    outcome = [
        store.conversations.record_inbound(incoming(f"m{n}", text=f"q{n}")).duplicate for n in range(count)
    ]
    store.close()
    results.put(outcome)


def test_two_processes_recording_the_same_messages_store_each_once(store: Store, store_url: str) -> None:
    count = 25
    outcomes = in_processes(2, record_from_another_process, store_url, count)

    for n in range(count):
        assert sorted(outcome[n] for outcome in outcomes) == [False, True]  # exactly one process stored it
    conversation = store.conversations.find("web", "chat-1", "u1")
    assert conversation is not None
    assert sorted(m.text for m in store.conversations.transcript(conversation.id)) == sorted(
        f"q{n}" for n in range(count)
    )


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_insert_racing_another_transaction_turns_into_a_duplicate(store: Store, store_url: str) -> None:
    """Another process inserts the same message and commits while our insert waits on the unique index:
    the store reports a duplicate instead of failing (the IntegrityError path, made deterministic)."""
    conversation = store.conversations.record_inbound(incoming("m0")).conversation
    engine = create_engine(store_url, poolclass=NullPool)
    row = {
        "conversation_id": conversation.id,
        "channel": "web",
        "direction": "in",
        "author": "user",
        "kind": "text",
        "text": "from the other process",
        "channel_message_id": "m1",
        "citations": "[]",
        "created_at": datetime.now(UTC),
    }
    with ThreadPoolExecutor(1) as pool:
        with engine.begin() as other:
            other.execute(insert(MessageRow.__table__), row)
            pending = pool.submit(store.conversations.record_inbound, incoming("m1"))
            wait_until_blocked(store_url)
        result = pending.result(timeout=10)
    engine.dispose()
    assert result.duplicate and result.message.text == "from the other process"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_conversation_created_concurrently_is_reused(store: Store, store_url: str) -> None:
    engine = create_engine(store_url, poolclass=NullPool)
    now = datetime.now(UTC)
    row = {
        "channel": "web",
        "chat_id": "chat-1",
        "user_id": "u1",
        "chat_type": "private",
        "state": "bot",
        "low_confidence_streak": 0,
        "created_at": now,
        "updated_at": now,
    }
    with ThreadPoolExecutor(1) as pool:
        with engine.begin() as other:
            created = other.execute(insert(ConversationRow.__table__).returning(ConversationRow.id), row)
            other_id = created.scalar_one()
            pending = pool.submit(store.conversations.record_inbound, incoming("m1"))
            wait_until_blocked(store_url)
        result = pending.result(timeout=10)
    with engine.connect() as connection:
        conversations = connection.execute(
            select(func.count()).select_from(ConversationRow.__table__)
        ).scalar()
    engine.dispose()
    assert not result.duplicate and result.conversation.id == other_id and conversations == 1


# staff


def test_staff_accounts(store: Store) -> None:
    assert store.staff.count() == 0 and store.staff.get("admin") is None
    admin = store.staff.add("admin", "$argon2id$hash-a", "admin")
    store.staff.add("li", "$argon2id$hash-b", "staff")
    assert (admin.username, admin.role, admin.failed_logins, admin.locked_until) == (
        "admin",
        "admin",
        0,
        None,
    )
    assert store.staff.get("admin") == admin and store.staff.count() == 2
    assert [s.username for s in store.staff.accounts()] == ["admin", "li"]
    with pytest.raises(StoreError, match="username already exists: li"):
        store.staff.add("li", "$argon2id$other", "staff")
    with pytest.raises(StoreError, match="invalid role"):
        store.staff.add("wang", "$argon2id$hash", "root")
    with pytest.raises(StoreError, match="must not be empty"):
        store.staff.add("  ", "$argon2id$hash", "staff")
    assert store.staff.set_password("li", "$argon2id$new").password_hash == "$argon2id$new"
    assert store.staff.count() == 2


def test_login_attempts_are_counted_before_checking_and_lock_the_account(store: Store) -> None:
    store.staff.add("li", "$argon2id$hash", "staff")
    now = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)

    def attempt(at: datetime) -> tuple[int, datetime | None]:
        record = store.staff.admit_login("li", lock_after=3, lock_for_s=900, now=at)
        assert record is not None
        return record.failed_logins, record.locked_until

    assert attempt(now) == (1, None)
    assert store.staff.login_succeeded("li", now) is not None  # that one was right: cleared
    assert attempt(now) == (1, None)
    assert attempt(now) == (2, None)
    assert attempt(now) == (3, None)  # admitted, and the account locks behind it
    assert attempt(now + timedelta(seconds=60)) == (3, now + timedelta(seconds=960))  # refused, extended
    assert store.staff.login_succeeded("li", now + timedelta(seconds=60)) is None  # locked meanwhile
    later = now + timedelta(seconds=2000)
    failures, locked_until = attempt(later)  # the lock ran out: one more guess, which locks it again
    assert failures == 4 and (locked_until is None or locked_until <= later)
    relocked = store.staff.get("li")
    assert relocked is not None and relocked.locked_until == later + timedelta(seconds=900)
    assert store.staff.admit_login("ghost", lock_after=3, lock_for_s=900, now=now) is None


def test_parallel_guesses_check_at_most_lock_after_passwords(store: Store) -> None:
    store.staff.add("li", "$argon2id$hash", "staff")
    now = datetime.now(UTC)
    admitted = together(20, lambda _: store.staff.admit_login("li", lock_after=5, lock_for_s=60, now=now))
    checked = [r for r in admitted if r is not None and (r.locked_until is None or r.locked_until <= now)]
    assert len(checked) == 5
    record = store.staff.get("li")
    assert record is not None and record.failed_logins == 5 and record.locked_until is not None


# knowledge-base versions, FAQ drafts, audit, analytics


def test_kb_versions_are_recorded_and_updated(store: Store) -> None:
    store.admin.record_kb_version(1, {"hit@5": 0.8, "mrr": 0.61}, "golden.xlsx@aaaa")
    store.admin.record_kb_version(2, {"hit@5": 0.85}, "golden.xlsx@aaaa")
    store.admin.record_kb_version(1, {"hit@5": 0.82}, "golden.xlsx@bbbb")
    versions = store.admin.kb_versions()
    assert [(v.version, dict(v.metrics), v.golden_set_fingerprint) for v in versions] == [
        (2, {"hit@5": 0.85}, "golden.xlsx@aaaa"),
        (1, {"hit@5": 0.82}, "golden.xlsx@bbbb"),
    ]
    with pytest.raises(StoreError, match="finite"):
        store.admin.record_kb_version(3, {"hit@5": float("nan")}, "")
    with pytest.raises(StoreError, match="invalid knowledge-base version"):
        store.admin.record_kb_version(0, {}, "")


def test_faq_drafts_move_from_pending_to_approved_or_rejected(store: Store) -> None:
    li = store.conversations.record_inbound(incoming()).conversation
    wang = store.conversations.record_inbound(incoming("m2", user_id="u2")).conversation
    question, answer = "企业标准要公开吗？", "要，通过自我声明公开。"
    first = store.admin.add_faq_draft_once(FormUse("faq", li.id, "form-1"), question, answer, "li").result_id
    second = store.admin.add_faq_draft_once(
        FormUse("faq", wang.id, "form-2"), "团体标准谁来定？", "学会、协会等社会团体。", "wang"
    ).result_id

    pending = store.admin.faq_drafts()
    assert [(d.id, d.author, d.basis, d.conversation_id) for d in pending] == [
        (first, "li", None, li.id),
        (second, "wang", None, wang.id),
    ]
    approved = store.admin.review_faq_draft(first, "approved", question, answer, "标准化法第二十七条")
    assert (approved.state, approved.basis) == ("approved", "标准化法第二十七条")
    store.admin.review_faq_draft(second, "rejected", "团体标准谁来定？", "学会、协会等社会团体。", None)
    assert store.admin.faq_drafts() == []
    assert [d.question for d in store.admin.faq_drafts("approved")] == ["企业标准要公开吗？"]
    assert [d.id for d in store.admin.faq_drafts("rejected")] == [second]
    with pytest.raises(StoreError, match="invalid state"):
        store.admin.review_faq_draft(first, "maybe", question, answer, None)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="FAQ draft not found"):
        store.admin.review_faq_draft(first + second, "approved", question, answer, None)
    with pytest.raises(StoreError, match="must not be empty"):
        store.admin.review_faq_draft(first, "approved", " ", answer, None)
    with pytest.raises(StoreError, match="must not be empty"):
        store.admin.add_faq_draft_once(FormUse("faq", li.id, "form-3"), " ", "a", "li")


def test_audit_log_is_newest_first(store: Store) -> None:
    store.staff.audit("admin", "kb.activate", "version 3")
    store.staff.audit("li", "handoff.resolve", "handoff 7")
    log = store.staff.audit_log()
    assert [(e.actor, e.action, e.detail) for e in log] == [
        ("li", "handoff.resolve", "handoff 7"),
        ("admin", "kb.activate", "version 3"),
    ]
    assert len(store.staff.audit_log(limit=1)) == 1 and log[0].created_at.tzinfo == UTC


def test_daily_outcomes_group_by_local_day(store: Store) -> None:
    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    just_after_midnight = datetime(today.year, today.month, today.day, 0, 30, tzinfo=SHANGHAI)
    yesterday_noon = just_after_midnight - timedelta(hours=12, minutes=30)

    first = store.conversations.record_inbound(incoming("a", received_at=yesterday_noon)).conversation
    store.conversations.record_inbound(
        incoming("b", received_at=just_after_midnight)
    )  # yesterday in UTC, today here
    store.conversations.record_inbound(
        incoming("c", received_at=now, kind="handoff_request")
    )  # not a question
    store.conversations.record_outbound(first.id, "答复", author="bot", mode="extractive")
    store.conversations.record_outbound(first.id, "无法回答", author="bot", mode="refusal")
    store.conversations.record_outbound(first.id, "人工答复", author="staff:li")
    store.handoffs.open(first.id, "intent:human")

    outcomes = store.analytics.daily_outcomes(3, low_confidence_below=0.15, tz=SHANGHAI, now=now)
    assert [o.day for o in outcomes] == [today - timedelta(days=2), today - timedelta(days=1), today]
    # "a" was asked again ("b") before its reply, so the reply answered "b"
    assert [(o.questions, o.answered, o.other) for o in outcomes] == [(0, 0, 0), (1, 0, 1), (1, 1, 0)]
    assert len(store.analytics.daily_outcomes(low_confidence_below=0.15)) == 30


# schema, settings, connections


def test_migrate_twice_changes_nothing_and_matches_the_models(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    store.migrate()
    store.conversations.record_inbound(incoming())
    store.migrate()
    assert store.conversations.find("web", "chat-1", "u1") is not None
    store.close()

    engine = create_engine(empty_database_url, poolclass=NullPool)
    with engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_a_database_at_0001_upgrades_and_keeps_its_data(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url, poolclass=NullPool)
    config = alembic_config()
    at = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(  # what a release at 0001 stored
            text(
                "INSERT INTO conversations (id, channel, chat_id, user_id, chat_type, state,"
                " low_confidence_streak, created_at, updated_at)"
                " VALUES (1, 'web', 'chat-1', 'u1', 'private', 'bot', 0, :at, :at)"
            ),
            {"at": at},
        )
        connection.execute(
            text(
                "INSERT INTO messages (conversation_id, channel, direction, author, kind, text,"
                " channel_message_id, citations, created_at)"
                " VALUES (1, 'web', 'in', 'user', 'text', '企业标准要公开吗？', 'm1', '[]', :at)"
            ),
            {"at": at},
        )
    engine.dispose()
    store = Store(empty_database_url)
    with pytest.raises(StoreError, match="run the migrations"):
        store.staff_alerts.count_pending(["wecom"])
    store.migrate()
    conversation = store.conversations.find("web", "chat-1", "u1")
    assert conversation is not None and conversation.created_at == at
    [old] = store.conversations.transcript(conversation.id)
    assert old.text == "企业标准要公开吗？" and old.handled_at == at  # stored before: not recovered again
    assert store.inbound.unhandled(datetime.now(UTC)) == []
    reply = store.deliveries.queue_reply(
        conversation.id, "您好", author="staff:alice", form=FormUse("reply", conversation.id, "tok-12345678")
    )
    assert not reply.repeated and store.staff_alerts.count_pending(["wecom"]) == 0
    store.close()


def migrate_from_another_process(url: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        Store(url).migrate()
        results.put("ok")
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_migrating_at_once_both_succeed(empty_database_url: str) -> None:
    outcomes = in_processes(2, migrate_from_another_process, empty_database_url)
    assert outcomes == ["ok", "ok"]
    store = Store(empty_database_url)
    assert not store.conversations.record_inbound(incoming()).duplicate
    store.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_uses_wal(store: Store, tmp_path: Path) -> None:
    store.conversations.record_inbound(incoming())
    with sqlite3.connect(tmp_path / "stdbot.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_from_settings_defaults_to_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var")
    store = Store.from_settings(settings)
    store.migrate()
    assert store.ping()
    store.close()
    assert (tmp_path / "var" / "stdbot.db").is_file()

    configured = load_settings(data_dir=tmp_path, database={"url": f"sqlite:///{tmp_path / 'other.db'}"})
    other = Store.from_settings(configured)
    other.migrate()
    other.close()
    assert (tmp_path / "other.db").is_file()


def test_an_unreachable_server_raises_store_unavailable() -> None:
    store = Store(CLOSED_PORT_URL)
    assert not store.ping()
    with pytest.raises(StoreUnavailable) as raised:
        store.conversations.record_inbound(incoming())
    message = str(raised.value)
    assert message.startswith("数据库不可用 / database unavailable")
    assert "127.0.0.1:1" in message and "secret" not in message and "Connection refused" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    with pytest.raises(StoreUnavailable, match="数据库不可用"):
        store.migrate()
    store.close()


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "nosuchdb://host/db",
        "mysql+nosuchdriver://host/db",
        "postgresql+psycopg://postgres:secret@127.0.0.1:port/db",
    ],
)
def test_a_bad_url_raises_store_unavailable(url: str) -> None:
    with pytest.raises(StoreUnavailable, match="invalid database URL") as raised:
        Store(url)
    assert "secret" not in str(raised.value)


def test_a_database_without_tables_says_to_migrate(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    with pytest.raises(StoreError, match="run the migrations"):
        store.conversations.get(1)
    store.close()
