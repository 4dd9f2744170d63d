"""The edge every platform callback passes: body limits over real HTTP, constant-time signatures, the
freshness window, the shared replay guard, and XML without entity expansion."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from bot.channels._edge import (
    ReplayGuard,
    check_fresh,
    check_signature,
    parse_json,
    parse_xml,
    read_body,
    same,
    sha1_signature,
)
from bot.store import Store
from bot.web.errors import install_error_handlers
from config.errors import EdgeRejected

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Content>&xxe;</Content></xml>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><Content>&lol3;</Content></xml>"""


def test_the_signature_is_sha1_of_the_sorted_parts_compared_in_constant_time() -> None:
    expected = hashlib.sha1(b"".join(sorted([b"token", b"1409659589", b"263014780"]))).hexdigest()
    assert sha1_signature("token", "1409659589", "263014780") == expected
    check_signature(expected.upper(), "263014780", "token", "1409659589")
    for wrong in (None, "", expected[:-1] + "0", expected + "0"):
        with pytest.raises(EdgeRejected) as refused:
            check_signature(wrong, "token", "1409659589", "263014780")
        assert refused.value.status == 403
    assert not same("签名", expected)


@pytest.mark.parametrize("stamp", [None, "", "abc", "-5", "1700000000.5"])
def test_malformed_timestamps_are_refused(stamp: str | None) -> None:
    with pytest.raises(EdgeRejected):
        check_fresh(stamp, 300, now=1_700_000_000)


def test_only_timestamps_inside_the_window_pass() -> None:
    assert check_fresh("1700000000", 300, now=1_700_000_300) == 1_700_000_000
    assert check_fresh("1700000300", 300, now=1_700_000_000) == 1_700_000_300
    for stamp in ("1699999699", "1700000301"):
        with pytest.raises(EdgeRejected, match="stale"):
            check_fresh(stamp, 300, now=1_700_000_000)


def test_xml_is_read_without_dtds_or_entities() -> None:
    fields = parse_xml(b"<xml><MsgId>1</MsgId><Content><![CDATA[GB/T 19001 <b>]]></Content></xml>")
    assert fields == {"MsgId": "1", "Content": "GB/T 19001 <b>"}
    for hostile in (XXE, LAUGHS, b"<xml><open></xml>", b"", b"   ", b"\xff\xfe<"):
        with pytest.raises(EdgeRejected) as refused:
            parse_xml(hostile)
        assert refused.value.status == 400


def test_xml_must_be_a_flat_platform_message() -> None:
    scan = (
        b"<xml><MsgType>event</MsgType><Event>scancode_push</Event>"
        b"<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>"
    )
    assert parse_xml(scan)["Event"] == "scancode_push"  # event details may nest
    for odd in (
        b"<message><MsgType>text</MsgType></message>",
        b"<xml><MsgType>text</MsgType><MsgType>event</MsgType></xml>",
        b"<xml><MsgType>event</MsgType><Event><Inner>subscribe</Inner></Event></xml>",
    ):
        with pytest.raises(EdgeRejected) as refused:
            parse_xml(odd)
        assert refused.value.status == 400


def test_json_must_be_an_object() -> None:
    assert parse_json(b'{"encrypt": "abc"}') == {"encrypt": "abc"}
    for bad in (b"[1]", b"{", b"\xff", b'"text"', b"[" * 100_000, b'{"a":' * 100_000):
        with pytest.raises(EdgeRejected):
            parse_json(bad)


def test_the_replay_guard_lets_the_platform_repeat_but_not_a_forged_body(store: Store) -> None:
    now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    guard = ReplayGuard(store.channel_state, 300, clock=lambda: now)
    guard.check("wechat", "1700000000", "n-1", b"<xml>a</xml>")
    guard.check("wechat", "1700000000", "n-1", b"<xml>a</xml>")
    with pytest.raises(EdgeRejected, match="replayed"):
        guard.check("wechat", "1700000000", "n-1", b"<xml>forged</xml>")
    for nonce in (None, "", "x" * 129):
        with pytest.raises(EdgeRejected, match="bad nonce"):
            guard.check("wechat", "1700000000", nonce, b"<xml>a</xml>")
    later = ReplayGuard(store.channel_state, 300, clock=lambda: now + timedelta(minutes=11))
    later.check("wechat", "1700000000", "n-1", b"<xml>forged</xml>")  # long expired: freshness refuses it


def body_app(limit: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/callback")
    async def callback(request: Request) -> dict[str, int]:
        return {"bytes": len(await read_body(request, limit))}

    return app


def test_bodies_over_the_limit_get_413_declared_or_streamed() -> None:
    with TestClient(body_app(1024)) as client:
        assert client.post("/callback", content=b"x" * 1024).json() == {"bytes": 1024}
        big = client.post("/callback", content=b"x" * 1025)
        assert big.status_code == 413 and big.text == "payload too large"

        def chunks() -> object:
            for _ in range(10):
                yield b"y" * 200  # no Content-Length: chunked

        streamed = client.post("/callback", content=chunks())  # type: ignore[arg-type]
        assert streamed.status_code == 413
        lying = client.post("/callback", content=b"x", headers={"content-length": "abc"})
        assert lying.status_code in (400, 413)
