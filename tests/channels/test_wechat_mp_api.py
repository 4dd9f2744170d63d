"""The customer-service side of the Official Account against a local api.weixin.qq.com: one access token
for every worker (two app instances on one database fetch it once), a refused token replaced once, the
48-hour window and the 5-message limit reported to staff, and a long answer split under 2,048 bytes: its
first piece passive, the rest through message/custom/send."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path

import httpx
from channels.wechat_mp_fixtures import (
    APP_ID,
    APP_SECRET,
    QUESTION,
    ROUTE,
    USER,
    mp_app,
    mp_settings,
    platform_for,
    warmed,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.openai_server import FakeOpenAIServer
from support.waiting import eventually
from support.web_app import services_of
from support.wechat_platform import WechatApiServer

from bot.channels.wechat_mp.sender import CHANNEL, reply_pieces
from bot.messages import DeliveryResult, Reply
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.store import DeliveryRecord, Store

LLM_QUESTION = "采标里IDT和MOD啥区别"


def send(app: FastAPI, reply: Reply) -> DeliveryResult:
    return services_of(app).channels[CHANNEL].send(reply)


def staff_reply(app: FastAPI, user: str, text: str) -> DeliveryRecord:
    """A staff reply queued in `user`'s conversation (as the console does); its delivery once final."""
    store = services_of(app).store
    conversation = store.conversations.find(CHANNEL, user, user)
    assert conversation is not None
    queued = store.deliveries.queue_reply(conversation.id, text, author="staff:alice")
    services_of(app).outbox.wake()
    return eventually(lambda: _final(store, queued.delivery.id))


def _final(store: Store, delivery_id: int) -> DeliveryRecord | None:
    delivery = store.deliveries.get(delivery_id)
    return delivery if delivery.state in ("sent", "failed") else None


def test_two_workers_on_one_database_share_one_access_token(
    kb_dir: Path, holder: KnowledgeBaseHolder, wechat_api: WechatApiServer, store_url: str
) -> None:
    settings = mp_settings(kb_dir, store_url, wechat_api.base_url)
    workers = [mp_app(settings, holder), mp_app(settings, holder)]
    wechat_api.slow_tokens(0.5)  # both workers ask for a token while the first fetch is under way
    with ExitStack() as running:
        for worker in workers:
            running.enter_context(TestClient(worker))
        start = threading.Barrier(4)
        results: list[DeliveryResult] = []

        def deliver(worker: FastAPI, n: int) -> None:
            start.wait()
            results.append(send(worker, Reply(CHANNEL, f"oUser_{n}", f"人工回复 {n}", "staff")))

        threads = [threading.Thread(target=deliver, args=(workers[n % 2], n)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert [r.ok for r in results] == [True] * 4
        assert wechat_api.fetches == 1
        assert len({s.token for s in wechat_api.sent}) == 1
        assert sorted(s.content for s in wechat_api.sent) == [f"人工回复 {n}" for n in range(4)]


def test_a_refused_token_is_forgotten_and_the_send_tried_once_more(
    kb_dir: Path, holder: KnowledgeBaseHolder, wechat_api: WechatApiServer, tmp_path: Path
) -> None:
    app = mp_app(mp_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", wechat_api.base_url), holder)
    with TestClient(app):
        assert send(app, Reply(CHANNEL, USER, "第一条", "staff")).ok and wechat_api.fetches == 1
        # someone else fetched a token (a second deployment, a test tool): ours is no longer valid
        httpx.get(
            f"{wechat_api.base_url}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET},
        )
        assert send(app, Reply(CHANNEL, USER, "第二条", "staff")).ok and wechat_api.fetches == 3
        wechat_api.refuse(42001)  # expired
        assert send(app, Reply(CHANNEL, USER, "第三条", "staff")).ok and wechat_api.fetches == 4
        wechat_api.refuse(40001, 40001)  # refused again with the new token: give up for now, retry later
        result = send(app, Reply(CHANNEL, USER, "第四条", "staff"))
        assert not result.ok and result.retryable and "40001" in (result.error or "")
        assert wechat_api.sent_to(USER) == ["第一条", "第二条", "第三条"]


def test_the_48_hour_window_and_the_message_limit_are_reported_to_staff(
    kb_dir: Path, holder: KnowledgeBaseHolder, wechat_api: WechatApiServer, store_url: str
) -> None:
    app = mp_app(mp_settings(kb_dir, store_url, wechat_api.base_url), warmed(holder))
    platform = platform_for(ROUTE)
    with TestClient(app) as client:
        assert platform.reply(platform.post(client, platform.text(USER, QUESTION), "safe")) is not None
        wechat_api.refuse(45015)
        late = staff_reply(app, USER, "您好，关于企业标准公开的问题……")
        assert late.state == "failed" and late.attempts == 1  # not retried: it cannot help
        assert "48 小时" in (late.last_error or "") and "45015" in (late.last_error or "")
        wechat_api.refuse(45047)
        limited = staff_reply(app, USER, "第六条消息")
        assert limited.state == "failed" and "5 条" in (limited.last_error or "")
        failed = {f.delivery.id for f in services_of(app).store.deliveries.failed()}
        assert {late.id, limited.id} <= failed  # what the console lists for staff
        sent = staff_reply(app, USER, "用户再次留言后可以回复")
        assert sent.state == "sent" and wechat_api.sent_to(USER) == ["用户再次留言后可以回复"]


def test_a_long_answer_goes_first_piece_passively_and_the_rest_by_custom_send(
    kb_dir: Path,
    holder: KnowledgeBaseHolder,
    wechat_api: WechatApiServer,
    openai_server: FakeOpenAIServer,
    tmp_path: Path,
) -> None:
    paragraph = "等同采用（IDT）指技术内容和文本结构都与国际标准相同 [1]。" * 12
    openai_server.reply("\n\n".join([paragraph] * 4))
    settings = mp_settings(
        kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", wechat_api.base_url, llm_url=openai_server.base_url
    )
    app = mp_app(settings, warmed(holder))
    platform = platform_for(ROUTE)
    with TestClient(app) as client:
        reply = platform.reply(platform.post(client, platform.text(USER, LLM_QUESTION), "safe"))
        assert reply is not None and len(openai_server.requests) == 1
        store = services_of(app).store
        conversation = store.conversations.find(CHANNEL, USER, USER)
        assert conversation is not None
        answer = store.conversations.transcript(conversation.id)[-1]
        stored = Reply(CHANNEL, USER, answer.text, "bot", answer.citations, message_id=answer.id)
        pieces = reply_pieces(stored)
        assert len(pieces) >= 3 and all(len(p.encode("utf-8")) <= 2048 for p in pieces)
        assert reply["Content"] == pieces[0]
        rest = wechat_api.wait_for_sent(len(pieces) - 1)
        assert [s.content for s in rest] == pieces[1:]
        assert "依据：" in "".join(pieces[-2:])  # the basis closes the reply
        delivery = eventually(
            lambda: _final(store, store.deliveries.enqueue(answer.id, CHANNEL, USER, "", "bot").id)
        )
        assert delivery.state == "sent" and delivery.attempts == 1
