"""微信客服 against a double of WeCom: the kf_msg_or_event callback, kf/sync_msg with a real cursor and
has_more paging, answers through kf/send_msg; the cursor across a restart and between two workers; the
welcome on entering; the 48-hour error shown to staff; and the whole path through a real server."""

from __future__ import annotations

import hashlib
import threading
import time
import zlib
from contextlib import ExitStack
from itertools import count
from pathlib import Path

import httpx
import pytest
from channels.wecom_app_fixtures import (
    CORP_ID,
    KF,
    KF_ROUTE,
    KF_SECRET,
    OPEN_KFID,
    QUESTION,
    channel_settings,
    deliver,
    pull,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.waiting import wait_until
from support.web_app import LiveServer, services_of
from support.wecom_app_platform import Calls, QyapiServer
from web.console_support import add_account, staff_replies

import prompts
from bot.channels.wecom.kf.inbound import cursor_key
from bot.channels.wecom.kf.sender import chat_id, split_chat_id
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.service.locks import LOCK_BUCKETS
from bot.store import Store
from bot.web.app import create_app
from config.settings import Settings


@pytest.fixture
def settings(kb_dir: Path, tmp_path: Path, qyapi: QyapiServer) -> Settings:
    return channel_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", qyapi.base_url)


def answered(calls: Calls, user: str) -> list[str]:
    return [content for kfid, to, content in calls.kf_sends() if to == user and kfid == OPEN_KFID]


def transcript_directions(store: Store, user: str) -> list[str]:
    conversation = store.conversations.find("wechat_kf", chat_id(OPEN_KFID, user), user)
    assert conversation is not None, user
    return [m.direction for m in store.conversations.transcript(conversation.id)]


def test_chat_ids_carry_the_kf_account_and_the_customer() -> None:
    assert split_chat_id(chat_id("wkAbc", "wm-x:y")) == ("wkAbc", "wm-x:y")
    for bad in ("", "wkAbc", ":wm", "wk:"):
        with pytest.raises(ValueError):
            split_chat_id(bad)


def test_url_verification(app: FastAPI) -> None:
    with TestClient(app) as client:
        answer = client.get(KF_ROUTE, params=KF.verify_query("38271937129"))
        assert answer.status_code == 200 and answer.text == "38271937129"


def test_callback_pulls_answers_and_sends(app: FastAPI, qyapi: QyapiServer) -> None:
    _, token = qyapi.customer_says(OPEN_KFID, "wmAlice", QUESTION)
    with TestClient(app) as client:
        response = deliver(client, KF_ROUTE, pull(token))
        assert response.status_code == 200 and response.text == ""
        calls = qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)
    [(kfid, to, content)] = calls.kf_sends()
    assert (kfid, to) == (OPEN_KFID, "wmAlice") and "依据" in content and "标准化法" in content
    [sync] = calls.to("kf/sync_msg")
    assert sync.body == {"cursor": "", "limit": 1000, "open_kfid": OPEN_KFID, "token": token}
    store = services_of(app).store
    assert store.channel_state.get(cursor_key(OPEN_KFID)) == qyapi.cursor_at_end(OPEN_KFID)
    assert transcript_directions(store, "wmAlice") == ["in", "out"]


def test_the_cursor_survives_a_restart_nothing_skipped_nothing_twice(
    holder: KnowledgeBaseHolder, settings: Settings, qyapi: QyapiServer
) -> None:
    _, first_token = qyapi.customer_says(OPEN_KFID, "wmAlice", QUESTION)
    first = create_app(settings, holder=holder)
    with TestClient(first) as client:
        deliver(client, KF_ROUTE, pull(first_token))
        qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)
    saved = services_of(first).store.channel_state.get(cursor_key(OPEN_KFID))
    assert saved == qyapi.cursor_at_end(OPEN_KFID)

    qyapi.customer_says(OPEN_KFID, "wmBob", QUESTION)  # while stdbot is down: its callback is lost
    _, last_token = qyapi.customer_says(OPEN_KFID, "wmCarol", QUESTION)
    second = create_app(settings, holder=holder)  # a new process on the same database
    with TestClient(second) as client:
        deliver(client, KF_ROUTE, pull(last_token))
        calls = qyapi.wait_for(lambda c: len(c.kf_sends()) == 3)
    assert calls.to("kf/sync_msg")[-1].body["cursor"] == saved
    assert [len(answered(calls, user)) for user in ("wmAlice", "wmBob", "wmCarol")] == [1, 1, 1]
    store = services_of(second).store
    for user in ("wmAlice", "wmBob", "wmCarol"):
        assert transcript_directions(store, user) == ["in", "out"]


