"""The dispatcher end to end: a real store (SQLite and PostgreSQL), the sample knowledge base, real locks,
the outbox and a staff notifier posting to a local HTTP server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from support.recording_server import RecordingServer

import prompts
from bot.messages import DeliveryResult, IncomingKind, IncomingMessage, Reply
from bot.service.channels import ChannelRegistry
from bot.service.dispatcher import AnswerSource, Dispatcher, HandleResult, conversation_key, memory_key
from bot.service.events import EventBus, HandoffOpened
from bot.service.handoff import HandoffPolicy
from bot.service.kb_holder import KnowledgeAnswerSource, KnowledgeBaseHolder
from bot.service.locks import ConversationLocks
from bot.service.notify import StaffNotifier
from bot.service.outbox import Outbox
from bot.service.recovery import Recovery
from bot.store import ConversationRecord, Store
from config.settings import HandoffSettings, NotifySettings, Settings
from ingest.build import build_knowledge_base
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.types import Answer

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
SATURDAY_10 = datetime(2026, 6, 6, 10, 0, tzinfo=SHANGHAI)
CHANNEL = "testchat"


class RecordingChannel:
    name = CHANNEL

    def __init__(self) -> None:
        self.sent: list[Reply] = []

    def send(self, reply: Reply) -> DeliveryResult:
        self.sent.append(reply)
        return DeliveryResult(ok=True, platform_message_id=str(reply.message_id))


class CountingSource:
    """Passes questions to another AnswerSource and counts them; can be slowed down."""

    def __init__(self, inner: AnswerSource, delay_s: float = 0.0) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.questions: list[str] = []
        self.active = 0
        self.most_active = 0
        self.lock = threading.Lock()

    def answer(self, question: str, conversation_key: str) -> Answer:
        with self.lock:
            self.questions.append(question)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            time.sleep(self.delay_s)
            return self.inner.answer(question, conversation_key)
        finally:
            with self.lock:
                self.active -= 1


class BrokenSource:
    """An answer provider that fails, as a crashed LLM client or a corrupt index would."""

    def answer(self, question: str, conversation_key: str) -> Answer:
        raise RuntimeError("vector store connection reset")


class WeakSource:
    """Answers everything with low confidence, as the Answerer does when retrieval finds little."""

    def answer(self, question: str, conversation_key: str) -> Answer:
        return Answer("相关内容有限，仅供参考。", (), 0.05, "extractive", True, question, ("low_confidence",))


@pytest.fixture(scope="module")
def kb_source(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeAnswerSource:
    if not (SAMPLE / "faq.csv").is_file():
        pytest.skip("data/sample is missing")
    data_dir = tmp_path_factory.mktemp("dispatch") / "var"
    embeddings = UniversalSentenceEncoder()
    build_knowledge_base([SAMPLE], Settings(data_dir=data_dir), embeddings=embeddings)
    return KnowledgeAnswerSource(KnowledgeBaseHolder(Settings(data_dir=data_dir), embeddings=embeddings))


@pytest.fixture
def staff_robot() -> Iterator[RecordingServer]:
    with RecordingServer({"errcode": 0, "errmsg": "ok"}) as server:
        yield server


class Flow:
    """A dispatcher with everything around it, and helpers to talk to it."""

    def __init__(
        self, store: Store, store_url: str, source: AnswerSource, robot: RecordingServer, now: datetime
    ) -> None:
        self.store = store
        self.channel = RecordingChannel()
        self.outbox = Outbox(store, ChannelRegistry([self.channel]))
        self.notifier = StaffNotifier(
            NotifySettings.model_validate({"wecom_webhook_url": f"{robot.base_url}/hook"}),
            store,
            zone=SHANGHAI,
        )
        self.robot = robot
        self.locks = ConversationLocks(store_url)
        self.policy = HandoffPolicy(HandoffSettings())
        self.now = now
        self.dispatcher = self.make(source)
        self.count = 0

    def make(self, source: AnswerSource) -> Dispatcher:
        events = EventBus()
        events.subscribe(HandoffOpened, self.notifier.on_handoff_opened)
        return Dispatcher(
            self.store, source, self.policy, self.outbox, self.locks, events=events, clock=lambda: self.now
        )

    def say(
        self, text: str, kind: IncomingKind = "text", payload: str | None = None, user: str = "u1"
    ) -> HandleResult:
        self.count += 1
        message = IncomingMessage(
            CHANNEL, f"chat-{user}", user, f"m{self.count}", text, kind=kind, payload=payload
        )
        return self.dispatcher.handle(message)

    def hand_over(self, text: str = "转人工") -> tuple[HandleResult, int]:
        """Ask for a person: the result, and the id of the handoff it opened."""
        result = self.say(text)
        handoff = self.store.handoffs.active_for(result.conversation_id)
        assert handoff is not None
        return result, handoff.id

    def alerts(self) -> list[str]:
        self.notifier.flush()
        return [r.body["markdown"]["content"] for r in self.robot.requests]


def flow_for(
    store: Store, store_url: str, source: AnswerSource, robot: RecordingServer, now: datetime = MONDAY_10
) -> Flow:
    return Flow(store, store_url, source, robot, now)


@pytest.fixture
def flow(
    store: Store, store_url: str, kb_source: KnowledgeAnswerSource, staff_robot: RecordingServer
) -> Flow:
    return flow_for(store, store_url, CountingSource(kb_source), staff_robot)


def test_a_question_is_answered_stored_and_delivered(flow: Flow) -> None:
    result = flow.say("企业标准要公开吗")
    assert not result.duplicate and not result.handed_off and result.reply is not None
    assert "《中华人民共和国标准化法》第二十七条" in [c.label for c in result.reply.citations]
    inbound, outbound = flow.store.conversations.transcript(result.conversation_id)
    assert (inbound.direction, inbound.text) == ("in", "企业标准要公开吗")
    assert (outbound.author, outbound.mode, outbound.id) == ("bot", "faq", result.reply.message_id)
    assert [c.label for c in outbound.citations] == [c.label for c in result.reply.citations]
    assert outbound.latency_ms is not None and outbound.confidence is not None
    assert result.delivery_id is not None and flow.store.deliveries.get(result.delivery_id).state == "pending"
    assert flow.outbox.run_once() == 1
    assert [r.text for r in flow.channel.sent] == [result.reply.text]
    assert flow.alerts() == []


def test_a_duplicate_is_never_answered_twice(flow: Flow) -> None:
    message = IncomingMessage(CHANNEL, "chat-1", "u1", "wx-123", "GB/T 19001-2016 还有效吗")
    first = flow.dispatcher.handle(message)
    again = flow.dispatcher.handle(message)
    assert not first.duplicate and again.duplicate and again.reply is None
    assert again.conversation_id == first.conversation_id
    assert len(flow.store.conversations.transcript(first.conversation_id)) == 2
    assert isinstance(flow.dispatcher.answers, CountingSource) and len(flow.dispatcher.answers.questions) == 1


def test_simultaneous_duplicates_get_one_answer(flow: Flow) -> None:
    message = IncomingMessage(CHANNEL, "chat-1", "u1", "wx-race", "企业标准要公开吗")
    results: list[HandleResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(flow.dispatcher.handle(message))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert len(flow.store.conversations.transcript(results[0].conversation_id)) == 2


def test_one_conversation_is_answered_one_message_at_a_time(
    store: Store, store_url: str, kb_source: KnowledgeAnswerSource, staff_robot: RecordingServer
) -> None:
    source = CountingSource(kb_source, delay_s=0.1)
    flow = flow_for(store, store_url, source, staff_robot)
    messages = [IncomingMessage(CHANNEL, "chat-1", "u1", f"m{n}", "企业标准要公开吗") for n in range(3)]
    threads = [threading.Thread(target=flow.dispatcher.handle, args=(m,)) for m in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(source.questions) == 3 and source.most_active == 1


def test_asking_for_a_person_hands_over_and_later_messages_wait_for_staff(flow: Flow) -> None:
    handed = flow.say("转人工")
    assert handed.handed_off and handed.reason == "user_request" and handed.reply is not None
    assert handed.reply.escalated and handed.reply.text == prompts.load("escalate_human")
    conversation = flow.store.conversations.get(handed.conversation_id)
    assert conversation.state == "waiting"
    handoff = flow.store.handoffs.active_for(handed.conversation_id)
    assert handoff is not None and handoff.reason == "user_request"

    queued = flow.say("我们是做食品的，想问企业标准备案")
    assert queued.handed_off and queued.reply is not None
    assert queued.reply.text == prompts.load("handoff_waiting") and queued.reply.kind == "system"
    quiet = flow.say("还有人吗")
    assert quiet.handed_off and quiet.reply is None  # told once per handoff, not per message
    assert isinstance(flow.dispatcher.answers, CountingSource)
    assert flow.dispatcher.answers.questions == ["转人工"]  # the bot answered none of the queued ones
    texts = [m.text for m in flow.store.conversations.transcript(handed.conversation_id)]
    assert "我们是做食品的，想问企业标准备案" in texts and "还有人吗" in texts  # staff see them

    [alert] = flow.alerts()  # staff were told once
    assert "转人工" in alert and f"/console/conversations/{handed.conversation_id})" in alert


def test_a_claimed_conversation_is_for_staff_only(flow: Flow) -> None:
    handed, handoff_id = flow.hand_over("人工客服")
    flow.store.handoffs.claim(handoff_id, "wang")
    result = flow.say("请问收费标准")
    assert result.handed_off and result.reply is None
    assert flow.store.conversations.get(handed.conversation_id).state == "staff"


def test_after_staff_resolve_the_bot_answers_again(flow: Flow) -> None:
    _, handoff_id = flow.hand_over()
    flow.store.handoffs.resolve(handoff_id, "wang")
    result = flow.say("企业标准要公开吗")
    assert not result.handed_off and result.reply is not None and result.reply.kind == "bot"
    again = flow.say("转人工")
    assert again.handed_off
    assert len(flow.alerts()) == 2  # a new handoff, a new notification


def test_a_crash_while_answering_loses_nothing(
    store: Store, store_url: str, staff_robot: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    flow = flow_for(store, store_url, BrokenSource(), staff_robot)
    with caplog.at_level(logging.ERROR, logger="bot.service.dispatcher"):
        result = flow.say("强制性标准必须执行吗")
    assert result.handed_off and result.reason == "error" and result.reply is not None
    assert result.reply.text.startswith(prompts.load("handoff_error"))
    assert "vector store connection reset" in caplog.text  # the traceback is logged
    inbound, apology = flow.store.conversations.transcript(result.conversation_id)
    assert inbound.text == "强制性标准必须执行吗" and apology.author == "system"
    assert flow.store.conversations.get(result.conversation_id).state == "waiting"
    [alert] = flow.alerts()
    assert "强制性标准必须执行吗" in alert and "系统出错" in alert


def test_the_button_hands_over_with_the_last_question_for_staff(flow: Flow) -> None:
    answered = flow.say("企业标准要公开吗")
    result = flow.say("", kind="handoff_request")
    assert result.handed_off and result.reason == "button" and result.reply is not None
    assert result.reply.text == prompts.load("handoff_queued") and result.reply.kind == "system"
    [alert] = flow.alerts()
    assert "企业标准要公开吗" in alert
    assert answered.reply is not None and answered.reply.text[:30] in alert


def test_thumbs_down_hands_over_thumbs_up_does_not(flow: Flow, store_url: str) -> None:
    answered = flow.say("企业标准要公开吗")
    assert answered.reply is not None and answered.reply.message_id is not None
    bot_message = answered.reply.message_id
    up = flow.say("👍", kind="feedback", payload=f"1:{bot_message}")
    assert not up.handed_off and up.reply is None
    down = flow.say("👎", kind="feedback", payload=f"-1:{bot_message}")
    assert down.handed_off and down.reason == "thumbs_down"
    engine = create_engine(store_url, poolclass=NullPool)
    with engine.connect() as connection:
        votes = connection.execute(
            text("SELECT value FROM feedback WHERE message_id = :m"), {"m": bot_message}
        )
        assert [row[0] for row in votes] == [-1]
    engine.dispose()
    [alert] = flow.alerts()
    assert "企业标准要公开吗" in alert


def test_feedback_on_someone_elses_message_is_ignored(flow: Flow) -> None:
    other = flow.say("企业标准要公开吗", user="other")
    assert other.reply is not None
    result = flow.say("👎", kind="feedback", payload=f"-1:{other.reply.message_id}")
    assert not result.handed_off and result.reply is None
    assert flow.store.handoffs.active_for(result.conversation_id) is None


def test_low_confidence_twice_in_a_row_hands_over(
    store: Store, store_url: str, staff_robot: RecordingServer
) -> None:
    flow = flow_for(store, store_url, WeakSource(), staff_robot)
    first = flow.say("我们那个东西怎么弄")
    assert not first.handed_off and first.reply is not None
    assert flow.store.conversations.get(first.conversation_id).low_confidence_streak == 1
    second = flow.say("就是那个东西")
    assert second.handed_off and second.reason == "low_confidence" and second.reply is not None
    assert second.reply.text.endswith(prompts.load("handoff_queued"))
    assert flow.store.conversations.get(first.conversation_id).low_confidence_streak == 0


def test_outside_staff_hours_the_bot_keeps_answering_while_waiting(flow: Flow) -> None:
    flow.now = SATURDAY_10
    handed = flow.say("转人工")
    assert handed.handed_off and handed.reply is not None
    assert "6月8日（周一）09:00" in handed.reply.text
    result = flow.say("企业标准要公开吗")
    assert result.reply is not None and result.reply.kind == "bot" and "编号和名称" in result.reply.text
    assert flow.store.conversations.get(handed.conversation_id).state == "waiting"  # staff still follow up
    assert len(flow.alerts()) == 1
    flow.now = MONDAY_10  # staff are in: the next message waits for them
    queued = flow.say("工作人员在吗")
    assert queued.reply is not None and queued.reply.text == prompts.load("handoff_waiting")


def test_a_failing_notifier_does_not_break_the_flow(
    store: Store, store_url: str, kb_source: KnowledgeAnswerSource
) -> None:
    with RecordingServer({"errcode": 0}) as gone:
        pass  # stopped: nothing listens at its address any more
    flow = flow_for(store, store_url, kb_source, gone)
    result = flow.say("转人工")
    assert result.handed_off and result.reply is not None
    assert flow.notifier.flush() == 0  # logged, not raised


def test_events_are_stored_but_not_answered(flow: Flow) -> None:
    result = flow.say("subscribe", kind="event")
    assert result.reply is None and not result.handed_off
    assert [m.kind for m in flow.store.conversations.transcript(result.conversation_id)] == ["event"]


def test_a_held_reply_is_left_to_the_channel(flow: Flow) -> None:
    message = IncomingMessage(CHANNEL, "chat-1", "u1", "passive-1", "企业标准要公开吗")
    result = flow.dispatcher.handle(message, hold_delivery_s=30)
    assert result.delivery_id is not None
    assert flow.outbox.run_once() == 0
    flow.outbox.mark_delivered(result.delivery_id, "passive")
    assert flow.store.deliveries.get(result.delivery_id).state == "sent"


def test_a_conversation_staff_took_without_a_handoff_is_not_answered(flow: Flow, store_url: str) -> None:
    first = flow.say("企业标准要公开吗")
    engine = create_engine(store_url, poolclass=NullPool)  # no repository leaves a conversation so
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE conversations SET state = 'staff' WHERE id = :c"), {"c": first.conversation_id}
        )
    engine.dispose()
    result = flow.say("GB/T 19001-2016 还有效吗")
    assert result.handed_off and result.reply is None
    assert isinstance(flow.dispatcher.answers, CountingSource)
    assert flow.dispatcher.answers.questions == ["企业标准要公开吗"]


def test_a_new_store_never_continues_another_stores_conversation() -> None:
    started = datetime(2026, 6, 1, 9, 0)
    first = ConversationRecord(1, "webchat", "c", "u", None, "private", "bot", started, started, 0)
    again = replace(first, created_at=started.replace(hour=10))
    assert memory_key(first) != memory_key(again)
    assert memory_key(first).startswith(conversation_key(1))


# --- turns cut short (the process died mid-answer) ---------------------------------------------------


def cut_short(flow: Flow, text: str, message_id: str = "lost-1") -> IncomingMessage:
    """A message stored by a turn that never finished, as a killed process leaves it."""
    message = IncomingMessage(CHANNEL, "chat-u1", "u1", message_id, text)
    assert not flow.store.conversations.record_inbound(message).duplicate
    return message


def recovery(flow: Flow, after: timedelta) -> Recovery:
    return Recovery(flow.store, flow.dispatcher, clock=lambda: datetime.now(UTC) + after)


def test_recovery_answers_a_cut_short_message_once(flow: Flow) -> None:
    cut_short(flow, "企业标准需要自我声明公开吗")
    assert recovery(flow, timedelta(seconds=10)).run_once() == 0  # within the grace: maybe still running
    assert recovery(flow, timedelta(minutes=2)).run_once() == 1
    assert recovery(flow, timedelta(minutes=2)).run_once() == 0  # answered once, never twice
    flow.outbox.run_once()
    assert [r.kind for r in flow.channel.sent] == ["bot"]
    assert "公开" in flow.channel.sent[0].text


def test_a_repeated_delivery_of_a_cut_short_message_gets_its_answer(flow: Flow) -> None:
    message = cut_short(flow, "企业标准需要自我声明公开吗")
    again = flow.dispatcher.handle(message)  # the platform delivers it again after the crash
    assert not again.duplicate and again.reply is not None and again.reply.kind == "bot"
    assert flow.dispatcher.handle(message).duplicate  # a third delivery: answered already
    assert recovery(flow, timedelta(minutes=2)).run_once() == 0


def test_a_message_too_old_to_answer_goes_to_staff_with_an_apology(flow: Flow) -> None:
    cut_short(flow, "企业标准需要自我声明公开吗")
    assert recovery(flow, timedelta(minutes=30)).run_once() == 1
    conversation = flow.store.conversations.find(CHANNEL, "chat-u1", "u1")
    assert conversation is not None
    handoff = flow.store.handoffs.active_for(conversation.id)
    assert handoff is not None and handoff.reason == "recovered"
    flow.outbox.run_once()
    assert [r.text for r in flow.channel.sent] == [prompts.load("recovered_notice")]
    assert len(flow.alerts()) == 1


def test_a_stored_reply_marks_its_message_answered_in_the_same_transaction(flow: Flow) -> None:
    cut_short(flow, "企业标准需要自我声明公开吗")
    [lost] = flow.store.inbound.unhandled(datetime.now(UTC) + timedelta(minutes=2))
    flow.store.conversations.record_outbound(lost.conversation_id, "答复", author="bot", handles=lost.id)
    assert flow.store.inbound.unhandled(datetime.now(UTC) + timedelta(minutes=2)) == []
