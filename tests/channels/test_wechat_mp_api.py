"""The customer-service side of the Official Account against a local api.weixin.qq.com: one access token
for every worker (two app instances on one database fetch it once), a refused token replaced once, the
48-hour window and the 5-message limit reported to staff, and a long answer split under 2,048 bytes: its
first piece passive, the rest through message/custom/send."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from channels.wechat_mp_fixtures import (
    APP_ID,
    APP_SECRET,
    QUESTION,
    ROUTE,
    USER,
    eventually,
    mp_app,
    mp_settings,
    platform_for,
    warmed,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.openai_server import FakeOpenAIServer
from support.wechat_platform import WechatApiServer
from web.conftest import holder, kb_dir, services_of  # noqa: F401

from bot.channels.wechat_mp.sender import CHANNEL, reply_pieces
from bot.messages import DeliveryResult, Reply
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.store import DeliveryRecord, Store

LLM_QUESTION = "采标里IDT和MOD啥区别"


@pytest.fixture
def api() -> Iterator[WechatApiServer]:
    with WechatApiServer(APP_ID, APP_SECRET) as server:
        yield server


def send(app: FastAPI, reply: Reply) -> DeliveryResult:
    return services_of(app).channels[CHANNEL].send(reply)


def staff_reply(app: FastAPI, user: str, text: str) -> DeliveryRecord:
    """A staff reply queued in `user`'s conversation (as the console does); its delivery once final."""
    store = services_of(app).store
    conversation = store.find_conversation(CHANNEL, user, user)
    assert conversation is not None
    queued = store.queue_reply(conversation.id, text, author="staff:alice")
    services_of(app).outbox.wake()
    return eventually(lambda: _final(store, queued.delivery.id))


def _final(store: Store, delivery_id: int) -> DeliveryRecord | None:
    delivery = store.delivery(delivery_id)
    return delivery if delivery.state in ("sent", "failed") else None


def test_two_workers_on_one_database_share_one_access_token(
    kb_dir: Path,  # noqa: F811
    holder: KnowledgeBaseHolder,  # noqa: F811
    api: WechatApiServer,
    store_url: str,
) -> None:
    settings = mp_settings(kb_dir, store_url, api.base_url)
    workers = [mp_app(settings, holder), mp_app(settings, holder)]
    api.slow_tokens(0.5)  # both workers ask for a token while the first fetch is under way
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
        assert api.fetches == 1
        assert len({s.token for s in api.sent}) == 1
        assert sorted(s.content for s in api.sent) == [f"人工回复 {n}" for n in range(4)]


def test_a_refused_token_is_forgotten_and_the_send_tried_once_more(
    kb_dir: Path,  # noqa: F811
    holder: KnowledgeBaseHolder,  # noqa: F811
    api: WechatApiServer,
    tmp_path: Path,
) -> None:
    app = mp_app(mp_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", api.base_url), holder)
    with TestClient(app):
        assert send(app, Reply(CHANNEL, USER, "第一条", "staff")).ok and api.fetches == 1
        # someone else fetched a token (a second deployment, a test tool): ours is no longer valid
        httpx.get(
            f"{api.base_url}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET},
        )
        assert send(app, Reply(CHANNEL, USER, "第二条", "staff")).ok and api.fetches == 3
        api.refuse(42001)  # expired
        assert send(app, Reply(CHANNEL, USER, "第三条", "staff")).ok and api.fetches == 4
        api.refuse(40001, 40001)  # refused again with the new token: give up for now, retry later
        result = send(app, Reply(CHANNEL, USER, "第四条", "staff"))
        assert not result.ok and result.retryable and "40001" in (result.error or "")
        assert api.sent_to(USER) == ["第一条", "第二条", "第三条"]


def test_the_48_hour_window_and_the_message_limit_are_reported_to_staff(
    kb_dir: Path,  # noqa: F811
    holder: KnowledgeBaseHolder,  # noqa: F811
    api: WechatApiServer,
    store_url: str,
) -> None:
    app = mp_app(mp_settings(kb_dir, store_url, api.base_url), warmed(holder))
    platform = platform_for(ROUTE)
    with TestClient(app) as client:
        assert platform.reply(platform.post(client, platform.text(USER, QUESTION), "safe")) is not None
        api.refuse(45015)
        late = staff_reply(app, USER, "您好，关于企业标准公开的问题……")
        assert late.state == "failed" and late.attempts == 1  # not retried: it cannot help
        assert "48 小时" in (late.last_error or "") and "45015" in (late.last_error or "")
        api.refuse(45047)
        limited = staff_reply(app, USER, "第六条消息")
        assert limited.state == "failed" and "5 条" in (limited.last_error or "")
        failed = {f.delivery.id for f in services_of(app).store.failed_with_conversations()}
        assert {late.id, limited.id} <= failed  # what the console lists for staff
        sent = staff_reply(app, USER, "用户再次留言后可以回复")
        assert sent.state == "sent" and api.sent_to(USER) == ["用户再次留言后可以回复"]


def test_a_long_answer_goes_first_piece_passively_and_the_rest_by_custom_send(
    kb_dir: Path,  # noqa: F811
    holder: KnowledgeBaseHolder,  # noqa: F811
    api: WechatApiServer,
    tmp_path: Path,
) -> None:
    paragraph = "等同采用（IDT）指技术内容和文本结构都与国际标准相同 [1]。" * 12
    with FakeOpenAIServer() as llm:
        llm.reply("\n\n".join([paragraph] * 4))
        settings = mp_settings(
            kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", api.base_url, llm_url=llm.base_url
        )
        app = mp_app(settings, warmed(holder))
        platform = platform_for(ROUTE)
        with TestClient(app) as client:
            reply = platform.reply(platform.post(client, platform.text(USER, LLM_QUESTION), "safe"))
            assert reply is not None and len(llm.requests) == 1
            store = services_of(app).store
            conversation = store.find_conversation(CHANNEL, USER, USER)
            assert conversation is not None
            answer = store.transcript(conversation.id)[-1]
            stored = Reply(CHANNEL, USER, answer.text, "bot", answer.citations, message_id=answer.id)
            pieces = reply_pieces(stored)
            assert len(pieces) >= 3 and all(len(p.encode("utf-8")) <= 2048 for p in pieces)
            assert reply["Content"] == pieces[0]
            rest = api.wait_for_sent(len(pieces) - 1)
            assert [s.content for s in rest] == pieces[1:]
            assert "依据：" in "".join(pieces[-2:])  # the basis closes the reply
            delivery = eventually(
                lambda: _final(store, store.enqueue_delivery(answer.id, CHANNEL, USER, "", "bot").id)
            )
            assert delivery.state == "sent" and delivery.attempts == 1
