"""The WeCom self-built app channel against a double of WeCom: callbacks signed and encrypted as the
platform does (proven on the official WXBizMsgCrypt sample), the edge's refusals, the asynchronous answer
through message/send, errors staff must see, one access token for every worker, and the whole path through
a real server: an answer with its basis, 转人工, and a staff reply from the console."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from channels.wecom_app_fixtures import (
    AGENT_ID,
    APP,
    APP_ROUTE,
    CORP_ID,
    KF,
    KF_ROUTE,
    QUESTION,
    channel_settings,
    deliver,
    says,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from support.web_app import LiveServer, hold_answers, services_of
from support.wechat_crypto import OFFICIAL
from support.wecom_app_platform import (
    QyapiServer,
    WecomSealer,
    app_event,
    image_message,
    kf_event_xml,
    text_message,
)
from web.console_support import add_account, staff_replies
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.wecom.api import QyapiClient
from bot.channels.wecom.app.sender import TEXT_LIMIT_BYTES, WecomAppChannel
from bot.messages import Reply
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.service.locks import ConversationLocks
from bot.service.sent_pieces import SentPieces
from bot.store import Store
from bot.web.app import create_app
from config.settings import Settings

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>x</ToUserName><Encrypt>&xxe;</Encrypt></xml>"""
ENTITY_INSIDE = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml><MsgType>&a;</MsgType></xml>'


@pytest.fixture
def settings(kb_dir: Path, tmp_path: Path, qyapi: QyapiServer) -> Settings:
    return channel_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", qyapi.base_url)


# --- the double is WeCom's crypto (proven on the official sample in test_wechat_mp_crypto.py) ----------


def test_the_double_and_wechatpy_read_each_others_envelopes() -> None:
    crypto = WeChatCrypto(APP.token, APP.aes_key, CORP_ID)
    inner = text_message(CORP_ID, "zhangsan", "你好，标准", 7, AGENT_ID)
    query, body = APP.seal(inner, timestamp="1700000000", nonce="n1")
    assert crypto.decrypt_message(body.decode(), query["msg_signature"], "1700000000", "n1") == inner
    sealed = crypto.encrypt_message("<xml><Content>回复</Content></xml>", "n2", "1700000001")
    encrypted = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert APP.cipher().decrypt(encrypted) == ("<xml><Content>回复</Content></xml>", CORP_ID)


# --- callbacks ---------------------------------------------------------------------------------------


def test_url_verification_answers_the_official_sample(
    settings: Settings, holder: KnowledgeBaseHolder
) -> None:
    v = OFFICIAL
    official = settings.wecom_app.model_copy(
        update={"token": SecretStr(v.token), "aes_key": SecretStr(v.aes_key), "app_id": v.receive_id}
    )
    sample = settings.model_copy(update={"wecom_app": official})
    with TestClient(create_app(sample, holder=holder)) as client:
        answer = client.get(APP_ROUTE, params=v.query())
        assert answer.status_code == 200 and answer.text == v.echo_plain
        assert client.get(APP_ROUTE, params={**v.query(), "msg_signature": "0" * 40}).status_code == 403
        other = {**v.query(), "echostr": v.echostr[:-8] + "AAAAAA=="}
        assert client.get(APP_ROUTE, params=other).status_code == 403  # the signature covers the echostr


def test_url_verification_with_a_fresh_echostr(client: TestClient) -> None:
    answer = client.get(APP_ROUTE, params=APP.verify_query("8213729136127391"))
    assert answer.status_code == 200 and answer.text == "8213729136127391"


def test_a_message_is_acknowledged_at_once_and_answered_through_message_send(
    app: FastAPI, client: TestClient, qyapi: QyapiServer
) -> None:
    gate = threading.Event()
    hold_answers(app, gate)
    response = deliver(client, APP_ROUTE, says("zhangsan", QUESTION, 1001))
    assert response.status_code == 200 and response.text == ""
    assert qyapi.calls.to("message/send") == []  # acknowledged while the answer is still being worked out
    gate.set()
    calls = qyapi.wait_for(lambda c: len(c.app_texts()) == 1)
    [(to, content)] = calls.app_texts()
    assert to == "zhangsan" and "依据" in content and "标准化法" in content
    send = calls.to("message/send")[0]
    assert send.body["agentid"] == AGENT_ID and send.body["msgtype"] == "text"
    store = services_of(app).store
    conversation = store.conversations.find("wecom_app", "zhangsan", "zhangsan")
    assert conversation is not None
    transcript = store.conversations.transcript(conversation.id)
    assert [m.direction for m in transcript] == ["in", "out"] and transcript[0].channel_message_id == "1001"


