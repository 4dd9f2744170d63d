"""The WeCom 智能机器人 end to end through a real uvicorn server: the platform double asks in a group and
gets an answer with its citations, asks for a person (转人工), and the staff reply written in the console
reaches the chat through the response_url, seen by the local stand-in for WeCom's API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from channels.wecom_bot_support import AES_KEY, BOT_NAME, TOKEN, bot_settings, conversation_of
from fastapi import FastAPI
from support.recording_server import RecordingServer
from support.waiting import eventually
from support.web_app import LiveServer, services_of
from support.wecom_platform import RESPONSE_PATH, WecomBotPlatform
from web.console_support import add_account, staff_replies

from bot.store import DeliveryRecord
from config.settings import Settings

GROUP = "wrkSFfCgAAe2e"


@pytest.fixture
def settings(kb_dir: Path, tmp_path: Path, response_url: RecordingServer) -> Settings:
    return bot_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", response_url.base_url)


def test_group_question_handoff_and_staff_reply_through_the_real_server(
    live_server: LiveServer, response_url: RecordingServer
) -> None:
    store = services_of(live_server.app).store
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        wecom = WecomBotPlatform(http, TOKEN, AES_KEY)
        assert wecom.verify_url("8812345").text == "8812345"

        question = wecom.text(f"@{BOT_NAME} 企业标准需要自我声明公开吗", chat=GROUP, response_code="Q1")
        first = wecom.send(question)
        assert first is not None
        answer = wecom.refresh_until_finished(first, question)[-1]["stream"]["content"]
        assert "公开" in answer and "《" in answer and "依据" in answer  # cited, with its basis

        handoff = wecom.text(f"@{BOT_NAME} 转人工", chat=GROUP, response_code="H1")
        first = wecom.send(handoff)
        assert first is not None
        notice = wecom.refresh_until_finished(first, handoff)[-1]["stream"]["content"]
        assert "工作人员" in notice
        conversation = conversation_of(store, GROUP, "zhangsan")
        assert conversation is not None and conversation.state == "waiting"
        assert response_url.requests == []  # answers and notices went in the streams

    add_account(live_server.app, "alice")
    with httpx.Client(base_url=live_server.url, timeout=30) as console:
        staff_text = "您好，我是工作人员。企业标准应在企业标准信息公共服务平台上自我声明公开。"
        staff_replies(console, conversation.id, staff_text, "alice")
    (posted,) = response_url.wait_for(1, timeout_s=15)
    assert posted.path == f"{RESPONSE_PATH}?response_code=H1"  # the chat's latest URL
    assert posted.body == {"msgtype": "markdown", "markdown": {"content": staff_text}}
    staff = next(m for m in store.conversations.transcript(conversation.id) if m.author.startswith("staff:"))
    delivered = eventually(lambda: _sent(live_server.app, staff.id))
    assert delivered.platform_message_id == handoff["msgid"]


def _sent(app: FastAPI, message_id: int) -> DeliveryRecord | None:
    delivery = services_of(app).store.deliveries.enqueue(message_id, "wecom_bot", GROUP, "-", "staff")
    return delivery if delivery.state == "sent" else None
