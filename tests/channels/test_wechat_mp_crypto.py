"""The platform double's encryption proven on the official WXBizMsgCrypt sample, and the channel's
envelope (wechatpy behind our own checks) reading and sealing exactly what the platform writes and reads."""

from __future__ import annotations

import pytest
from support.wechat_crypto import OFFICIAL, PlatformCipher, fields_of, xml_of
from support.wechat_platform import WechatPlatform

from bot.channels.wechat_mp.crypto import CallbackQuery, MpEnvelope
from config.errors import EdgeRejected
from config.settings import WechatSettings

# The official samples (WXBizMsgCrypt, Sample.cs / WXBizMsgCryptTest.java): URL verification and a message.
TOKEN, APP_ID, AES_KEY = OFFICIAL.token, OFFICIAL.receive_id, OFFICIAL.aes_key
MESSAGE = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
    "encrypt": (
        "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3"
        "W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ"
        "+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSr"
        "XJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m"
        "3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
    ),
}
XXE = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><MsgType>text</MsgType><FromUserName>u</FromUserName><Content>&xxe;</Content></xml>'


def settings(**extra: str) -> WechatSettings:
    values = {"token": TOKEN, "app_id": APP_ID, "app_secret": "secret", "aes_key": AES_KEY, **extra}
    return WechatSettings.model_validate(values)


def envelope_at(now: int) -> MpEnvelope:
    return MpEnvelope(settings(), clock=lambda: float(now))


def test_the_double_matches_the_official_verify_url_sample() -> None:
    cipher = PlatformCipher(TOKEN, AES_KEY, APP_ID)
    assert cipher.sign(OFFICIAL.timestamp, OFFICIAL.nonce, OFFICIAL.echostr) == OFFICIAL.msg_signature
    assert cipher.decrypt(OFFICIAL.echostr) == (OFFICIAL.echo_plain, APP_ID)
    # encrypting the same plaintext with the sample's random bytes gives the sample byte for byte
    again = cipher.encrypt(OFFICIAL.echo_plain, random16=cipher.random_prefix(OFFICIAL.echostr))
    assert again == OFFICIAL.echostr
    other = cipher.encrypt(OFFICIAL.echo_plain, random16=b"\x00" * 16)
    assert other != OFFICIAL.echostr and cipher.decrypt(other) == (OFFICIAL.echo_plain, APP_ID)


def test_the_double_matches_the_official_message_sample() -> None:
    crypto = PlatformCipher(TOKEN, AES_KEY, APP_ID)
    sig = crypto.sign(MESSAGE["timestamp"], MESSAGE["nonce"], MESSAGE["encrypt"])
    assert sig == MESSAGE["msg_signature"]
    plain, app_id = crypto.decrypt(MESSAGE["encrypt"])
    assert app_id == APP_ID
    fields = fields_of(plain)
    assert fields["Content"] == "hello" and fields["MsgId"] == "4561255354251345929"
    assert crypto.encrypt(plain, random16=crypto.random_prefix(MESSAGE["encrypt"])) == MESSAGE["encrypt"]


def test_the_envelope_opens_the_official_sample_in_safe_mode() -> None:
    body = xml_of({"ToUserName": APP_ID, "Encrypt": MESSAGE["encrypt"]}).encode()
    crypto = PlatformCipher(TOKEN, AES_KEY, APP_ID)
    query = CallbackQuery(
        signature=crypto.sign(MESSAGE["timestamp"], MESSAGE["nonce"]),
        timestamp=MESSAGE["timestamp"],
        nonce=MESSAGE["nonce"],
        encrypt_type="aes",
        msg_signature=MESSAGE["msg_signature"],
    )
    opened = envelope_at(int(MESSAGE["timestamp"]) + 3).open(query, body)
    assert opened.encrypted and opened.fields["Content"] == "hello"
    assert opened.fields["FromUserName"] == "mycreate"


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_each_mode_is_opened_and_the_reply_sealed_as_the_platform_reads_it(mode: str) -> None:
    now = 1_800_000_000
    platform = WechatPlatform("/wechat/mp", TOKEN, APP_ID, AES_KEY, clock=lambda: now)
    question = "企业标准需要公开吗？]]>"
    query, body = platform.request(platform.text("o_user", question, msg_id="77"), mode)  # type: ignore[arg-type]
    if mode == "safe":
        assert b"Content" not in body  # nothing readable on the wire
    envelope = envelope_at(now)
    opened = envelope.open(CallbackQuery.of(query), body)
    assert opened.fields["Content"] == question and opened.fields["MsgId"] == "77"
    assert opened.encrypted is (mode != "plain")
    reply = xml_of(
        {"ToUserName": "o_user", "FromUserName": platform.account, "MsgType": "text", "Content": "答"}
    )
    read = platform.reply_text(envelope.seal(reply, opened))
    assert read is not None and read["Content"] == "答" and read["ToUserName"] == "o_user"


