"""End to end through a real server: the app on uvicorn receives Telegram webhooks over HTTP and talks to
a local HTTP server playing the Bot API (api_base_url points at it; PTB's own HTTPX client is used). A
question answered with its basis, 转人工 from the button, and a staff reply from the console delivered by
sendMessage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from channels.telegram_fixtures import HEADER, SECRET_TOKEN, telegram_settings
from fastapi import FastAPI
from support.telegram_platform import ALICE, TOKEN, BotApi, BotApiServer, Updates, bot_message
from support.waiting import settled
from support.web_app import LiveServer, services_of
from web.console_support import add_account, staff_replies

from bot.store import DeliveryRecord, Store
from config.settings import Settings

QUESTION = "企业标准需要自我声明公开吗"


@pytest.fixture
def bot_api() -> Iterator[BotApiServer]:
    with BotApiServer(BotApi()) as server:
        yield server


@pytest.fixture
def settings(kb_dir: Path, tmp_path: Path, bot_api: BotApiServer) -> Settings:
    return telegram_settings(kb_dir, tmp_path / "stdbot.db", api_base_url=bot_api.base_url, timeout_s=5)


def webhook(http: httpx.Client, update: dict[str, object]) -> httpx.Response:
    return http.post("/telegram/webhook", json=update, headers={HEADER: SECRET_TOKEN})


def test_question_handoff_and_staff_reply_through_a_real_server(
    app: FastAPI, live_server: LiveServer, bot_api: BotApiServer
) -> None:
    api, updates, store = bot_api.api, Updates(), services_of(app).store
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert webhook(http, updates.private(QUESTION)).status_code == 200
        [answer] = api.wait_sent(1, ALICE["id"])
        assert answer.url == f"/bot{TOKEN}/sendMessage"
        assert "依据：" in answer.params["text"] and "《中华人民共和国标准化法》" in answer.params["text"]
        buttons_markup = answer.params["reply_markup"]
        buttons = buttons_markup["inline_keyboard"][0]
        under = {**bot_message(5001, ALICE["id"], answer.params["text"]), "reply_markup": buttons_markup}

        assert webhook(http, updates.button(buttons[2]["callback_data"], ALICE, under)).status_code == 200
        sent = api.wait_sent(2, ALICE["id"])
        conversation = store.conversations.find("telegram", str(ALICE["id"]), str(ALICE["id"]))
        assert conversation is not None and conversation.state == "waiting"
        handoff = store.handoffs.active_for(conversation.id)
        assert handoff is not None and handoff.reason == "button"
        assert len(sent) == 2 and "reply_markup" not in sent[1].params  # the user is told a person comes
        assert [c.params["text"] for c in api.called("answerCallbackQuery")] == ["已为您转接人工客服"]

        add_account(app, "staffer")
        staff_text = "您好，我是工作人员：企业标准应在企业标准信息公共服务平台自我声明公开。"
        staff_replies(http, conversation.id, staff_text)
        sent = api.wait_sent(3, ALICE["id"])
    assert len(sent) == 3
    assert sent[2].params["text"] == staff_text and "reply_markup" not in sent[2].params
    delivery = staff_delivery_once_sent(store, conversation.id)
    assert delivery.state == "sent" and delivery.platform_message_id == "5003"


def staff_delivery_once_sent(store: Store, conversation_id: int, timeout_s: float = 15.0) -> DeliveryRecord:
    """The staff reply's delivery, once the outbox has recorded the Bot API's answer (it marks the
    delivery sent just after sendMessage returns)."""

    def staff_delivery() -> DeliveryRecord:
        [delivery] = [
            d for d in store.deliveries.of_conversation(conversation_id).values() if d.kind == "staff"
        ]
        return delivery

    return settled(staff_delivery, lambda delivery: delivery.state != "pending", timeout_s)
