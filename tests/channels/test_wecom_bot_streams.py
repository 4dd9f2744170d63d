"""Streamed replies of the WeCom 智能机器人 through the real app, on SQLite and PostgreSQL: group
@-mentions, single chats, a slow answer (the local OpenAI-protocol server) finishing over several
refreshes, refreshes landing on a second app instance sharing the database, the three-in-flight limit,
repeated deliveries, the six-minute window, and replies sent later through the response_url."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from channels.wecom_bot_support import (
    BOT_NAME,
    BotApp,
    bot_settings,
    conversation_of,
    running,
    transcript,
)
from support.openai_server import FakeOpenAIServer
from support.openai_server import Reply as LLMReply
from support.recording_server import RecordingServer
from support.waiting import eventually
from support.wecom_platform import RESPONSE_PATH

import prompts
from bot.channels.wecom_bot.answers import LATE_ANSWER
from bot.channels.wecom_bot.sender import ResponseUrls, WecomBotChannel
from bot.channels.wecom_bot.streams import Refresh, StreamBook, StreamState, StreamTexts
from bot.messages import IncomingMessage, Reply
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.service.locks import ConversationLocks
from bot.store import Store
from config.settings import Settings

LLM_QUESTION = "我们是帮别人贴牌代工的，产品标准谁来公开"
LLM_ANSWER = "贴牌代工的产品，由委托方对其执行的标准进行自我声明公开[1]。"
FAQ_QUESTION = "企业标准需要自我声明公开吗"
GROUP = "wrkSFfCgAAgroup"


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(autouse=True)
def quick_llm(llm: FakeOpenAIServer) -> None:
    llm.reply(LLM_ANSWER)


@pytest.fixture(scope="module")
def llm_holder(kb_dir: Path, holder: KnowledgeBaseHolder, llm: FakeOpenAIServer) -> KnowledgeBaseHolder:
    """The sample knowledge base answering through the local OpenAI-protocol server."""
    settings = Settings(data_dir=kb_dir, llm={"base_url": llm.base_url, "model": "m", "timeout_s": 20})
    found = KnowledgeBaseHolder(settings, embeddings=holder.embeddings)
    assert found.check() == 1
    return found


@pytest.fixture
def settings(kb_dir: Path, store_url: str, response_url: RecordingServer) -> Settings:
    return bot_settings(kb_dir, store_url, response_url.base_url, first_reply_wait_s=0.5)


@pytest.fixture
def bot(settings: Settings, llm_holder: KnowledgeBaseHolder) -> Iterator[BotApp]:
    with running(settings, llm_holder) as app:
        yield app


def finished(bot: BotApp, message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stream reply to `message`, the first callback's and the refreshes', until finish."""
    first = bot.wecom.send(message)
    assert first is not None and first["msgtype"] == "stream"
    return bot.wecom.refresh_until_finished(first, message)


def test_group_question_is_answered_with_the_mentions_of_the_bot_taken_out(
    bot: BotApp, llm: FakeOpenAIServer
) -> None:
    content = f"@{BOT_NAME} @李四\u2005{LLM_QUESTION} @{BOT_NAME}"
    replies = finished(bot, bot.wecom.text(content, chat=GROUP))
    final = replies[-1]["stream"]["content"]
    assert "委托方" in final and "依据" in final and "《" in final
    stored = transcript(bot.store, GROUP, "zhangsan")
    assert (stored[0].direction, stored[0].text) == ("in", f"@李四 {LLM_QUESTION}")
    assert stored[-1].author == "bot" and stored[-1].citations
    assert LLM_QUESTION in llm.requests[-1].text() and BOT_NAME not in llm.requests[-1].text()
    conversation = conversation_of(bot.store, GROUP, "zhangsan")
    assert conversation is not None and conversation.chat_type == "group"


def test_group_message_without_the_bot_mentioned_is_not_answered(bot: BotApp) -> None:
    assert bot.wecom.send(bot.wecom.text(f"@李四 {FAQ_QUESTION}", chat=GROUP)) is None
    assert conversation_of(bot.store, GROUP, "zhangsan") is None


