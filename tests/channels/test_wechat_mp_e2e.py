"""The Official Account end to end through a real server: a question answered with its basis (依据), 转人工
handing the conversation to staff, and a staff reply from the console reaching the user through the
customer-service API of the platform double."""

from __future__ import annotations

from pathlib import Path

import httpx
from channels.wechat_mp_fixtures import QUESTION, ROUTE, USER, mp_app, mp_settings, platform_for, warmed
from support.web_app import served, services_of
from support.wechat_platform import WechatApiServer
from web.console_support import add_account, staff_replies

from bot.channels.wechat_mp import CHANNEL
from bot.service.kb_holder import KnowledgeBaseHolder


def test_question_handoff_and_staff_reply_through_a_real_server(
    kb_dir: Path, holder: KnowledgeBaseHolder, wechat_api: WechatApiServer, tmp_path: Path
) -> None:
    settings = mp_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", wechat_api.base_url)
    app = mp_app(settings, warmed(holder))
    store = services_of(app).store
    add_account(app, "alice")
    with served(app) as url:
        platform = platform_for(f"{url}{ROUTE}")
        verified = httpx.get(f"{url}{ROUTE}", params=platform.verification("echo-e2e"))
        assert verified.status_code == 200 and verified.text == "echo-e2e"

        answered = platform.deliver(platform.text(USER, QUESTION), "safe")
        assert len(answered.attempts) == 1
        answer = answered.answer
        assert answer is not None and "标准编号和名称" in answer
        assert "依据：《中华人民共和国标准化法》第二十七条" in answer

        handed = platform.deliver(platform.text(USER, "转人工"), "safe")
        assert handed.answer is not None and "人工" in handed.answer and "工作人员" in handed.answer
        conversation = store.conversations.find(CHANNEL, USER, USER)
        assert conversation is not None and conversation.state == "waiting"
        handoff = store.handoffs.active_for(conversation.id)
        assert handoff is not None and handoff.state == "open"

        with httpx.Client(base_url=url, timeout=30) as staff:
            text = "您好，我是工作人员。企业标准应在企业标准信息公共服务平台上自我声明公开。"
            staff_replies(staff, conversation.id, text, "alice")
            assert QUESTION in staff.get(f"/console/conversations/{conversation.id}").text

        [sent] = wechat_api.wait_for_sent(1)
        assert sent.user == USER and sent.content == text
        assert wechat_api.fetches == 1

        # while staff hold the conversation, the user's next message is for them: no bot answer
        later = platform.deliver(platform.text(USER, "好的，谢谢"), "safe")
        assert later.heard is not None and later.heard.reply is None
        texts = [(m.author, m.text) for m in store.conversations.transcript(conversation.id)]
        assert ("user", "好的，谢谢") in texts and texts[-1] == ("user", "好的，谢谢")
        assert [
            m.text for m in store.conversations.transcript(conversation.id) if m.author == "staff:alice"
        ] == [text]