def test_url_verification_echoes_only_a_signed_fresh_request() -> None:
    now = 1_800_000_000
    platform = WechatPlatform("/wechat/mp", TOKEN, APP_ID, AES_KEY, clock=lambda: now)
    envelope = envelope_at(now)
    assert envelope.verify_url(CallbackQuery.of(platform.verification("abc123"))) == "abc123"
    forged = {**platform.verification("abc123"), "signature": "0" * 40}
    stale = platform.verification("abc123", timestamp=now - 3600)
    for query, status in ((forged, 403), (stale, 403), ({**platform.verification(), "echostr": ""}, 400)):
        with pytest.raises(EdgeRejected) as refused:
            envelope.verify_url(CallbackQuery.of(query))
        assert refused.value.status == status


def test_forged_stale_and_unsafe_callbacks_are_refused() -> None:
    now = 1_800_000_000
    platform = WechatPlatform("/wechat/mp", TOKEN, APP_ID, AES_KEY, clock=lambda: now)
    envelope = envelope_at(now)
    xml = platform.text("o_user", "问题", msg_id="1")

    def refused(query: dict[str, str], body: bytes) -> int:
        with pytest.raises(EdgeRejected) as caught:
            envelope.open(CallbackQuery.of(query), body)
        status: int = caught.value.status
        return status

    query, body = platform.request(xml, "safe")
    assert refused({**query, "signature": "f" * 40}, body) == 403
    assert refused({**query, "msg_signature": "f" * 40}, body) == 403
    assert refused({**query, "encrypt_type": "sm4"}, body) == 400
    stale_query, stale_body = platform.request(xml, "safe", timestamp=now - 301)
    assert refused(stale_query, stale_body) == 403
    other = PlatformCipher(TOKEN, AES_KEY, "wx_another_account")
    encrypted = other.encrypt(xml)
    wrong_app = {**query, "msg_signature": other.sign(query["timestamp"], query["nonce"], encrypted)}
    assert refused(wrong_app, xml_of({"ToUserName": "gh", "Encrypt": encrypted}).encode()) == 403
    xxe = platform.crypto.encrypt(XXE)
    inner = {**query, "msg_signature": platform.crypto.sign(query["timestamp"], query["nonce"], xxe)}
    assert refused(inner, xml_of({"ToUserName": "gh", "Encrypt": xxe}).encode()) == 400
    plain_query, _ = platform.request(xml, "plain")
    assert refused(plain_query, XXE.encode()) == 400
    assert refused(plain_query, b"<xml><MsgType>text</MsgType>") == 400
    assert refused(plain_query, b"<xml><MsgType>text</MsgType></xml>") == 400  # no sender
    garbage = {**query, "msg_signature": platform.crypto.sign(query["timestamp"], query["nonce"], "bm90")}
    assert refused(garbage, xml_of({"ToUserName": "gh", "Encrypt": "bm90"}).encode()) == 400


def test_safe_mode_without_a_configured_key_is_refused() -> None:
    now = 1_800_000_000
    platform = WechatPlatform("/wechat/mp", TOKEN, APP_ID, AES_KEY, clock=lambda: now)
    envelope = MpEnvelope(settings(aes_key=""), clock=lambda: float(now))
    query, body = platform.request(platform.text("o_user", "问题"), "safe")
    with pytest.raises(EdgeRejected) as refused:
        envelope.open(CallbackQuery.of(query), body)
    assert refused.value.status == 400