def test_single_chat_is_answered_without_a_mention(bot: BotApp) -> None:
    replies = finished(bot, bot.wecom.text(FAQ_QUESTION, user="wangwu"))
    assert "公开" in replies[-1]["stream"]["content"]
    conversation = conversation_of(bot.store, "wangwu", "wangwu")
    assert conversation is not None and conversation.chat_type == "private"
    assert [m.text for m in bot.store.conversations.transcript(conversation.id) if m.direction == "in"] == [
        FAQ_QUESTION
    ]


def test_slow_answer_shows_a_placeholder_and_finishes_over_several_refreshes(
    bot: BotApp, llm: FakeOpenAIServer, response_url: RecordingServer
) -> None:
    llm.reply(LLM_ANSWER, delay_s=2.0)
    replies = finished(bot, bot.wecom.text(f"@{BOT_NAME} {LLM_QUESTION}", chat=GROUP))
    placeholder = prompts.load("wecom_bot_thinking")
    assert replies[0]["stream"] == {"id": replies[0]["stream"]["id"], "finish": False, "content": placeholder}
    assert len(replies) >= 3 and all(r["stream"]["content"] == placeholder for r in replies[:-1])
    assert "委托方" in replies[-1]["stream"]["content"] and "依据" in replies[-1]["stream"]["content"]
    answer = transcript(bot.store, GROUP, "zhangsan")[-1]
    delivery = bot.store.deliveries.enqueue(answer.id, "wecom_bot", GROUP, answer.text, "bot")
    assert delivery.state == "sent"  # the stream carried it: the outbox will not send it again
    # a refresh repeated after the finish gets the same final content
    again = bot.wecom.send(bot.wecom.refresh_of(bot.wecom.text("", chat=GROUP), replies[0]["stream"]["id"]))
    assert again is not None and again["stream"] == replies[-1]["stream"]
    assert response_url.requests == []


def test_refreshes_landing_on_a_second_instance_sharing_the_database(
    bot: BotApp, settings: Settings, llm_holder: KnowledgeBaseHolder, llm: FakeOpenAIServer
) -> None:
    llm.reply(LLM_ANSWER, delay_s=1.5)
    asked_before = len(llm.requests)
    message = bot.wecom.text(f"@{BOT_NAME} {LLM_QUESTION}", chat=GROUP)
    first = bot.wecom.send(message)
    assert first is not None and not first["stream"]["finish"]
    with running(settings, llm_holder) as other:
        replies = other.wecom.refresh_until_finished(first, message)
        assert "委托方" in replies[-1]["stream"]["content"]
        # the original delivery of the message, repeated to the second instance, is not answered again
        repeated = other.wecom.send(message)
        assert repeated is not None and repeated["stream"] == replies[-1]["stream"]
    stored = transcript(bot.store, GROUP, "zhangsan")
    assert [m.direction for m in stored] == ["in", "out"]
    assert len(llm.requests) == asked_before + 1


def test_a_fourth_message_in_flight_is_asked_to_wait(bot: BotApp, llm: FakeOpenAIServer) -> None:
    # three different answers: the same reply twice in a row would be replaced by a pointer to the first
    llm.script(*(LLMReply(f"{LLM_ANSWER}（{n}）", delay_s=1.0) for n in range(3)))
    messages = [bot.wecom.text(f"@{BOT_NAME} {LLM_QUESTION}{n}", chat=GROUP) for n in range(3)]
    firsts = [bot.wecom.send(m) for m in messages]
    assert all(f is not None and not f["stream"]["finish"] for f in firsts)
    fourth = bot.wecom.send(bot.wecom.text(f"@{BOT_NAME} 还有一个问题", chat=GROUP))
    assert fourth is not None and fourth["stream"]["finish"]
    assert fourth["stream"]["content"].startswith("请稍候，上一个问题还在处理")
    other_user = bot.wecom.send(bot.wecom.text(f"@{BOT_NAME} {FAQ_QUESTION}", user="lisi", chat=GROUP))
    assert other_user is not None and "请稍候" not in other_user["stream"]["content"]
    for first, message in zip(firsts, messages, strict=True):
        assert first is not None
        assert "委托方" in bot.wecom.refresh_until_finished(first, message)[-1]["stream"]["content"]
    asked = [m.text for m in transcript(bot.store, GROUP, "zhangsan") if m.direction == "in"]
    assert asked == [f"{LLM_QUESTION}{n}" for n in range(3)]  # the fourth was not taken in
    llm.reply(LLM_ANSWER)
    again = finished(bot, bot.wecom.text(f"@{BOT_NAME} {FAQ_QUESTION}", chat=GROUP))
    assert "请稍候" not in again[-1]["stream"]["content"]  # the slots were freed


