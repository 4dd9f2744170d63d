"""The Telegram webhook of the real app (TestClient), with real-shaped Updates and the Bot API played
offline under PTB: the secret header, malformed and oversized bodies, duplicates, private chats and
groups, /start, the buttons under answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.telegram_fixtures import TelegramApp, telegram_app, telegram_settings
from support.telegram_platform import ALICE, BOB, BOT_ID, GROUP_ID, Updates, bot_message

import prompts
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.store import ConversationRecord, MessageRecord

QUESTION = "企业标准需要自我声明公开吗"


@pytest.fixture
def tg(kb_dir: Path, holder: KnowledgeBaseHolder, tmp_path: Path) -> Iterator[TelegramApp]:
    settings = telegram_settings(kb_dir, tmp_path / "stdbot.db", edge={"max_body_bytes": 4096})
    yield from telegram_app(settings, holder)


@pytest.fixture
def updates() -> Updates:
    return Updates()


def conversation(tg: TelegramApp, chat_id: int, user_id: int) -> ConversationRecord | None:
    return tg.services.store.conversations.find("telegram", str(chat_id), str(user_id))


def transcript(tg: TelegramApp, chat_id: int, user_id: int) -> list[MessageRecord]:
    found = conversation(tg, chat_id, user_id)
    assert found is not None
    return tg.services.store.conversations.transcript(found.id)


def test_secret_header_missing_or_wrong_is_refused(tg: TelegramApp, updates: Updates) -> None:
    update = updates.private(QUESTION)
    for secret in (None, "wrong-token", "S3CRET-TOKEN_FOR-WEBHOOK"):
        response = tg.post(update, secret=secret)
        assert response.status_code == 403
    assert conversation(tg, ALICE["id"], ALICE["id"]) is None
    assert tg.api.calls == []


def test_malformed_and_oversized_bodies(tg: TelegramApp, updates: Updates) -> None:
    assert tg.post(None, content=b'{"update_id": 1, "message": ').status_code == 400
    assert tg.post(None, content=b"[1, 2]").status_code == 400
    assert tg.post({"message": {"text": "no update id"}}).status_code == 400
    big = updates.private("标" * 2000)  # 6 KB of UTF-8 text, over the 4 KB limit
    assert len(json.dumps(big, ensure_ascii=False).encode()) > 4096
    assert tg.post(None, content=json.dumps(big, ensure_ascii=False).encode()).status_code == 413
    assert conversation(tg, ALICE["id"], ALICE["id"]) is None


def test_private_question_is_answered_with_its_basis_and_buttons(tg: TelegramApp, updates: Updates) -> None:
    update = updates.private(QUESTION)
    response = tg.post(update)
    assert response.status_code == 200 and response.text == ""
    assert tg.deliver() == 1
    [sent] = tg.api.sent(ALICE["id"])
    records = transcript(tg, ALICE["id"], ALICE["id"])
    assert [(m.direction, m.author) for m in records] == [("in", "user"), ("out", "bot")]
    answer = records[1]
    assert answer.citations and "依据" in sent.params["text"]
    assert answer.citations[0].label in sent.params["text"]
    buttons = sent.params["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == [
        f"fb:1:{answer.id}",
        f"fb:-1:{answer.id}",
        f"ho:{answer.id}",
    ]
    assert (
        tg.services.store.deliveries.get(
            tg.services.store.deliveries.of_conversation(answer.conversation_id)[answer.id].id
        ).state
        == "sent"
    )


def test_a_repeated_update_gets_one_answer(tg: TelegramApp, updates: Updates) -> None:
    update = updates.private(QUESTION)
    assert tg.post(update).status_code == 200
    assert tg.post(update).status_code == 200  # Telegram delivering again
    tg.deliver()
    tg.deliver()
    assert len(tg.api.sent(ALICE["id"])) == 1
    assert [m.direction for m in transcript(tg, ALICE["id"], ALICE["id"])] == ["in", "out"]


def test_group_message_without_mention_is_ignored(tg: TelegramApp, updates: Updates) -> None:
    assert tg.post(updates.group(QUESTION)).status_code == 200
    assert tg.deliver() == 0
    assert conversation(tg, GROUP_ID, BOB["id"]) is None
    assert tg.api.sent() == []


def test_group_mention_is_answered_in_reply_to_the_question(tg: TelegramApp, updates: Updates) -> None:
    update = updates.group(f"@stdconsultbot {QUESTION}")
    assert tg.post(update).status_code == 200
    tg.deliver()
    [sent] = tg.api.sent(GROUP_ID)
    assert sent.params["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert "依据" in sent.params["text"]
    question = transcript(tg, GROUP_ID, BOB["id"])[0]
    assert (
        question.text == QUESTION
        and question.channel_message_id == f"{GROUP_ID}:{update['message']['message_id']}"
    )
    assert [c.method for c in tg.api.calls] == ["getMe", "sendMessage"]


def test_reply_to_the_bot_and_ask_are_answered_in_a_group(tg: TelegramApp, updates: Updates) -> None:
    follow_up = updates.group("强制性标准必须执行吗", reply_to=bot_message(5001, GROUP_ID))
    ask = updates.group(f"/ask@StdConsultBot {QUESTION}", user=ALICE)
    for update in (follow_up, ask):
        assert tg.post(update).status_code == 200
    assert tg.deliver() == 2
    assert len(tg.api.sent(GROUP_ID)) == 2
    assert transcript(tg, GROUP_ID, BOB["id"])[0].text == "强制性标准必须执行吗"
    assert transcript(tg, GROUP_ID, ALICE["id"])[0].text == QUESTION
    assert len(tg.api.called("getMe")) == 1  # the bot's username is asked for once


def test_start_sends_the_welcome_once(tg: TelegramApp, updates: Updates) -> None:
    start = updates.private("/start")
    tg.post(start)
    tg.post(start)
    tg.deliver()
    [sent] = tg.api.sent(ALICE["id"])
    assert sent.params["text"] == prompts.load("telegram_welcome")
    assert "reply_markup" not in sent.params
    records = transcript(tg, ALICE["id"], ALICE["id"])
    assert [(m.direction, m.kind, m.author) for m in records] == [
        ("in", "event", "user"),
        ("out", "system", "system"),
    ]


def test_buttons_record_feedback_and_hand_over_to_a_person(tg: TelegramApp, updates: Updates) -> None:
    tg.post(updates.private(QUESTION))
    tg.deliver()
    [answer] = tg.api.sent(ALICE["id"])
    answer_json = {
        "message_id": 5001,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "标准咨询", "username": "StdConsultBot"},
        "chat": {"id": ALICE["id"], "type": "private", "first_name": "Alice"},
        "date": 1,
        "text": answer.params["text"],
        "reply_markup": answer.params["reply_markup"],
    }
    like, _, person = (b["callback_data"] for b in answer.params["reply_markup"]["inline_keyboard"][0])
    tg.post(updates.button(like, ALICE, answer_json))
    toasts = [c.params.get("text") for c in tg.api.called("answerCallbackQuery")]
    assert toasts == ["感谢您的反馈！"]
    feedback = tg.services.store.analytics.daily_feedback(1)
    assert sum(day.up for day in feedback) == 1
    tg.post(updates.button(person, ALICE, answer_json))
    found = conversation(tg, ALICE["id"], ALICE["id"])
    assert found is not None and found.state == "waiting"
    handoff = tg.services.store.handoffs.active_for(found.id)
    assert handoff is not None and handoff.reason == "button"
    tg.deliver()
    notice = tg.api.sent(ALICE["id"])[-1]
    assert notice.params["text"] == transcript(tg, ALICE["id"], ALICE["id"])[-1].text
    assert "reply_markup" not in notice.params
    assert [c.params.get("text") for c in tg.api.called("answerCallbackQuery")][-1] == "已为您转接人工客服"


def test_thumbs_down_is_recorded_on_the_answer(tg: TelegramApp, updates: Updates) -> None:
    tg.post(updates.private(QUESTION))
    tg.deliver()
    [answer] = tg.api.sent(ALICE["id"])
    under = bot_message(5001, ALICE["id"], answer.params["text"])
    dislike = answer.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    tg.post(updates.button(dislike, ALICE, under))
    [down] = tg.services.store.analytics.recent_downvotes(1)
    assert down.question == QUESTION and down.message_id == int(dislike.rsplit(":", 1)[1])
    assert tg.api.called("answerCallbackQuery")[-1].params["text"] == "已记录，我们会改进回答"
