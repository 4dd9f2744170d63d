"""The analytics queries on SQLite and PostgreSQL: rows written through the Store as the dispatcher and the
console write them, moved back in time through the database where a test needs older traffic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bot.messages import IncomingMessage
from bot.store import Store
from bot.store.models import FeedbackRow, HandoffRow, MessageRow
from bot.store.outcomes import normalise
from bot.store.records import DailyOutcome, FirstReplyTimes

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOW = 0.15  # the answer chain's default escalation threshold


def ask(store: Store, user: str, text: str) -> int:
    """A user's question on the web chat; the conversation id."""
    message = IncomingMessage(channel="web", chat_id=user, user_id=user, message_id="", text=text)
    return store.conversations.record_inbound(message).conversation.id


def bot(store: Store, conversation_id: int, confidence: float, mode: str = "extractive") -> int:
    return store.conversations.record_outbound(
        conversation_id, "机器人的回答", author="bot", mode=mode, confidence=confidence
    ).id


def escalate(store: Store, conversation_id: int, reason: str = "user_request") -> int:
    """What the dispatcher does for an escalated question: open the handoff, then tell the user."""
    handoff = store.handoffs.open(conversation_id, reason)
    store.conversations.record_outbound(
        conversation_id, "已为您转接人工客服", author="system", mode="handoff"
    )
    return handoff.id


@contextmanager
def database(store_url: str) -> Iterator[Session]:
    """A second connection to the store's database, to move rows in time."""
    engine = create_engine(store_url, poolclass=NullPool)
    try:
        with Session(engine) as session, session.begin():
            yield session
    finally:
        engine.dispose()


def move_conversation(store_url: str, conversation_id: int, by: timedelta) -> None:
    """Shift every timestamp of a conversation's messages, handoffs and votes by `by`."""
    with database(store_url) as session:
        messages = session.scalars(select(MessageRow).where(MessageRow.conversation_id == conversation_id))
        ids = []
        for message in messages:
            message.created_at += by
            ids.append(message.id)
        for handoff in session.scalars(
            select(HandoffRow).where(HandoffRow.conversation_id == conversation_id)
        ):
            handoff.created_at += by
            if handoff.first_reply_at is not None:
                handoff.first_reply_at += by
        for vote in session.scalars(select(FeedbackRow).where(FeedbackRow.message_id.in_(ids))):
            vote.created_at += by


def local_today() -> date:
    return datetime.now(UTC).astimezone(SHANGHAI).date()


# what became of each question


def test_each_question_is_judged_by_the_reply_it_got(store: Store, store_url: str) -> None:
    a = ask(store, "a", "企业标准要公开吗？")
    bot(store, a, 0.62)  # answered
    ask(store, "a", "你好")
    bot(store, a, 0.0, mode="refusal")  # small talk: other
    ask(store, "a", "GB 2760 还有效吗")
    bot(store, a, 0.05)  # low confidence, not (yet) handed off

    b = ask(store, "b", "我要投诉")
    escalate(store, b)  # escalated
    ask(store, "b", "还在吗")
    store.conversations.record_outbound(
        b, "请稍候，客服马上就来", author="system", mode="waiting"
    )  # queued: other
    ask(store, "b", "喂")  # no reply at all: other
    store.conversations.record_outbound(b, "您好，我是客服小李", author="staff:li")

    e = ask(store, "e", "第一个问题")  # the user asked again before the bot replied: other
    ask(store, "e", "第二个问题")
    bot(store, e, 0.9)

    yesterday = ask(store, "y", "昨天的问题")
    bot(store, yesterday, 0.9)
    ask(store, "y", "昨天转人工的问题")
    escalate(store, yesterday, "error")
    move_conversation(store_url, yesterday, -timedelta(days=1))

    old = ask(store, "old", "五天前的问题")
    escalate(store, old)
    move_conversation(store_url, old, -timedelta(days=5))

    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    outcomes = store.analytics.daily_outcomes(3, low_confidence_below=LOW, tz=SHANGHAI, now=now)
    assert outcomes == [
        DailyOutcome(today - timedelta(days=2), 0, 0, 0, 0),
        DailyOutcome(today - timedelta(days=1), answered=1, low_confidence=0, escalated=1, other=0),
        DailyOutcome(today, answered=2, low_confidence=1, escalated=1, other=4),
    ]
    week = store.analytics.daily_outcomes(7, low_confidence_below=LOW, tz=SHANGHAI, now=now)
    assert week[1] == DailyOutcome(today - timedelta(days=5), 0, 0, 1, 0) and week[-3:] == outcomes


def test_a_stricter_threshold_turns_answers_into_low_confidence_ones(store: Store) -> None:
    conversation = ask(store, "a", "企业标准要公开吗？")
    bot(store, conversation, 0.3)
    [lenient] = store.analytics.daily_outcomes(1, low_confidence_below=0.15)
    [strict] = store.analytics.daily_outcomes(1, low_confidence_below=0.5)
    assert (lenient.answered, lenient.low_confidence) == (1, 0)
    assert (strict.answered, strict.low_confidence) == (0, 1)