def test_two_workers_pulling_at_once_answer_each_message_once(
    kb_dir: Path, holder: KnowledgeBaseHolder, store_url: str, qyapi: QyapiServer
) -> None:
    settings = channel_settings(kb_dir, store_url, qyapi.base_url)
    _, alice_token = qyapi.customer_says(OPEN_KFID, "wmAlice", QUESTION)
    _, bob_token = qyapi.customer_says(OPEN_KFID, "wmBob", QUESTION)
    workers = [create_app(settings, holder=holder) for _ in range(2)]
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(worker)) for worker in workers]
        callbacks = [pull(alice_token), pull(bob_token)]
        plan = [(clients[0], callbacks[0]), (clients[1], callbacks[1]), (clients[1], callbacks[0])]
        plan.append((clients[0], callbacks[1]))
        start = threading.Barrier(len(plan))
        statuses: list[int] = []

        def post(index: int) -> None:
            client, sealed = plan[index]
            start.wait()
            statuses.append(deliver(client, KF_ROUTE, sealed).status_code)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(plan))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert statuses == [200] * len(plan)
        qyapi.wait_for(lambda c: len(c.kf_sends()) == 2)
    calls = qyapi.calls  # both workers stopped: their pulls and outboxes are done
    assert len(answered(calls, "wmAlice")) == 1 and len(answered(calls, "wmBob")) == 1
    assert len(calls.kf_sends()) == 2
    store = services_of(workers[0]).store
    assert store.channel_state.get(cursor_key(OPEN_KFID)) == qyapi.cursor_at_end(OPEN_KFID)


def test_pages_are_pulled_until_has_more_is_zero(app: FastAPI, qyapi: QyapiServer) -> None:
    qyapi.page_size(4)
    users = [f"wmUser{i:02d}" for i in range(10)]
    tokens = [qyapi.customer_says(OPEN_KFID, user, QUESTION)[1] for user in users]
    qyapi.servicer_says(OPEN_KFID, users[0], "我是人工客服")  # origin 5: not for the bot
    with TestClient(app) as client:
        deliver(client, KF_ROUTE, pull(tokens[-1]))
        calls = qyapi.wait_for(lambda c: len(c.kf_sends()) == len(users), timeout_s=60)
    pages = calls.to("kf/sync_msg")
    assert [page.answer["has_more"] for page in pages] == [1, 1, 0]
    assert [page.body["cursor"] for page in pages[1:]] == [
        pages[0].answer["next_cursor"],
        pages[1].answer["next_cursor"],
    ]
    assert sorted(to for _, to, _ in calls.kf_sends()) == users


def test_the_first_pull_leaves_history_alone(app: FastAPI, qyapi: QyapiServer) -> None:
    qyapi.customer_says(OPEN_KFID, "wmOld", QUESTION, send_time=int(time.time()) - 2 * 86400)
    _, token = qyapi.customer_says(OPEN_KFID, "wmNew", QUESTION)
    with TestClient(app) as client:
        deliver(client, KF_ROUTE, pull(token))
        qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)
    calls = qyapi.calls
    assert answered(calls, "wmNew") and not answered(calls, "wmOld")
    assert (
        services_of(app).store.conversations.find("wechat_kf", chat_id(OPEN_KFID, "wmOld"), "wmOld") is None
    )


def test_entering_gets_the_welcome_once_and_a_lost_cursor_repeats_nothing(
    app: FastAPI, qyapi: QyapiServer
) -> None:
    code, enter_token = qyapi.customer_enters(OPEN_KFID, "wmAlice")
    _, token = qyapi.customer_says(OPEN_KFID, "wmAlice", QUESTION)
    store = services_of(app).store
    with TestClient(app) as client:
        deliver(client, KF_ROUTE, pull(enter_token))
        deliver(client, KF_ROUTE, pull(token))
        qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)
        welcomes = qyapi.wait_for(lambda c: len(c.to("kf/send_msg_on_event")) == 1).to("kf/send_msg_on_event")
        assert welcomes[0].body == {
            "code": code,
            "msgtype": "text",
            "text": {"content": prompts.load("wechat_kf_welcome")},
        }
        store.channel_state.delete(cursor_key(OPEN_KFID))  # as if the worker died before saving it
        _, again = qyapi.customer_says(OPEN_KFID, "wmBob", QUESTION)
        deliver(client, KF_ROUTE, pull(again))
        qyapi.wait_for(lambda c: len(c.kf_sends()) == 2)
    calls = qyapi.calls
    assert len(calls.to("kf/send_msg_on_event")) == 1
    assert len(answered(calls, "wmAlice")) == 1 and len(answered(calls, "wmBob")) == 1
    assert transcript_directions(store, "wmAlice") == ["in", "out"]


