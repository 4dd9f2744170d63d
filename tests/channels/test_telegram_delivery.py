"""Replies sent to Telegram through PTB against the offline Bot API, on SQLite and PostgreSQL: the 依据
line, buttons, replies in groups, splitting at 4,096 characters, rate limits and undeliverable chats."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from support.telegram_platform import ALICE, BOB, GROUP_ID, TOKEN, BotApi, OfflineBotRequest

from bot.channels.telegram.api import BotClient
from bot.channels.telegram.budget import ChatBudget
from bot.channels.telegram.sender import MAX_CHARS, TelegramChannel
from bot.messages import IncomingMessage, Reply
from bot.service.locks import ConversationLocks
from bot.service.outbox import Outbox
from bot.store import Store
from config.settings import TelegramSettings
from knowledge.types import Citation

LAW = Citation(
    "中华人民共和国标准化法", "law", ("第二十七条",), None, 0.7, "国家实行团体标准、企业标准自我声明公开…"
)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Telegram:
    api: BotApi
    channel: TelegramChannel
    store: Store
    now: list[datetime]

    def reply(self, chat_id: int, user_id: int, text: str, *, kind: str = "bot", asked_in: int = 77) -> Reply:
        """A stored reply to a stored question (message `asked_in` of the chat), as the outbox hands it
        over: text and kind only."""
        chat_type = "group" if chat_id < 0 else "private"
        question = IncomingMessage(
            "telegram", str(chat_id), str(user_id), f"{chat_id}:{asked_in}", "问题", chat_type=chat_type
        )
        inbound = self.store.conversations.record_inbound(question)
        author = "staff:alice" if kind == "staff" else kind
        stored = self.store.conversations.record_outbound(
            inbound.conversation.id, text, author=author, citations=(LAW,) if kind == "bot" else ()
        )
        return Reply("telegram", str(chat_id), text, kind, message_id=stored.id)  # type: ignore[arg-type]


@pytest.fixture
def telegram(store: Store, store_url: str) -> Iterator[Telegram]:
    api = BotApi()
    settings = TelegramSettings(token=TOKEN, mode="polling", per_group_per_minute=3)
    client = BotClient(settings, request=OfflineBotRequest(api))
    locks = ConversationLocks(store_url)
    now = [START]
    budget = ChatBudget(store, locks, settings.per_group_per_minute, clock=lambda: now[0])
    yield Telegram(api, TelegramChannel(client, store, budget), store, now)
    client.close()
    locks.close()


def test_private_answer_names_its_basis_and_carries_the_buttons(telegram: Telegram) -> None:
    reply = telegram.reply(ALICE["id"], ALICE["id"], "企业应当公开其执行的标准。")
    result = telegram.channel.send(reply)
    assert result.ok and result.platform_message_id == "5001"
    [call] = telegram.api.sent(ALICE["id"])
    assert call.url.endswith(f"/bot{TOKEN}/sendMessage")
    assert call.params["text"] == "企业应当公开其执行的标准。\n\n依据：《中华人民共和国标准化法》第二十七条"
    assert "reply_parameters" not in call.params  # a private chat needs no quote
    buttons = call.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["👍", "👎", "转人工"]
    assert [b["callback_data"] for b in buttons] == [
        f"fb:1:{reply.message_id}",
        f"fb:-1:{reply.message_id}",
        f"ho:{reply.message_id}",
    ]


def test_group_answer_replies_to_the_question(telegram: Telegram) -> None:
    reply = telegram.reply(GROUP_ID, BOB["id"], "企业应当公开其执行的标准。", asked_in=314)
    assert telegram.channel.send(reply).ok
    [call] = telegram.api.sent(GROUP_ID)
    assert call.params["reply_parameters"] == {"message_id": 314, "allow_sending_without_reply": True}


def test_staff_reply_is_sent_as_written_without_buttons(telegram: Telegram) -> None:
    reply = telegram.reply(ALICE["id"], ALICE["id"], "您好，我是人工客服，已收到您的问题。", kind="staff")
    assert telegram.channel.send(reply).ok
    [call] = telegram.api.sent(ALICE["id"])
    assert call.params["text"] == "您好，我是人工客服，已收到您的问题。"
    assert "reply_markup" not in call.params


def test_long_answer_is_split_at_4096_characters_with_buttons_on_the_last(telegram: Telegram) -> None:
    paragraph = "企业标准自我声明公开是指企业将其执行的标准向社会公开。" * 40  # ~1,000 characters
    text = "\n\n".join([paragraph] * 9)
    reply = telegram.reply(ALICE["id"], ALICE["id"], text)
    result = telegram.channel.send(reply)
    calls = telegram.api.sent(ALICE["id"])
    assert result.ok and result.platform_message_id == str(5000 + len(calls))
    assert len(calls) == 3
    assert all(len(c.params["text"]) <= MAX_CHARS for c in calls)
    assert "".join(c.params["text"] for c in calls).replace("\n", "") == (
        text + "依据：《中华人民共和国标准化法》第二十七条"
    ).replace("\n", "")
    assert ["reply_markup" in c.params for c in calls] == [False, False, True]


def test_rate_limit_is_retried_later(telegram: Telegram) -> None:
    reply = telegram.reply(ALICE["id"], ALICE["id"], "企业应当公开其执行的标准。")
    telegram.api.fail("sendMessage", "retry_after")
    result = telegram.channel.send(reply)
    assert not result.ok and result.retryable
    assert result.error is not None and "7 秒" in result.error and "retry in 7s" in result.error
    assert telegram.api.sent() == []
    assert telegram.channel.send(reply).ok
    assert len(telegram.api.sent()) == 1


def test_pieces_delivered_before_a_failure_are_not_sent_again(telegram: Telegram) -> None:
    paragraph = "国家实行团体标准、企业标准自我声明公开和监督制度。" * 120
    text = "\n\n".join(f"第{n}段：{paragraph}" for n in range(3))
    reply = telegram.reply(ALICE["id"], ALICE["id"], text)
    telegram.api.fail("sendMessage", "retry_after", after=1)
    halfway = telegram.channel.send(reply)
    assert not halfway.ok and halfway.retryable and len(telegram.api.sent()) == 1
    resumed = telegram.channel.send(reply)
    assert resumed.ok
    pieces = [c.params["text"] for c in telegram.api.sent()]
    assert len(pieces) == 3 and len(set(pieces)) == 3
    assert pieces[-1].endswith("依据：《中华人民共和国标准化法》第二十七条")
    assert telegram.channel.send(reply).ok and len(telegram.api.sent()) == 3  # delivered: nothing more


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        ("blocked", ("屏蔽", "blocked the bot")),
        ("kicked", ("移出", "removed from chat")),
        ("chat_not_found", ("找不到该聊天", "not found")),
    ],
)
def test_undeliverable_chats_are_reported_not_retried(
    telegram: Telegram, failure: str, words: tuple[str, str]
) -> None:
    reply = telegram.reply(ALICE["id"], ALICE["id"], "企业应当公开其执行的标准。")
    telegram.api.fail("sendMessage", failure)  # type: ignore[arg-type]
    result = telegram.channel.send(reply)
    assert not result.ok and not result.retryable
    assert result.error is not None and all(w in result.error for w in words)


def test_outbox_backs_off_on_429_and_fails_a_blocked_chat_for_staff_to_see(telegram: Telegram) -> None:
    outbox = Outbox(telegram.store, {"telegram": telegram.channel})
    limited = telegram.reply(ALICE["id"], ALICE["id"], "第一条回答。")
    outbox.enqueue(limited)
    telegram.api.fail("sendMessage", "retry_after")
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert outbox.run_once(now) == 1
    [delivery] = telegram.store.deliveries.due(now + timedelta(minutes=10))
    assert delivery.state == "pending" and delivery.attempts == 1 and "限流" in (delivery.last_error or "")
    assert telegram.store.deliveries.due(now) == []  # backing off
    assert outbox.run_once(now + timedelta(seconds=3)) == 1
    assert telegram.store.deliveries.get(delivery.id).state == "sent"
    blocked = telegram.reply(BOB["id"], BOB["id"], "第二条回答。")
    queued = outbox.enqueue(blocked)
    telegram.api.fail("sendMessage", "blocked")
    outbox.run_once(now + timedelta(seconds=4))
    failed = telegram.store.deliveries.get(queued.id)
    assert failed.state == "failed" and failed.attempts == 1
    assert failed.last_error is not None and "屏蔽" in failed.last_error and "blocked" in failed.last_error


def test_each_group_gets_at_most_its_budget_a_minute(telegram: Telegram) -> None:
    replies = [telegram.reply(GROUP_ID, BOB["id"], f"第 {n} 条回答。", asked_in=100 + n) for n in range(4)]
    results = [telegram.channel.send(r) for r in replies]
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].retryable and results[3].error is not None
    assert "每分钟最多 3 条" in results[3].error and "3 messages a minute" in results[3].error
    assert len(telegram.api.sent(GROUP_ID)) == 3
    other_group = telegram.reply(GROUP_ID - 1, BOB["id"], "另一个群。")
    private = telegram.reply(ALICE["id"], ALICE["id"], "私聊不受群限额影响。")
    assert telegram.channel.send(other_group).ok and telegram.channel.send(private).ok
    telegram.now[0] = START + timedelta(seconds=61)
    assert telegram.channel.send(replies[3]).ok
    assert len(telegram.api.sent(GROUP_ID)) == 4


def test_budget_is_shared_by_every_worker_through_the_store(store: Store, store_url: str) -> None:
    now = [START]
    workers = [ConversationLocks(store_url) for _ in range(2)]
    budgets = [ChatBudget(store, locks, 5, clock=lambda: now[0]) for locks in workers]
    assert budgets[0].take("-100", 3) == 0.0
    assert budgets[1].take("-100", 2) == 0.0
    now[0] = START + timedelta(seconds=20)
    wait = budgets[1].take("-100", 1)
    assert wait == pytest.approx(40.0)
    now[0] = START + timedelta(seconds=60)
    assert budgets[0].take("-100", 5) == 0.0
    for locks in workers:
        locks.close()