def test_platform_retries_and_repeated_msgids_are_answered_once(app: FastAPI, qyapi: QyapiServer) -> None:
    sealed = says("lisi", QUESTION, 2002)
    with TestClient(app) as client:
        assert deliver(client, APP_ROUTE, sealed).status_code == 200
        assert deliver(client, APP_ROUTE, sealed).status_code == 200  # the platform delivering again
        assert deliver(client, APP_ROUTE, says("lisi", QUESTION, 2002)).status_code == 200  # new envelope
        qyapi.wait_for(lambda c: len(c.app_texts()) >= 1)
    # the app has stopped: every background job has finished and the outbox has had its chance
    store = services_of(app).store
    conversation = store.conversations.find("wecom_app", "lisi", "lisi")
    assert conversation is not None
    assert [m.direction for m in store.conversations.transcript(conversation.id)] == ["in", "out"]
    assert len(qyapi.calls.app_texts()) == 1


def test_pictures_get_the_request_to_ask_in_words_and_events_get_nothing(
    app: FastAPI, qyapi: QyapiServer
) -> None:
    with TestClient(app) as client:
        enter = deliver(client, APP_ROUTE, APP.seal(app_event(CORP_ID, "wangwu", "enter_agent", AGENT_ID)))
        picture = deliver(client, APP_ROUTE, APP.seal(image_message(CORP_ID, "wangwu", 3003, AGENT_ID)))
        assert enter.status_code == picture.status_code == 200 and enter.text == picture.text == ""
        calls = qyapi.wait_for(lambda c: len(c.app_texts()) == 1)
    [(to, content)] = calls.app_texts()
    assert to == "wangwu" and "您想咨询的问题" in content
    assert len(qyapi.calls.app_texts()) == 1


@pytest.mark.parametrize(("route", "sealer"), [(APP_ROUTE, APP), (KF_ROUTE, KF)])
def test_the_edge_refuses_what_the_platform_would_never_send(
    client: TestClient, route: str, sealer: WecomSealer
) -> None:
    if sealer is APP:
        inner = text_message(CORP_ID, "zhaoliu", QUESTION, 4004, AGENT_ID)
    else:
        inner = kf_event_xml(CORP_ID, "ENCsometoken", "wkEdgeCase")
    query, body = sealer.seal(inner)
    refused = {
        "expired timestamp": (sealer.seal(inner, timestamp="1409659589"), 403),
        "bad signature": (({**query, "msg_signature": "f" * 40}, body), 403),
        "no nonce": (({k: v for k, v in query.items() if k != "nonce"}, body), 403),
        "malformed XML": ((query, body.replace(b"</xml>", b"")), 400),
        "XXE": ((query, XXE), 400),
        "oversized body": ((query, b"<xml><Encrypt>" + b"A" * (70 * 1024) + b"</Encrypt></xml>"), 413),
        "sealed for another corp": (sealer.seal(inner, receive_id="wwSomeoneElse"), 403),
        "entity inside the envelope": (sealer.seal(ENTITY_INSIDE), 400),
    }
    for case, (sealed, status) in refused.items():
        assert deliver(client, route, sealed).status_code == status, case
    assert deliver(client, route, (query, body)).status_code == 200
    assert deliver(client, route, (query, body)).status_code == 200  # the platform's retry: same body
    forged = sealer.seal(inner, timestamp=query["timestamp"], nonce=query["nonce"])
    assert deliver(client, route, forged).status_code == 403  # a captured nonce on another body


def test_a_signed_callback_that_is_no_message_is_refused(client: TestClient, qyapi: QyapiServer) -> None:
    assert deliver(client, APP_ROUTE, APP.seal("<xml><Content>无类型</Content></xml>")).status_code == 400
    assert qyapi.calls.to("message/send") == []


# --- sending, errors, tokens --------------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'channel.db'}")
    store.migrate()
    yield store
    store.close()


def app_channel(settings: Settings, store: Store, namespace: str = "wecom_app") -> WecomAppChannel:
    locks = ConversationLocks(store.url.render_as_string(hide_password=False))
    client = QyapiClient(settings.wecom_app, store, locks, namespace)
    return WecomAppChannel(client, AGENT_ID, SentPieces(store, namespace))


def staff_reply(text: str, message_id: int, to: str = "zhangsan") -> Reply:
    return Reply("wecom_app", to, text, "staff", message_id=message_id)


@pytest.mark.parametrize(
    ("errcode", "words"), [(60020, "可信IP"), (81013, "可见范围"), (40003, "UserID"), (82001, "收件人")]
)
def test_errors_retrying_cannot_fix_are_final_and_readable(
    settings: Settings, sqlite_store: Store, qyapi: QyapiServer, errcode: int, words: str
) -> None:
    qyapi.fail("message/send", errcode, f"platform says {errcode}")
    result = app_channel(settings, sqlite_store).send(staff_reply("您好", 1))
    assert not result.ok and result.retryable is False
    assert result.error is not None and words in result.error
    assert result.error.index(words) < result.error.index(f"WeCom error {errcode}")  # Chinese, then English


@pytest.mark.parametrize("as_error", [True, False], ids=["81013", "invaliduser"])
def test_a_member_outside_the_visible_range_is_a_final_failure(
    settings: Settings, sqlite_store: Store, qyapi: QyapiServer, as_error: bool
) -> None:
    qyapi.limit_visibility({"someone-else"}, all_invalid_is_error=as_error)
    result = app_channel(settings, sqlite_store).send(staff_reply("您好", 2))
    assert not result.ok and result.retryable is False and "可见范围" in (result.error or "")


