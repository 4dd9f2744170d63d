"""Which Telegram updates the bot answers and what it is asked: private chats, groups (@mention in any
case, a reply to the bot, /ask, /start), the question without mention or command, and button callbacks."""

from __future__ import annotations

from typing import Any

import pytest
from support.telegram_platform import (
    ALICE,
    BOB,
    BOT_ID,
    BOT_USERNAME,
    GROUP_ID,
    OTHER_BOT,
    Updates,
    bot_message,
    entities_of,
)
from telegram import Update

import prompts
from bot.channels.telegram.api import BotIdentity
from bot.channels.telegram.updates import Inbound, feedback_data, handoff_data, read_update

ME = BotIdentity(BOT_ID, BOT_USERNAME)


class Identity:
    """getMe, counted."""

    def __init__(self) -> None:
        self.asked = 0

    def __call__(self) -> BotIdentity:
        self.asked += 1
        return ME


def read(update: dict[str, Any], identity: Identity | None = None, max_chars: int = 2000) -> Inbound | None:
    return read_update(Update.de_json(update, None), identity or Identity(), max_chars=max_chars)


@pytest.fixture
def updates() -> Updates:
    return Updates()


def test_private_text_is_a_question_without_asking_getme(updates: Updates) -> None:
    identity = Identity()
    update = updates.private("企业标准需要公开吗？")
    found = read(update, identity)
    assert found is not None and found.notice is None and found.message is not None
    message = found.message
    assert (message.channel, message.kind, message.chat_type) == ("telegram", "text", "private")
    assert message.text == "企业标准需要公开吗？"
    assert message.chat_id == message.user_id == str(ALICE["id"])
    assert message.message_id == f"{ALICE['id']}:{update['message']['message_id']}"
    assert message.user_name == "Alice (@alice_w)"
    assert identity.asked == 0


def test_group_message_without_mention_is_ignored(updates: Updates) -> None:
    assert read(updates.group("大家好，有人知道企业标准要公开吗？")) is None
    assert read(updates.group("@someone_else 企业标准要公开吗？")) is None


@pytest.mark.parametrize("mention", ["@StdConsultBot", "@stdconsultbot", "@STDCONSULTBOT"])
def test_group_mention_in_any_case_is_answered_without_the_mention(updates: Updates, mention: str) -> None:
    found = read(updates.group(f"{mention} 企业标准需要公开吗？"))
    assert found is not None and found.message is not None
    assert found.message.text == "企业标准需要公开吗？"
    assert found.message.chat_type == "group" and found.message.chat_id == str(GROUP_ID)
    assert found.message.user_id == str(BOB["id"]) and found.message.user_name == "王 伟"


def test_mention_in_the_middle_after_emoji_is_cut_by_utf16_offsets(updates: Updates) -> None:
    text = "😀👍 请问 @StdConsultBot，团体标准怎么备案？"
    assert entities_of(text)[0]["offset"] == 8  # two astral emoji count 2 UTF-16 units each
    found = read(updates.group(text))
    assert found is not None and found.message is not None
    assert found.message.text == "😀👍 请问 ，团体标准怎么备案？"


def test_text_mention_of_the_bot_counts(updates: Updates) -> None:
    text = "标准咨询 强制性标准能不能不执行？"
    entity = {
        "type": "text_mention",
        "offset": 0,
        "length": 4,
        "user": {"id": BOT_ID, "is_bot": True, "first_name": "标准咨询"},
    }
    found = read(updates.group(text, entities=[entity]))
    assert found is not None and found.message is not None
    assert found.message.text == "强制性标准能不能不执行？"


def test_reply_to_the_bot_is_answered_but_reply_to_another_bot_is_not(updates: Updates) -> None:
    mine = bot_message(5001, GROUP_ID)
    found = read(updates.group("那行业标准呢？", reply_to=mine))
    assert found is not None and found.message is not None and found.message.text == "那行业标准呢？"
    theirs = {**mine, "from": OTHER_BOT}
    assert read(updates.group("那行业标准呢？", reply_to=theirs)) is None
    person = {**mine, "from": ALICE}
    assert read(updates.group("那行业标准呢？", reply_to=person)) is None


@pytest.mark.parametrize("command", ["/ask", "/ask@StdConsultBot", "/ask@stdconsultbot"])
def test_ask_command_in_a_group(updates: Updates, command: str) -> None:
    found = read(updates.group(f"{command} 什么是对标达标？"))
    assert found is not None and found.message is not None
    assert found.message.kind == "text" and found.message.text == "什么是对标达标？"


def test_commands_for_other_bots_are_left_to_them(updates: Updates) -> None:
    assert read(updates.group("/ask@OtherHelperBot 什么是对标达标？")) is None
    assert read(updates.group("/weather")) is None  # a bare unknown command in a group: any bot's


def test_ask_without_a_question_gets_a_hint(updates: Updates) -> None:
    found = read(updates.group("/ask@StdConsultBot"))
    assert found is not None and found.message is not None
    assert found.message.kind == "event" and found.notice is not None and "/ask" in found.notice


@pytest.mark.parametrize("text", ["/start", "/start@StdConsultBot", "/help"])
def test_start_gets_the_welcome(updates: Updates, text: str) -> None:
    for update in (updates.private(text), updates.group(text)):
        found = read(update)
        assert found is not None and found.message is not None
        assert found.message.kind == "event" and found.message.text == text
        assert found.notice == prompts.load("telegram_welcome")


def test_too_long_question_is_refused_with_its_length(updates: Updates) -> None:
    found = read(updates.private("标" * 31), max_chars=30)
    assert found is not None and found.message is not None and found.message.kind == "event"
    assert found.notice is not None and "31" in found.notice and "30" in found.notice


def test_messages_without_text_and_channel_posts_are_ignored(updates: Updates) -> None:
    photo = updates.private("x")
    del photo["message"]["text"]
    photo["message"]["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    assert read(photo) is None
    post = {
        "update_id": 1,
        "channel_post": {"message_id": 1, "date": 1, "chat": {"id": -100, "type": "channel"}, "text": "x"},
    }
    assert read(post) is None
    edited = updates.private("改过的问题")
    edited["edited_message"] = edited.pop("message")
    assert read(edited) is None


def test_buttons_become_feedback_and_handoff_requests(updates: Updates) -> None:
    under = bot_message(5001, GROUP_ID)
    like = read(updates.button(feedback_data(1, 42), BOB, under))
    assert like is not None and like.message is not None and like.callback_query_id
    assert (like.message.kind, like.message.payload, like.message.text) == ("feedback", "1:42", "👍")
    assert like.message.chat_id == str(GROUP_ID) and like.message.user_id == str(BOB["id"])
    assert like.toast == "感谢您的反馈！"
    dislike = read(updates.button(feedback_data(-1, 42), BOB, under))
    assert dislike is not None and dislike.message is not None and dislike.message.payload == "-1:42"
    again = read(updates.button(feedback_data(-1, 42), BOB, under))
    assert again is not None and again.message is not None
    assert again.message.message_id == dislike.message.message_id  # pressing twice counts once
    person = read(updates.button(handoff_data(42), BOB, under))
    assert person is not None and person.message is not None
    assert (person.message.kind, person.message.text) == ("handoff_request", "转人工")
    assert person.toast == "已为您转接人工客服"


def test_unknown_button_data_only_gets_a_toast(updates: Updates) -> None:
    found = read(updates.button("something-else", ALICE, bot_message(5001, ALICE["id"])))
    assert found is not None and found.message is None and found.toast == "这个按钮已失效"