def test_unanswered_questions_count_identical_texts_together(store: Store, store_url: str) -> None:
    for user, text in (("u1", "企业标准要公开吗？"), ("u2", " 企业标准   要公开吗？ ")):
        escalate(store, ask(store, user, text))
    low = ask(store, "u3", "GB/T 1.1 是什么")
    bot(store, low, 0.05)
    ask(store, "u3", "gb/t 1.1\t是什么")
    bot(store, low, 0.02)
    escalate(store, ask(store, "u4", "GB/T 1.1 是什么"))
    bot(store, ask(store, "u5", "GB/T 1.1 是什么"), 0.9)  # answered well: not counted
    bot(store, ask(store, "u6", "你好"), 0.0, mode="refusal")  # small talk: not a failure
    escalate(store, ask(store, "u7", "<script>alert(1)</script>"))
    old = ask(store, "u8", "企业标准要公开吗？")
    escalate(store, old)
    move_conversation(store_url, old, -timedelta(days=40))

    found = store.analytics.unanswered_questions(30, low_confidence_below=LOW, tz=SHANGHAI)
    assert [(q.text, q.count, q.escalated) for q in found] == [
        ("GB/T 1.1 是什么", 3, 1),
        ("企业标准 要公开吗？", 2, 2),
        ("<script>alert(1)</script>", 1, 1),
    ]
    assert all(q.last_asked_at.tzinfo == UTC for q in found)
    assert found[0].last_asked_at > found[1].last_asked_at
    assert len(store.analytics.unanswered_questions(30, low_confidence_below=LOW, limit=1)) == 1
    longer = store.analytics.unanswered_questions(60, low_confidence_below=LOW, tz=SHANGHAI)
    assert [(q.text, q.count) for q in longer[:2]] == [("GB/T 1.1 是什么", 3), ("企业标准 要公开吗？", 3)]


# staff reply times


def test_first_reply_times_take_the_median_over_the_period(store: Store, store_url: str) -> None:
    opened = datetime.now(UTC) - timedelta(hours=3)
    waits = {"r1": 60, "r2": 600, "r3": 180}
    handoffs = {
        user: escalate(store, ask(store, user, "请转人工")) for user in (*waits, "open", "done", "old")
    }
    for handoff_id in (handoffs["r1"], handoffs["r2"], handoffs["r3"], handoffs["old"]):
        store.handoffs.note_staff_reply(handoff_id)
    store.handoffs.resolve(handoffs["done"], "li")
    with database(store_url) as session:
        for user, handoff_id in handoffs.items():
            row = session.get_one(HandoffRow, handoff_id)
            row.created_at = opened - timedelta(days=40) if user == "old" else opened
            if user in waits:
                row.first_reply_at = opened + timedelta(seconds=waits[user])
            elif user == "old":
                row.first_reply_at = row.created_at + timedelta(seconds=5)

    times = store.analytics.first_reply_times(30, tz=SHANGHAI)
    assert times == FirstReplyTimes(handoffs=5, replied=3, median_s=180.0, unreplied_open=1)
    assert times.unreplied == 2
    assert store.analytics.first_reply_times(60, tz=SHANGHAI).median_s == 120.0  # 5 s, 60 s, 180 s, 600 s


def test_first_reply_times_without_handoffs(store: Store) -> None:
    assert store.analytics.first_reply_times() == FirstReplyTimes(0, 0, None, 0)


# feedback


def test_feedback_per_day_and_the_latest_thumbs_down(store: Store, store_url: str) -> None:
    a = ask(store, "a", "企业标准要公开吗？")
    liked = bot(store, a, 0.8)
    ask(store, "a", "那团体标准呢？")
    disliked = bot(store, a, 0.4)
    staff_reply = store.conversations.record_outbound(a, "团体标准由团体自行决定", author="staff:li").id
    b = ask(store, "b", "GB 2760 现行吗")
    changed = bot(store, b, 0.9)
    old = ask(store, "old", "很久以前的问题")
    long_ago = bot(store, old, 0.9)

    store.conversations.record_feedback(liked, 1)
    store.conversations.record_feedback(disliked, -1, "没回答我的问题")
    store.conversations.record_feedback(staff_reply, -1)
    store.conversations.record_feedback(changed, -1)
    store.conversations.record_feedback(changed, 1)  # a changed vote replaces the first
    store.conversations.record_feedback(long_ago, -1)
    move_conversation(store_url, old, -timedelta(days=40))
    with database(store_url) as session:
        vote = session.scalars(select(FeedbackRow).where(FeedbackRow.message_id == disliked)).one()
        vote.created_at -= timedelta(days=1)

    today = local_today()
    feedback = store.analytics.daily_feedback(2, tz=SHANGHAI)
    assert [(f.day, f.up, f.down) for f in feedback] == [(today - timedelta(days=1), 0, 1), (today, 2, 1)]

    downvotes = store.analytics.recent_downvotes(30, tz=SHANGHAI)
    assert [(d.message_id, d.author, d.question, d.comment) for d in downvotes] == [
        (staff_reply, "staff:li", "那团体标准呢？", None),
        (disliked, "bot", "那团体标准呢？", "没回答我的问题"),
    ]
    assert downvotes[0].conversation_id == a and downvotes[1].answer == "机器人的回答"
    assert downvotes[0].voted_at > downvotes[1].voted_at
    assert [d.message_id for d in store.analytics.recent_downvotes(30, limit=1)] == [staff_reply]
    assert [d.message_id for d in store.analytics.recent_downvotes(60)] == [staff_reply, disliked, long_ago]


def test_questions_match_ignoring_case_and_spacing() -> None:
    assert normalise(" GB/T  1.1\t是什么 ") == normalise("gb/t 1.1是什么") == "gb/t 1.1是什么"
    assert normalise("企业 标准 要公开吗？") == normalise("企业标准要公开吗？")
    assert normalise("GB/T 1.1") != normalise("GB/T1.1")  # a space between Latin letters or digits counts