def test_repeated_deliveries_of_a_message_get_one_answer(bot: BotApp) -> None:
    message = bot.wecom.text(f"@{BOT_NAME} {FAQ_QUESTION}", chat=GROUP)
    first, second = bot.wecom.send(message), bot.wecom.send(message)
    assert first is not None and second is not None
    assert first["stream"]["id"] == second["stream"]["id"]
    final = bot.wecom.refresh_until_finished(first, message)[-1]
    assert bot.wecom.send(message) == final
    assert [m.direction for m in transcript(bot.store, GROUP, "zhangsan")] == ["in", "out"]


def test_a_stream_that_outlives_its_window_apologises_and_goes_to_staff(
    kb_dir: Path,
    store_url: str,
    response_url: RecordingServer,
    llm_holder: KnowledgeBaseHolder,
    llm: FakeOpenAIServer,
) -> None:
    llm.reply(LLM_ANSWER, delay_s=3.0)
    settings = bot_settings(
        kb_dir, store_url, response_url.base_url, stream_window_s=1.2, first_reply_wait_s=0
    )
    with running(settings, llm_holder) as bot:
        replies = finished(bot, bot.wecom.text(f"@{BOT_NAME} {LLM_QUESTION}", chat=GROUP))
        assert replies[-1]["stream"]["content"] == prompts.load("wecom_bot_timeout")
        conversation = eventually(lambda: _waiting(bot.store))
        late = eventually(lambda: _late_answer(bot.store, conversation.id))
        assert late.state == "failed" and late.last_error == LATE_ANSWER and "委托方" in late.text
        handoff = bot.store.handoffs.active_for(conversation.id)
        assert handoff is not None and handoff.state == "open"
    assert response_url.requests == []  # the URL stays free for the staff's reply


def _waiting(store: Store) -> Any:
    found = conversation_of(store, GROUP, "zhangsan")
    return found if found is not None and found.state == "waiting" else None


def _late_answer(store: Store, conversation_id: int) -> Any:
    answers = [m for m in store.conversations.transcript(conversation_id) if m.author == "bot"]
    if not answers:
        return None
    delivery = store.deliveries.enqueue(answers[0].id, "wecom_bot", GROUP, answers[0].text, "bot")
    return delivery if delivery.state == "failed" else None


# --- replies through the response_url --------------------------------------------------------------

URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code="


@dataclass
class Sender:
    store: Store
    channel: WecomBotChannel
    urls: ResponseUrls

    def staff_reply(self, text: str, user: str = "zhangsan") -> Reply:
        """A staff reply stored in the group conversation of `user`, as the console stores it."""
        question = IncomingMessage("wecom_bot", GROUP, user, f"q-{user}-{text}", "问题", chat_type="group")
        conversation = self.store.conversations.record_inbound(question).conversation
        stored = self.store.conversations.record_outbound(conversation.id, text, author="staff:alice")
        return Reply("wecom_bot", GROUP, text, "staff", message_id=stored.id)


@pytest.fixture
def sender(store_url: str, response_url: RecordingServer) -> Iterator[Sender]:
    store = Store(store_url)
    locks = ConversationLocks(store_url)
    urls = ResponseUrls(store, locks)
    yield Sender(store, WecomBotChannel(urls, response_url.base_url, timeout_s=5), urls)
    locks.close()
    store.close()


def test_a_staff_reply_goes_once_through_the_conversations_latest_response_url(
    sender: Sender, response_url: RecordingServer
) -> None:
    sender.urls.remember(GROUP, "zhangsan", URL + "OLD", "m1")
    sender.urls.remember(GROUP, "zhangsan", URL + "NEW", "m2")
    sender.urls.remember(GROUP, "lisi", URL + "LISI", "m3")  # another member of the group: their own URL
    result = sender.channel.send(sender.staff_reply("您好，企业标准需自我声明公开。"))
    assert result.ok and result.platform_message_id == "m2"
    (posted,) = response_url.requests
    assert posted.path == f"{RESPONSE_PATH}?response_code=NEW"  # through the configured API base
    assert posted.body == {"msgtype": "markdown", "markdown": {"content": "您好，企业标准需自我声明公开。"}}
    spent = sender.channel.send(sender.staff_reply("还有问题吗？"))
    assert not spent.ok and not spent.retryable and "response_url" in (spent.error or "")
    assert "再次 @机器人" in (spent.error or "") and len(response_url.requests) == 1
    assert sender.channel.send(sender.staff_reply("李四您好", user="lisi")).ok
    assert response_url.requests[-1].path.endswith("=LISI")