def test_a_busy_platform_and_an_unreachable_one_are_retried(
    settings: Settings, sqlite_store: Store, qyapi: QyapiServer
) -> None:
    qyapi.fail("message/send", -1, "system busy")
    busy = app_channel(settings, sqlite_store).send(staff_reply("您好", 3))
    assert not busy.ok and busy.retryable and "-1" in (busy.error or "")
    gone = settings.model_copy(
        update={"wecom_app": settings.wecom_app.model_copy(update={"api_base_url": "http://127.0.0.1:9"})}
    )
    down = app_channel(gone, sqlite_store, "wecom_app_offline").send(staff_reply("您好", 3))
    assert not down.ok and down.retryable and "连接企业微信失败" in (down.error or "")


def test_a_rejected_token_is_refetched_and_the_call_made_once_more(
    settings: Settings, sqlite_store: Store, qyapi: QyapiServer
) -> None:
    channel = app_channel(settings, sqlite_store)
    assert channel.send(staff_reply("第一条", 4)).ok
    qyapi.revoke_tokens()  # e.g. someone fetched a token with the same Secret elsewhere
    assert channel.send(staff_reply("第二条", 5)).ok
    assert qyapi.token_fetches == 2
    assert [content for _, content in qyapi.calls.app_texts()] == ["第一条", "第二条"]
    qyapi.fail("message/send", 42001, "access_token expired", times=5)
    expired = channel.send(staff_reply("第三条", 6))
    assert not expired.ok and expired.retryable
    assert qyapi.token_fetches == 3 and len(qyapi.calls.to("message/send")) == 5  # one more try, no loop


def test_one_token_for_two_workers(store_url: str, qyapi: QyapiServer, settings: Settings) -> None:
    """Two workers (their own store connections and locks) sending at the same moment fetch one token."""
    stores = [Store(store_url) for _ in range(2)]
    channels = [app_channel(settings, store) for store in stores]
    start = threading.Barrier(len(channels))
    results = []

    def send(index: int) -> None:
        start.wait()
        results.append(channels[index].send(staff_reply(f"第{index}条", 10 + index)))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(channels))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert len(results) == 2 and all(result.ok for result in results)
        assert qyapi.token_fetches == 1
        assert len({call.query["access_token"] for call in qyapi.calls.to("message/send")}) == 1
    finally:
        for store in stores:
            store.close()


def test_long_replies_go_in_pieces_and_a_retry_sends_only_the_rest(
    settings: Settings, sqlite_store: Store, qyapi: QyapiServer
) -> None:
    channel = app_channel(settings, sqlite_store)
    text = "\n\n".join(
        f"第{i}段：企业标准应当通过企业标准信息公共服务平台自我声明公开。" * 12 for i in range(8)
    )
    assert len(text.encode()) > 3 * TEXT_LIMIT_BYTES
    qyapi.fail("message/send", -1, "system busy", after=1)  # the second piece fails once
    first = channel.send(Reply("wecom_app", "zhangsan", text, "bot", message_id=77))
    assert not first.ok and first.retryable and "已发送 1/" in (first.error or "")
    assert channel.send(Reply("wecom_app", "zhangsan", text, "bot", message_id=77)).ok
    pieces = [content for _, content in qyapi.calls.app_texts()]
    assert len(pieces) >= 4 and len(set(pieces)) == len(pieces)  # no piece twice
    assert all(len(piece.encode()) <= TEXT_LIMIT_BYTES for piece in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


# --- end to end through a real server ---------------------------------------------------------------


def test_question_handoff_and_staff_reply_through_a_real_server(
    app: FastAPI, live_server: LiveServer, qyapi: QyapiServer
) -> None:
    store = services_of(app).store
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert deliver(http, APP_ROUTE, says("zhangsan", QUESTION, 5001)).text == ""
        calls = qyapi.wait_for(lambda c: len(c.app_texts()) == 1)
        [(to, answer)] = calls.app_texts()
        assert to == "zhangsan" and "依据：" in answer and "《中华人民共和国标准化法》" in answer

        assert deliver(http, APP_ROUTE, says("zhangsan", "转人工", 5002)).text == ""
        calls = qyapi.wait_for(lambda c: len(c.app_texts()) == 2)
        conversation = store.conversations.find("wecom_app", "zhangsan", "zhangsan")
        assert conversation is not None and conversation.state == "waiting"
        assert store.handoffs.active_for(conversation.id) is not None
        assert calls.app_texts()[1][0] == "zhangsan"  # the user is told a person will answer

        add_account(app, "staffer")
        staff_text = "您好，我是工作人员：企业标准应在企业标准信息公共服务平台自我声明公开。"
        staff_replies(http, conversation.id, staff_text)
        calls = qyapi.wait_for(lambda c: len(c.app_texts()) == 3)
    assert calls.app_texts()[2] == ("zhangsan", staff_text)
