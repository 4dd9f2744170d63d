"""/metrics per channel: one real user message through each channel's own route (signed and encrypted as
its platform does), its reply delivered, and exactly one message in, one bot reply out and one answer
time counted for that channel; 转人工 and a staff reply from the console counted too."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from channels.telegram_fixtures import TelegramApp, telegram_app, telegram_settings
from channels.wechat_mp_fixtures import QUESTION, ROUTE, USER, mp_app, mp_settings, platform_for, warmed
from channels.wecom_app_fixtures import APP_ROUTE, KF_ROUTE, OPEN_KFID, channel_settings, deliver, pull, says
from channels.wecom_bot_support import bot_settings, running
from fastapi.testclient import TestClient
from support.prometheus_text import metric, metrics_of
from support.recording_server import RecordingServer
from support.telegram_platform import ALICE, Updates
from support.waiting import eventually
from support.web_app import hold_answers, web_settings
from support.wechat_platform import WechatApiServer
from support.wecom_app_platform import QyapiServer
from web.console_support import add_account, staff_replies

from bot.service.kb_holder import KnowledgeBaseHolder
from bot.web.app import create_app

CHAT = str(ALICE["id"])  # Alice's private chat with the bot


@pytest.fixture
def tg(kb_dir: Path, holder: KnowledgeBaseHolder, tmp_path: Path) -> Iterator[TelegramApp]:
    yield from telegram_app(telegram_settings(kb_dir, tmp_path / "stdbot.db"), holder)


def reply_counted(client: TestClient, channel: str, kind: str = "bot") -> None:
    """Wait (app running) until a reply of `kind` to `channel` shows at /metrics."""
    labels = f'channel="{channel}",kind="{kind}"'
    eventually(lambda: metric(client.get("/metrics").text, "stdbot_messages_out_total", labels))


def assert_one_answer(text: str, channel: str) -> None:
    """Exactly one message in, one bot reply out and one answer time for `channel`; no failed sends."""
    assert metric(text, "stdbot_messages_in_total", f'channel="{channel}"') == 1
    assert metric(text, "stdbot_messages_out_total", f'channel="{channel}",kind="bot"') == 1
    assert metric(text, "stdbot_answer_seconds_count") == 1
    assert metric(text, "stdbot_delivery_failures_total", f'channel="{channel}"') is None


def test_webchat_counts_one_answer(kb_dir: Path, holder: KnowledgeBaseHolder, tmp_path: Path) -> None:
    app = create_app(web_settings(kb_dir, tmp_path / "stdbot.db"), holder=holder)
    with TestClient(app) as client:
        session = client.post("/api/chat/sessions").json()
        answered = client.post("/api/chat/messages", json={**session, "text": QUESTION})
        assert answered.status_code == 200 and "公开" in answered.json()["reply"]["text"]
        reply_counted(client, "webchat")
    assert_one_answer(metrics_of(app), "webchat")


def test_wechat_mp_counts_a_passive_answer(
    kb_dir: Path, holder: KnowledgeBaseHolder, wechat_api: WechatApiServer, tmp_path: Path
) -> None:
    settings = mp_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", wechat_api.base_url)
    app = mp_app(settings, warmed(holder))
    platform = platform_for(ROUTE)
    with TestClient(app) as client:
        reply = platform.reply(platform.post(client, platform.text(USER, QUESTION), "safe"))
        assert reply is not None and "公开" in reply["Content"]
        reply_counted(client, "wechat_mp")
    assert wechat_api.sent == []  # the callback carried the answer
    assert_one_answer(metrics_of(app), "wechat_mp")


def test_wechat_mp_counts_an_answer_sent_after_the_budget(
    kb_dir: Path, holder: KnowledgeBaseHolder, wechat_api: WechatApiServer, tmp_path: Path
) -> None:
    settings = mp_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", wechat_api.base_url, budget_s=1.0)
    app = mp_app(settings, warmed(holder))
    gate = threading.Event()
    hold_answers(app, gate)  # the answer comes after the passive budget
    platform = platform_for(ROUTE)
    with TestClient(app) as client:
        response = platform.post(client, platform.text(USER, QUESTION), "safe")
        assert platform.reply(response) is None  # `success`: the answer follows by custom send
        gate.set()
        [sent] = wechat_api.wait_for_sent(1)
        assert sent.user == USER and "公开" in sent.content
        reply_counted(client, "wechat_mp")
    assert len(wechat_api.sent) == 1
    assert_one_answer(metrics_of(app), "wechat_mp")


def ask_the_wecom_app(client: TestClient, qyapi: QyapiServer) -> list[tuple[str, str]]:
    """Zhangsan asks through the app; (to, content) of what message/send carried."""
    assert deliver(client, APP_ROUTE, says("zhangsan", QUESTION, 6001)).status_code == 200
    return qyapi.wait_for(lambda calls: len(calls.app_texts()) == 1).app_texts()


def ask_wechat_kf(client: TestClient, qyapi: QyapiServer) -> list[tuple[str, str]]:
    """A customer writes to the kf account; (to, content) of what kf/send_msg carried for it."""
    _, token = qyapi.customer_says(OPEN_KFID, "wmAlice", QUESTION)
    assert deliver(client, KF_ROUTE, pull(token)).status_code == 200
    sends = qyapi.wait_for(lambda calls: len(calls.kf_sends()) == 1).kf_sends()
    return [(to, content) for kfid, to, content in sends if kfid == OPEN_KFID]


@pytest.mark.parametrize(
    ("channel", "user", "ask"),
    [("wecom_app", "zhangsan", ask_the_wecom_app), ("wechat_kf", "wmAlice", ask_wechat_kf)],
)
def test_the_wecom_channels_count_one_answer(
    kb_dir: Path,
    holder: KnowledgeBaseHolder,
    qyapi: QyapiServer,
    tmp_path: Path,
    channel: str,
    user: str,
    ask: Callable[[TestClient, QyapiServer], list[tuple[str, str]]],
) -> None:
    settings = channel_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", qyapi.base_url)
    app = create_app(settings, holder=holder)
    with TestClient(app) as client:
        [(to, content)] = ask(client, qyapi)
        assert to == user and "公开" in content
        reply_counted(client, channel)
    assert len(qyapi.calls.app_texts()) + len(qyapi.calls.kf_sends()) == 1
    assert_one_answer(metrics_of(app), channel)


def test_wecom_bot_counts_an_answer_its_stream_carried(
    kb_dir: Path, holder: KnowledgeBaseHolder, response_url: RecordingServer, tmp_path: Path
) -> None:
    settings = bot_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", response_url.base_url)
    with running(settings, holder) as bot:
        question = bot.wecom.text(QUESTION)
        first = bot.wecom.send(question)
        assert first is not None
        answer = bot.wecom.refresh_until_finished(first, question)[-1]["stream"]["content"]
        assert "公开" in answer
        reply_counted(bot.client, "wecom_bot")
    assert response_url.requests == []  # the stream carried the answer, not the response_url
    assert_one_answer(metrics_of(bot.app), "wecom_bot")


def test_telegram_counts_one_answer(tg: TelegramApp) -> None:
    assert tg.post(Updates().private(QUESTION)).status_code == 200
    assert tg.deliver() == 1
    [sent] = tg.api.sent(CHAT)
    assert "公开" in sent.params["text"]
    assert_one_answer(metrics_of(tg.app), "telegram")


def test_a_handoff_and_the_staff_reply_are_counted(tg: TelegramApp) -> None:
    assert tg.post(Updates().private("转人工")).status_code == 200
    assert tg.deliver() == 1
    conversation = tg.services.store.conversations.find("telegram", CHAT, CHAT)
    assert conversation is not None and conversation.state == "waiting"

    add_account(tg.app, "alice")
    staff_text = "您好，我是工作人员：企业标准应在企业标准信息公共服务平台自我声明公开。"
    staff_replies(tg.client, conversation.id, staff_text, "alice")
    assert tg.deliver() == 1
    assert tg.api.sent(CHAT)[-1].params["text"] == staff_text

    text = metrics_of(tg.app)
    assert metric(text, "stdbot_escalations_total", 'reason="user_request"') == 1
    assert metric(text, "stdbot_staff_replies_total", 'channel="telegram"') == 1
    assert metric(text, "stdbot_messages_out_total", 'channel="telegram",kind="bot"') == 1  # the notice
    assert metric(text, "stdbot_messages_out_total", 'channel="telegram",kind="staff"') == 1
    assert metric(text, "stdbot_messages_in_total", 'channel="telegram"') == 1
