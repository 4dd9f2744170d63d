"""The WeCom 智能机器人 protocol: the platform double against the official WXBizMsgCrypt vector, the app's
cipher against both, callbacks parsed and @-mentions taken out, and the edge every callback passes
(signature, freshness, replay, body size, malformed JSON) through the real app."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from channels.wecom_bot_support import AES_KEY, BOT_NAME, TOKEN, BotApp, bot_settings, running
from support.recording_server import RecordingServer
from support.wechat_crypto import OFFICIAL, PlatformCipher

from bot.channels import wecom_bot
from bot.channels.base import PlatformContext
from bot.channels.platforms import PLATFORM_FACTORIES
from bot.channels.wecom_bot.crypto import WecomCipher
from bot.channels.wecom_bot.messages import (
    STREAM_CONTENT_BYTES,
    BotCallback,
    fit_content,
    parse_callback,
    question_of,
    stream_id_for,
)
from bot.service.hotline import build_hotline
from bot.service.kb_holder import KnowledgeBaseHolder
from config.errors import EdgeRejected, SettingsError
from config.settings import Settings

# --- the cipher (the double is proven on the official sample in test_wechat_mp_crypto.py) ------------


def test_the_apps_cipher_agrees_with_the_vector_and_the_double() -> None:
    cipher = WecomCipher(OFFICIAL.token, OFFICIAL.aes_key, OFFICIAL.receive_id)
    cipher.check(OFFICIAL.msg_signature, OFFICIAL.timestamp, OFFICIAL.nonce, OFFICIAL.echostr)
    assert cipher.decrypt(OFFICIAL.echostr).decode() == OFFICIAL.echo_plain
    double = PlatformCipher(OFFICIAL.token, OFFICIAL.aes_key, OFFICIAL.receive_id)
    prefix = double.random_prefix(OFFICIAL.echostr)
    assert cipher.encrypt(OFFICIAL.echo_plain.encode(), prefix) == OFFICIAL.echostr
    with pytest.raises(EdgeRejected) as refused:
        cipher.check(OFFICIAL.msg_signature[:-1] + "0", OFFICIAL.timestamp, OFFICIAL.nonce, OFFICIAL.echostr)
    assert refused.value.status == 403


def test_messages_cross_between_the_platform_and_the_app_with_an_empty_receive_id() -> None:
    platform, app = PlatformCipher(TOKEN, AES_KEY), WecomCipher(TOKEN, AES_KEY)
    for size in (0, 1, 15, 16, 27, 28, 31, 32, 33, 1000):  # every padding length, a whole block of padding
        text = "标" * size
        assert app.decrypt(platform.encrypt(text)) == text.encode()
        assert platform.decrypt(app.encrypt(text.encode())) == (text, "")
    envelope = app.envelope(b'{"msgtype":"stream"}', "n0nce", timestamp=1700000000)
    assert envelope["msgsignature"] == platform.sign("1700000000", "n0nce", envelope["encrypt"])


def test_ciphertexts_that_are_not_ours_are_refused_with_400() -> None:
    app = WecomCipher(TOKEN, AES_KEY)
    other_receiver = PlatformCipher(TOKEN, AES_KEY, "wx5823bf96d3bd56c7").encrypt("{}")
    other_key = PlatformCipher(TOKEN, base64.b64encode(b"x" * 32).decode().rstrip("=")).encrypt("{}")
    for ciphertext in (other_receiver, other_key, "not base64!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(EdgeRejected) as refused:
            app.decrypt(ciphertext)
        assert refused.value.status == 400, ciphertext
    with pytest.raises(SettingsError):
        WecomCipher(TOKEN, "too-short")


# --- callbacks and mentions ------------------------------------------------------------------------


def _group(text: str) -> BotCallback:
    return parse_callback(
        json.dumps(
            {
                "msgid": "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=",
                "aibotid": "AIBOTID",
                "chatid": "wrkSFfCgAAxxxx",
                "chattype": "group",
                "from": {"userid": "zhangsan"},
                "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=C",
                "msgtype": "text",
                "text": {"content": text},
            }
        ).encode()
    )


@pytest.mark.parametrize(
    ("content", "question"),
    [
        (f"@{BOT_NAME} 企业标准需要公开吗？", "企业标准需要公开吗？"),
        (f"@{BOT_NAME}\u2005企业标准需要公开吗？", "企业标准需要公开吗？"),  # WeCom's mention space
        (f"@李四 @{BOT_NAME} 请问团体标准谁来制定", "@李四 请问团体标准谁来制定"),
        (f"@{BOT_NAME} 团体标准\n谁来制定 @{BOT_NAME}", "团体标准\n谁来制定"),
        (f"请问 @{BOT_NAME}，地方标准由谁批准？", "请问 ，地方标准由谁批准？"),
        (f"@{BOT_NAME}", ""),
    ],
)
def test_mentions_of_the_bot_are_taken_out_of_the_question(content: str, question: str) -> None:
    assert question_of(_group(content), [BOT_NAME, "标准"]) == question


def test_a_group_message_not_mentioning_the_bot_asks_nothing() -> None:
    assert question_of(_group("@李四 你看下这个标准"), [BOT_NAME]) is None
    assert question_of(_group(f"@{BOT_NAME}们 看一下"), [BOT_NAME]) is None  # another name that starts alike
    assert question_of(_group("没有提到任何人"), []) is None
    # without configured names the first mention is taken for the bot's
    assert question_of(_group("@助手 国家标准有哪些"), []) == "国家标准有哪些"


def test_single_chats_mixed_and_voice_messages_and_refreshes_are_parsed() -> None:
    single = parse_callback(
        json.dumps(
            {
                "msgid": "m1",
                "chattype": "single",
                "from": {"userid": "wangwu"},
                "msgtype": "mixed",
                "mixed": {
                    "msg_item": [
                        {"msgtype": "text", "text": {"content": "这张图里的标准"}},
                        {"msgtype": "image", "image": {"url": "https://example.invalid/x"}},
                        {"msgtype": "text", "text": {"content": "还有效吗"}},
                    ]
                },
            }
        ).encode()
    )
    assert (single.kind, single.chat_type, single.chat_id, single.user_id) == (
        "message",
        "private",
        "wangwu",
        "wangwu",
    )
    assert question_of(single, [BOT_NAME]) == "这张图里的标准\n还有效吗"
    voice = parse_callback(
        b'{"msgid":"m2","chattype":"single","from":{"userid":"u"},'
        b'"msgtype":"voice","voice":{"content":"GB 2760"}}'
    )
    assert voice.text == "GB 2760"
    refresh = parse_callback(
        b'{"msgid":"r1","chattype":"single","from":{"userid":"u"},"msgtype":"stream","stream":{"id":"s-1"}}'
    )
    assert (refresh.kind, refresh.stream_id) == ("refresh", "s-1")
    assert stream_id_for("CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=") == stream_id_for(
        "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="
    )
    assert stream_id_for("a") != stream_id_for("b")
    for bad in (b"[]", b"{}", b"not json", b'{"msgtype":"text","from":{"userid":"u"},"chattype":"group"}'):
        with pytest.raises(EdgeRejected) as refused:
            parse_callback(bad)
        assert refused.value.status == 400


def test_content_is_kept_within_the_platforms_limit() -> None:
    long = "标准化法规定。" * 2000
    fitted = fit_content(long)
    assert len(fitted.encode()) <= STREAM_CONTENT_BYTES and fitted.endswith("truncated）")
    assert fit_content("短") == "短"


# --- the platform factory --------------------------------------------------------------------------


def test_the_channel_is_off_without_a_token_and_needs_its_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database={"url": f"sqlite:///{tmp_path / 'db.sqlite'}"})
    hotline = build_hotline(settings)
    try:
        context = PlatformContext(settings, hotline.store, hotline.locks, hotline.dispatcher, hotline.outbox)
        assert wecom_bot.platform(context) is None
        assert wecom_bot.platform in PLATFORM_FACTORIES
        missing_key = Settings(data_dir=tmp_path, wecom_bot={"token": TOKEN})
        with pytest.raises(SettingsError, match=r"wecom_bot\.aes_key"):
            wecom_bot.platform(replace(context, settings=missing_key))
    finally:
        hotline.stop()


# --- the edge, through the app ---------------------------------------------------------------------


@pytest.fixture
def bot(
    kb_dir: Path, holder: KnowledgeBaseHolder, tmp_path: Path, response_url: RecordingServer
) -> Iterator[BotApp]:
    database = f"sqlite:///{tmp_path / 'stdbot.db'}"
    settings = bot_settings(kb_dir, database, response_url.base_url, edge={"max_body_bytes": 4096})
    with running(settings, holder) as app:
        yield app


def test_url_verification_returns_the_decrypted_echostr(bot: BotApp) -> None:
    response = bot.wecom.verify_url("5927782489442352469")
    assert response.status_code == 200 and response.text == "5927782489442352469"
    assert bot.wecom.verify_url(msg_signature="0" * 40).status_code == 403
    assert bot.wecom.verify_url(timestamp=str(int(time.time()) - 3600)).status_code == 403
    assert bot.wecom.verify_url(echostr="").status_code == 403  # the signature covered the real one


def test_signed_stale_replayed_and_malformed_callbacks_are_refused(bot: BotApp) -> None:
    message = bot.wecom.text(f"@{BOT_NAME} 企业标准需要公开吗")
    assert bot.wecom.post(message, signature="0" * 40).status_code == 403
    stale = str(int(time.time()) - 3600)
    assert bot.wecom.post(message, timestamp=stale).status_code == 403
    assert bot.wecom.post(message, timestamp="yesterday").status_code == 403
    assert bot.wecom.post(message, body=b"{not json").status_code == 400
    assert bot.wecom.post(message, body=b'{"encrypted": "x"}').status_code == 400
    assert bot.wecom.post(message, body=b"x" * 5000).status_code == 413
    # a signed ciphertext whose plaintext is not JSON
    encrypted = bot.wecom.cipher.encrypt("<xml>not json</xml>")
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    params = {
        "msg_signature": bot.wecom.cipher.sign(timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    assert bot.client.post("/wecom/bot", params=params, json={"encrypt": encrypted}).status_code == 400
    # the same signed (timestamp, nonce) with another body: a replay onto forged content
    other = bot.wecom.cipher.encrypt('{"msgtype":"event"}')
    replay = {**params, "msg_signature": bot.wecom.cipher.sign(timestamp, nonce, other)}
    assert bot.client.post("/wecom/bot", params=replay, json={"encrypt": other}).status_code == 403
    assert bot.store.conversations.find("wecom_bot", "zhangsan", "zhangsan") is None


def test_events_images_and_empty_questions_get_their_own_replies(bot: BotApp) -> None:
    welcome = bot.wecom.send(bot.wecom.event("enter_chat"))
    assert welcome is not None and welcome["msgtype"] == "text" and "@我" in welcome["text"]["content"]
    assert bot.wecom.send(bot.wecom.event("template_card_event")) is None
    image = bot.wecom.send(bot.wecom.image())
    assert image is not None and image["stream"]["finish"] and "文字" in image["stream"]["content"]
    empty = bot.wecom.send(bot.wecom.text(f"@{BOT_NAME} ", chat="wrGroup1"))
    assert empty is not None and empty["stream"]["finish"] and "例如" in empty["stream"]["content"]
    assert bot.store.conversations.find("wecom_bot", "wrGroup1", "zhangsan") is None