def test_a_refused_or_unreachable_response_url_is_reported(
    sender: Sender, response_url: RecordingServer
) -> None:
    sender.urls.remember(GROUP, "zhangsan", URL + "X", "m1")
    response_url.script((200, {"errcode": 600039, "errmsg": "response_code expired"}))
    refused = sender.channel.send(sender.staff_reply("答复"))
    assert not refused.ok and not refused.retryable and "600039" in (refused.error or "")
    sender.urls.remember(GROUP, "zhangsan", URL + "Y", "m2")
    response_url.script((502, {"errcode": -1, "errmsg": "bad gateway"}))
    down = sender.channel.send(sender.staff_reply("答复"))
    assert not down.ok and down.retryable  # the URL was not spent: kept for the retry
    assert sender.channel.send(sender.staff_reply("答复")).ok
    assert [r.path.rsplit("=", 1)[1] for r in response_url.requests] == ["X", "Y", "Y"]


# --- the stream book on its own --------------------------------------------------------------------

TEXTS = StreamTexts(placeholder="…", timed_out="超时", unknown="未知")


@pytest.fixture
def book_parts(store_url: str) -> Iterator[tuple[Store, ConversationLocks]]:
    store = Store(store_url)
    locks = ConversationLocks(store_url)
    yield store, locks
    locks.close()
    store.close()


def test_a_ready_stream_stays_ready_until_its_delivery_is_marked(
    book_parts: tuple[Store, ConversationLocks],
) -> None:
    now = [time.time()]
    book = StreamBook(*book_parts, window_s=60, in_flight_per_user=1, clock=lambda: now[0])
    opened = book.open("s1", "m1", "u1", GROUP, "group")
    assert opened.kind == "new" and book.open("s2", "m2", "u1", GROUP, "group").kind == "busy"
    assert book.open("s1", "m1", "u1", GROUP, "group").kind == "existing"
    assert book.refresh("s1", TEXTS, _fail).content == "…"
    book.settle("s1", "答案", delivery_id=7, reply_kind="bot")

    with pytest.raises(RuntimeError):
        book.refresh("s1", TEXTS, _fail)  # marking the delivery failed: the stream stays ready
    seen: list[StreamState] = []
    step = book.refresh("s1", TEXTS, seen.append)
    assert (step.content, step.finish, step.ended_now) == ("答案", True, True)
    assert [s.delivery_id for s in seen] == [7]
    assert book.refresh("s1", TEXTS, seen.append) == Refresh("答案", True, step.state)  # asked again
    assert len(seen) == 1
    book.release("u1", "s1")
    assert book.open("s2", "m2", "u1", GROUP, "group").kind == "new"


def test_an_unanswered_stream_closes_before_the_window_and_its_slot_expires(
    book_parts: tuple[Store, ConversationLocks],
) -> None:
    now = [time.time()]
    book = StreamBook(*book_parts, window_s=360, in_flight_per_user=1, clock=lambda: now[0])
    book.open("s1", "m1", "u1", GROUP, "group")
    now[0] += 340
    assert not book.refresh("s1", TEXTS, _fail).finish
    now[0] += 6  # 346 s: within 15 s of the platform's 360
    closed = book.refresh("s1", TEXTS, _fail)
    assert (closed.content, closed.finish, closed.ended_now) == ("超时", True, True)
    assert book.settle("s1", "迟到的答案", 8, "bot") == closed.state  # too late: stays closed
    assert book.refresh("s1", TEXTS, _fail).content == "超时"
    assert book.refresh("unknown", TEXTS, _fail) == Refresh("未知", True, None)
    now[0] += 20  # past the window, the slot frees itself even without a release
    assert book.in_flight("u1") == 0 and book.open("s2", "m2", "u1", GROUP, "group").kind == "new"


def _fail(stream: StreamState) -> None:
    raise RuntimeError("the outbox is unreachable")
