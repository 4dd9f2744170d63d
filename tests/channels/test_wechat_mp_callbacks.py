"""The /wechat/mp callback against the platform double: verification, each mode answered passively with
the basis, events and menus, other message kinds, duplicates and out-of-order messages, and every refusal
at the edge with its status and nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from channels.wechat_mp_fixtures import QUESTION, ROUTE, USER, mp_app, mp_settings, platform_for, warmed
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.web_app import services_of
from support.wechat_platform import WechatApiServer, WechatPlatform, xml_of

import prompts
from bot.channels.wechat_mp import CHANNEL
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.store import Store

MENU = {"FAQ_BENCHMARK": "什么是对标达标？"}


@pytest.fixture
def app(kb_dir: Path, tmp_path: Path, holder: KnowledgeBaseHolder, wechat_api: WechatApiServer) -> FastAPI:
    settings = mp_settings(kb_dir, f"sqlite:///{tmp_path / 'stdbot.db'}", wechat_api.base_url, menu=MENU)
    return mp_app(settings, warmed(holder))


@pytest.fixture
def platform() -> WechatPlatform:
    return platform_for(ROUTE)


def store_of(app: FastAPI) -> Store:
    return services_of(app).store


def transcript(app: FastAPI, user: str = USER) -> list[tuple[str, str]]:
    store = store_of(app)
    conversation = store.conversations.find(CHANNEL, user, user)
    if conversation is None:
        return []
    return [(m.direction, m.text) for m in store.conversations.transcript(conversation.id)]


def test_the_callback_url_is_verified_with_the_token(client: TestClient, platform: WechatPlatform) -> None:
    answered = client.get(ROUTE, params=platform.verification("1616140317555161061"))
    assert answered.status_code == 200 and answered.text == "1616140317555161061"
    forged = {**platform.verification(), "signature": "0" * 40}
    assert client.get(ROUTE, params=forged).status_code == 403
    stale = platform.verification(timestamp=1_409_659_589)
    assert client.get(ROUTE, params=stale).status_code == 403


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_a_question_is_answered_passively_with_its_basis_in_each_mode(
    app: FastAPI, client: TestClient, platform: WechatPlatform, wechat_api: WechatApiServer, mode: str
) -> None:
    response = platform.post(client, platform.text(USER, QUESTION), mode)  # type: ignore[arg-type]
    if mode != "plain":
        assert "<Encrypt>" in response.text and "公开" not in response.text  # sealed for the platform
    reply = platform.reply(response)
    assert reply is not None and reply["ToUserName"] == USER
    assert "标准编号和名称" in reply["Content"] and "依据：" in reply["Content"]
    assert "《企业标准化促进办法》" in reply["Content"]
    [(_, question), (_, answer)] = transcript(app)
    assert question == QUESTION and answer in reply["Content"]
    store = store_of(app)
    conversation = store.conversations.find(CHANNEL, USER, USER)
    assert conversation is not None
    out = store.conversations.transcript(conversation.id)[-1]
    delivery = store.deliveries.enqueue(out.id, CHANNEL, USER, out.text, "bot")  # the existing entry
    assert delivery.state == "sent" and delivery.platform_message_id == "passive"
    assert wechat_api.sent == [] and wechat_api.fetches == 0  # nothing through the customer-service API


def test_a_repeated_delivery_gets_the_same_answer_and_nothing_new_is_stored(
    app: FastAPI, client: TestClient, platform: WechatPlatform, wechat_api: WechatApiServer
) -> None:
    xml = platform.text(USER, QUESTION)
    query, body = platform.request(xml, "safe")
    first = platform.reply(client.post(ROUTE, params=query, content=body))
    again = platform.reply(client.post(ROUTE, params=query, content=body))  # the platform sends it again
    resigned = platform.reply(platform.post(client, xml, "plain"))  # or signs it afresh
    assert first is not None and again is not None and resigned is not None
    assert first["Content"] == again["Content"] == resigned["Content"]
    assert len(transcript(app)) == 2 and wechat_api.sent == []
    # the same signature on a different body is a replay, not a delivery
    forged = platform.text(USER, "另一个问题", msg_id="555")
    forged_body = platform.crypto.encrypt(forged)
    forged_query = {
        **query,
        "msg_signature": platform.crypto.sign(query["timestamp"], query["nonce"], forged_body),
    }
    replayed = client.post(
        ROUTE, params=forged_query, content=xml_of({"ToUserName": "gh", "Encrypt": forged_body})
    )
    assert replayed.status_code == 403 and len(transcript(app)) == 2


def test_messages_delivered_out_of_order_are_each_answered_once(
    app: FastAPI, client: TestClient, platform: WechatPlatform
) -> None:
    earlier = platform.text(USER, QUESTION, msg_id="24000000000000101", create_time=1_800_000_000)
    later = platform.text(USER, "什么是对标达标？", msg_id="24000000000000102", create_time=1_800_000_005)
    second = platform.reply(platform.post(client, later, "safe"))
    first = platform.reply(platform.post(client, earlier, "safe"))
    assert first is not None and "标准编号和名称" in first["Content"]
    assert second is not None and "对标达标" in second["Content"]
    texts = transcript(app)
    assert [t for d, t in texts if d == "in"] == ["什么是对标达标？", QUESTION]
    assert len([t for d, t in texts if d == "out"]) == 2


def test_subscribe_gets_the_welcome_and_menu_clicks_ask_their_question(
    app: FastAPI, client: TestClient, platform: WechatPlatform, wechat_api: WechatApiServer
) -> None:
    welcome = platform.reply(platform.post(client, platform.event(USER, "subscribe"), "safe"))
    assert welcome is not None and welcome["Content"] == prompts.load("wechat_welcome")
    clicked = platform.reply(platform.post(client, platform.event(USER, "CLICK", "FAQ_BENCHMARK"), "safe"))
    assert clicked is not None and "对标达标" in clicked["Content"] and "依据：" in clicked["Content"]
    assert ("in", "什么是对标达标？") in transcript(app)
    for other in (platform.event(USER, "CLICK", "NOT_IN_MENU"), platform.event(USER, "unsubscribe")):
        assert platform.reply(platform.post(client, other, "safe")) is None
    view = platform.event(USER, "VIEW", "https://example.org/")
    assert platform.reply(platform.post(client, view, "plain")) is None
    assert len(transcript(app)) == 2 and wechat_api.sent == []


@pytest.mark.parametrize("kind", ["image", "voice", "video", "location"])
def test_other_message_kinds_get_a_friendly_text_only_notice(
    app: FastAPI, client: TestClient, platform: WechatPlatform, kind: str
) -> None:
    reply = platform.reply(platform.post(client, platform.media(USER, kind), "safe"))
    assert reply is not None and reply["Content"] == prompts.load("wechat_text_only")
    assert "文字" in reply["Content"] and transcript(app) == []


def test_edge_refusals_have_their_status_and_store_nothing(
    app: FastAPI, client: TestClient, platform: WechatPlatform
) -> None:
    xml = platform.text(USER, QUESTION)
    query, body = platform.request(xml, "safe")
    headers = {"Content-Type": "text/xml"}

    def status(params: dict[str, str], content: bytes) -> int:
        return client.post(ROUTE, params=params, content=content, headers=headers).status_code

    assert status({**query, "signature": "a" * 40}, body) == 403
    assert status({**query, "msg_signature": "a" * 40}, body) == 403
    assert status({k: v for k, v in query.items() if k != "signature"}, body) == 403
    stale_query, stale_body = platform.request(xml, "safe", timestamp=1_409_659_813)
    assert status(stale_query, stale_body) == 403
    plain_query, _ = platform.request(xml, "plain")
    assert status(plain_query, b"<xml><ToUserName>gh</ToUserName><Content>") == 400
    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><C>&e;</C></xml>'
    assert status(plain_query, xxe) == 400
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<xml><MsgType>text</MsgType><FromUserName>u</FromUserName><Content>&b;</Content></xml>"
    )
    assert status(plain_query, laughs) == 400
    huge = xml.replace(QUESTION, "问" * 30_000).encode()
    huge_query, _ = platform.request(xml, "plain")
    assert status(huge_query, huge) == 413
    assert transcript(app) == []
    assert platform.reply(client.post(ROUTE, params=query, content=body, headers=headers)) is not None
