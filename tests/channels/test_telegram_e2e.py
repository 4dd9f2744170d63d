"""End to end through a real server: the app on uvicorn receives Telegram webhooks over HTTP and talks to
a local HTTP server playing the Bot API (api_base_url points at it; PTB's own HTTPX client is used). A
question answered with its basis, 转人工 from the button, and a staff reply from the console delivered by
sendMessage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from channels.telegram_fixtures import HEADER, SECRET_TOKEN, telegram_settings
from fastapi import FastAPI
from support.telegram_platform import ALICE, TOKEN, BotApi, BotApiServer, Updates
from web.conftest import LiveServer, app, holder, kb_dir, live_server, services_of  # noqa: F401
from web.console_support import add_account, hidden, logged_in

from bot.store import DeliveryRecord, Store
from config.settings import Settings

QUESTION = "企业标准需要自我声明公开吗"


@pytest.fixture
def bot_api() -> Iterator[BotApiServer]:
    with BotApiServer(BotApi()) as server:
        yield server


@pytest.fixture
def settings(kb_dir: Path, tmp_path: Path, bot_api: BotApiServer) -> Settings:  # noqa: F811
    return telegram_settings(kb_dir, tmp_path / "stdbot.db", api_base_url=bot_api.base_url, timeout_s=5)


def webhook(http: httpx.Client, update: dict[str, object]) -> httpx.Response:
    return http.post("/telegram/webhook", json=update, headers={HEADER: SECRET_TOKEN})


def test_question_handoff_and_staff_reply_through_a_real_server(
    app: FastAPI,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    bot_api: BotApiServer,
) -> None:
    api, updates, store = bot_api.api, Updates(), services_of(app).store
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert webhook(http, updates.private(QUESTION)).status_code == 200
        [answer] = api.wait_sent(1, ALICE["id"])
        assert answer.url == f"/bot{TOKEN}/sendMessage"
        assert "依据：" in answer.params["text"] and "《中华人民共和国标准化法》" in answer.params["text"]
        buttons = answer.params["reply_markup"]["inline_keyboard"][0]
        under = {
            "message_id": 5001,
            "from": {"id": 6000000001, "is_bot": True, "first_name": "标准咨询", "username": "StdConsultBot"},
            "chat": {"id": ALICE["id"], "type": "private", "first_name": "Alice"},
            "date": 1,
            "text": answer.params["text"],
            "reply_markup": answer.params["reply_markup"],
        }

        assert webhook(http, updates.button(buttons[2]["callback_data"], ALICE, under)).status_code == 200
        sent = api.wait_sent(2, ALICE["id"])
        conversation = store.find_conversation("telegram", str(ALICE["id"]), str(ALICE["id"]))
        assert conversation is not None and conversation.state == "waiting"
        handoff = store.open_handoff_for(conversation.id)
        assert handoff is not None and handoff.reason == "button"
        assert len(sent) == 2 and "reply_markup" not in sent[1].params  # the user is told a person comes
        assert [c.params["text"] for c in api.called("answerCallbackQuery")] == ["已为您转接人工客服"]

        add_account(app, "staffer")
        csrf = logged_in(http, "staffer")  # type: ignore[arg-type]
        page = f"/console/conversations/{conversation.id}"
        assert (
            http.post(f"{page}/claim", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
        )
        form_token = hidden(http.get(page).text, "form_token")
        staff_text = "您好，我是工作人员：企业标准应在企业标准信息公共服务平台自我声明公开。"
        reply = http.post(
            f"{page}/reply",
            data={"csrf_token": csrf, "form_token": form_token, "text": staff_text},
            follow_redirects=False,
        )
        assert reply.status_code == 303
        sent = api.wait_sent(3, ALICE["id"])
    assert len(sent) == 3
    assert sent[2].params["text"] == staff_text and "reply_markup" not in sent[2].params
    delivery = staff_delivery_once_sent(store, conversation.id)
    assert delivery.state == "sent" and delivery.platform_message_id == "5003"


def staff_delivery_once_sent(store: Store, conversation_id: int, timeout_s: float = 15.0) -> DeliveryRecord:
    """The staff reply's delivery, once the outbox has recorded the Bot API's answer (it marks the
    delivery sent just after sendMessage returns)."""
    deadline = time.monotonic() + timeout_s
    while True:
        [delivery] = [d for d in store.deliveries_of(conversation_id).values() if d.kind == "staff"]
        if delivery.state != "pending" or time.monotonic() > deadline:
            return delivery
        time.sleep(0.02)