def test_an_expired_callback_token_pulls_without_it(app: FastAPI, qyapi: QyapiServer) -> None:
    _, token = qyapi.customer_says(OPEN_KFID, "wmAlice", QUESTION)
    qyapi.expire_callback_tokens()
    with TestClient(app) as client:
        deliver(client, KF_ROUTE, pull(token))
        calls = qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)
    syncs = calls.to("kf/sync_msg")
    assert [s.answer["errcode"] for s in syncs] == [95007, 0] and "token" not in syncs[1].body


def test_a_picture_gets_the_request_to_ask_in_words(app: FastAPI, qyapi: QyapiServer) -> None:
    _, token = qyapi.customer_sends_picture(OPEN_KFID, "wmAlice")
    with TestClient(app) as client:
        deliver(client, KF_ROUTE, pull(token))
        calls = qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)
    assert "您想咨询的问题" in answered(calls, "wmAlice")[0]


def test_the_48_hour_limit_is_reported_to_staff_not_retried(app: FastAPI, qyapi: QyapiServer) -> None:
    _, token = qyapi.customer_says(OPEN_KFID, "wmAlice", "转人工")
    store = services_of(app).store
    with TestClient(app) as client:
        deliver(client, KF_ROUTE, pull(token))
        qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)  # the handoff notice
        conversation = store.conversations.find("wechat_kf", chat_id(OPEN_KFID, "wmAlice"), "wmAlice")
        assert conversation is not None and conversation.state == "waiting"
        add_account(app, "staffer")
        qyapi.fail("kf/send_msg", 95018, "send msg session status invalid")
        staff_replies(client, conversation.id, "您好")
        wait_until(lambda: bool(store.deliveries.failed()), 15, "the refused reply")
        [failed] = [f.delivery for f in store.deliveries.failed()]
        assert failed.attempts == 1 and failed.text == "您好"
        assert failed.last_error is not None
        assert (
            "48 小时" in failed.last_error
            and "48 hours" in failed.last_error
            and "95018" in failed.last_error
        )
        assert "48 小时" in client.get("/console").text  # on the staff's queue page
    assert len(qyapi.calls.to("kf/send_msg")) == 2  # the notice, and the one refused attempt


def _bucket(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) % LOCK_BUCKETS


@pytest.mark.parametrize(
    "inner_lock",
    [
        f"access-token:{CORP_ID}_{hashlib.sha256(KF_SECRET.encode()).hexdigest()[:12]}_access_token",
        "conversation:1",
    ],
)
def test_a_pull_never_waits_for_a_lock_file_its_own_process_holds(
    app: FastAPI, qyapi: QyapiServer, inner_lock: str
) -> None:
    """With SQLite, locks are flock files shared by hash: a kf account whose pull lock hashes like the
    token or conversation lock taken inside the pull must still be pulled."""
    kfid = next(
        f"wkCollide{i}" for i in count() if _bucket(f"wechat_kf:sync:wkCollide{i}") == _bucket(inner_lock)
    )
    _, token = qyapi.customer_says(kfid, "wmAlice", QUESTION)
    with TestClient(app) as client:
        deliver(client, KF_ROUTE, pull(token, kfid))
        calls = qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)
    assert [to for _, to, _ in calls.kf_sends()] == ["wmAlice"]
    conversation = services_of(app).store.conversations.find("wechat_kf", chat_id(kfid, "wmAlice"), "wmAlice")
    assert conversation is not None and conversation.id == 1


# --- end to end through a real server ---------------------------------------------------------------


def test_question_handoff_and_staff_reply_through_a_real_server(
    app: FastAPI, live_server: LiveServer, qyapi: QyapiServer
) -> None:
    store = services_of(app).store
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        _, token = qyapi.customer_says(OPEN_KFID, "wmAlice", QUESTION)
        assert deliver(http, KF_ROUTE, pull(token)).text == ""
        calls = qyapi.wait_for(lambda c: len(c.kf_sends()) == 1)
        [answer] = answered(calls, "wmAlice")
        assert "依据：" in answer and "《中华人民共和国标准化法》" in answer

        _, token = qyapi.customer_says(OPEN_KFID, "wmAlice", "转人工")
        assert deliver(http, KF_ROUTE, pull(token)).text == ""
        qyapi.wait_for(lambda c: len(c.kf_sends()) == 2)
        conversation = store.conversations.find("wechat_kf", chat_id(OPEN_KFID, "wmAlice"), "wmAlice")
        assert conversation is not None and conversation.state == "waiting"
        assert store.handoffs.active_for(conversation.id) is not None

        add_account(app, "staffer")
        staff_text = "您好，我是工作人员：企业标准应在企业标准信息公共服务平台自我声明公开。"
        staff_replies(http, conversation.id, staff_text)
        calls = qyapi.wait_for(lambda c: len(c.kf_sends()) == 3)
    assert calls.kf_sends()[2] == (OPEN_KFID, "wmAlice", staff_text)
