"""The WeChat Official Account platform, played for tests at protocol level.

- `WechatPlatform`: sends callbacks as the platform does (URL verification, messages and events in
  plaintext, compatible or safe mode, sealed with the shared `PlatformCipher`), reads replies as the
  platform does (a reply it cannot read is what shows the user "该公众号暂时无法提供服务"), and delivers a
  message up to three times when it hears nothing in time.
- `WechatApiServer`: a local HTTP server playing api.weixin.qq.com: `cgi-bin/token` (counting fetches; a
  new token invalidates the previous one) and `cgi-bin/message/custom/send` (recording what reached each
  user), able to answer with the platform's error codes.
"""

from __future__ import annotations

import secrets
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from support.http_double import LocalHttpServer, Request, Response, json_response
from support.waiting import settled
from support.wechat_crypto import PlatformCipher, fields_of, xml_of

Mode = Literal["plain", "compatible", "safe"]
UNAVAILABLE = "该公众号暂时无法提供服务"


@dataclass(frozen=True)
class Attempt:
    """One delivery of a message and what came back."""

    number: int
    status: int | None
    body: str
    elapsed_s: float
    heard: bool  # the platform got the response in time (and the network did not lose it)
    reply: dict[str, str] | None  # the passive reply's fields, None for `success`
    unreadable: str | None = None  # why the platform could not use the response


@dataclass
class Delivered:
    """A message delivered up to three times; `answer` is the passive text the user saw, if any."""

    attempts: list[Attempt] = field(default_factory=list)

    @property
    def heard(self) -> Attempt | None:
        return next((a for a in self.attempts if a.heard), None)

    @property
    def answer(self) -> str | None:
        """The passive reply the user saw; fails when the platform heard a response it cannot use."""
        heard = self.heard
        if heard is None:
            return None
        assert heard.unreadable is None, heard.unreadable
        return heard.reply.get("Content") if heard.reply is not None else None


class WechatPlatform:
    """Sends callbacks to `url` (the app's /wechat/mp) the way the platform does."""

    def __init__(
        self,
        url: str,
        token: str,
        app_id: str,
        aes_key: str,
        *,
        account: str = "gh_0123456789ab",
        clock: Any = time.time,
    ) -> None:
        self.url = url
        self.account = account
        self.crypto = PlatformCipher(token, aes_key, app_id)
        self._clock = clock
        self._msg_ids = iter(range(24_000_000_000_000_000, 24_000_000_000_000_000 + 10**9))
        self._lock = threading.Lock()

    # --- documents ----------------------------------------------------------------------------------

    def new_msg_id(self) -> str:
        with self._lock:
            return str(next(self._msg_ids))

    def text(self, user: str, content: str, msg_id: str | None = None, create_time: int | None = None) -> str:
        return xml_of(
            {
                "ToUserName": self.account,
                "FromUserName": user,
                "CreateTime": create_time or int(self._clock()),
                "MsgType": "text",
                "Content": content,
                "MsgId": int(msg_id or self.new_msg_id()),
            }
        )

    def event(self, user: str, event: str, key: str | None = None, create_time: int | None = None) -> str:
        fields: dict[str, str | int] = {
            "ToUserName": self.account,
            "FromUserName": user,
            "CreateTime": create_time or int(self._clock()),
            "MsgType": "event",
            "Event": event,
        }
        if key is not None:
            fields["EventKey"] = key
        return xml_of(fields)

    def media(self, user: str, kind: str = "image") -> str:
        extra: dict[str, str | int] = {"PicUrl": "http://mmbiz.qpic.cn/x.jpg"} if kind == "image" else {}
        return xml_of(
            {
                "ToUserName": self.account,
                "FromUserName": user,
                "CreateTime": int(self._clock()),
                "MsgType": kind,
                "MediaId": "media_id_123",
                **extra,
                "MsgId": int(self.new_msg_id()),
            }
        )

    # --- requests -----------------------------------------------------------------------------------

    def verification(self, echostr: str = "echo-5731", timestamp: int | None = None) -> dict[str, str]:
        stamp, nonce = str(timestamp or int(self._clock())), str(secrets.randbelow(10**9))
        return {
            "signature": self.crypto.sign(stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": echostr,
        }

    def request(
        self, xml: str, mode: Mode = "plain", *, timestamp: int | None = None, nonce: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The query string and body of a callback POST carrying `xml`."""
        stamp = str(timestamp if timestamp is not None else int(self._clock()))
        nonce = nonce or str(secrets.randbelow(10**9))
        user = fields_of(xml)["FromUserName"]
        query = {
            "signature": self.crypto.sign(stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "openid": user,
        }
        if mode == "plain":
            return query, xml.encode("utf-8")
        encrypted = self.crypto.encrypt(xml)
        query.update(encrypt_type="aes", msg_signature=self.crypto.sign(stamp, nonce, encrypted))
        if mode == "compatible":
            body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        else:
            body = xml_of({"ToUserName": self.account, "Encrypt": encrypted})
        return query, body.encode("utf-8")

    def post(self, client: Any, xml: str, mode: Mode = "plain", **kwargs: Any) -> httpx.Response:
        """One delivery through `client` (a TestClient or an httpx.Client on the server)."""
        query, body = self.request(xml, mode, **kwargs)
        response: httpx.Response = client.post(
            self.url, params=query, content=body, headers={"Content-Type": "text/xml"}
        )
        return response

    def reply(self, response: Any) -> dict[str, str] | None:
        """What the platform makes of a response: None for `success` or empty, the passive reply's fields
        (decrypted and its signature checked when sealed); anything else is what shows the user
        "该公众号暂时无法提供服务"."""
        assert response.status_code == 200, f"{UNAVAILABLE}: HTTP {response.status_code} {response.text}"
        return self.reply_text(response.text)

    def reply_text(self, text: str) -> dict[str, str] | None:
        if text.strip() in ("", "success"):
            return None
        try:
            fields = fields_of(text)
        except ElementTree.ParseError:
            raise AssertionError(f"{UNAVAILABLE}: {text!r}") from None
        if "Encrypt" in fields:
            expected = self.crypto.sign(fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
            assert fields["MsgSignature"] == expected, f"{UNAVAILABLE}: reply signature"
            plain, app_id = self.crypto.decrypt(fields["Encrypt"])
            assert app_id == self.crypto.receive_id, f"{UNAVAILABLE}: reply for AppID {app_id}"
            fields = fields_of(plain)
        assert fields.get("MsgType") == "text" and fields.get("Content"), f"{UNAVAILABLE}: {fields}"
        assert fields["FromUserName"] == self.account, fields
        return fields

    def deliver(
        self,
        xml: str,
        mode: Mode = "plain",
        *,
        wait_s: float = 5.0,
        deliveries: int = 3,
        lost: int = 0,
        resign: bool = False,
    ) -> Delivered:
        """Deliver a message as the platform does: wait `wait_s` for each delivery, and when nothing was
        heard in time deliver it again (same MsgId), `deliveries` times in all. The responses to the
        first `lost` deliveries are lost on the way back (a slow network), whatever they say. With
        `resign`, each delivery is signed (and encrypted) afresh; otherwise it is sent again as it was."""
        results: dict[int, Attempt] = {}
        heard = threading.Event()
        threads = []
        first = self.request(xml, mode)
        for number in range(deliveries):
            query, body = self.request(xml, mode) if resign and number else first
            thread = threading.Thread(
                target=self._attempt, args=(number, query, body, wait_s, number < lost, results, heard)
            )
            thread.start()
            threads.append(thread)
            if heard.wait(wait_s):
                break
        for thread in threads:
            thread.join(60)
        return Delivered([results[n] for n in sorted(results)])

    def _attempt(
        self,
        number: int,
        query: dict[str, str],
        body: bytes,
        wait_s: float,
        lost: bool,
        results: dict[int, Attempt],
        heard: threading.Event,
    ) -> None:
        started = time.monotonic()
        try:
            response = httpx.post(
                self.url, params=query, content=body, headers={"Content-Type": "text/xml"}, timeout=60
            )
            status, text = response.status_code, response.text
        except httpx.HTTPError as exc:
            status, text = None, f"{type(exc).__name__}: {exc}"
        elapsed = time.monotonic() - started
        in_time = status is not None and elapsed <= wait_s and not lost and not heard.is_set()
        reply, unreadable = None, None
        try:
            if status != 200:
                raise AssertionError(f"{UNAVAILABLE}: HTTP {status} {text}")
            reply = self.reply_text(text)
        except AssertionError as exc:
            unreadable = str(exc)
        results[number] = Attempt(number + 1, status, text, elapsed, in_time, reply, unreadable)
        if in_time:
            heard.set()


# --- api.weixin.qq.com -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One customer-service message the API accepted."""

    user: str
    content: str
    token: str


@dataclass
class _ApiState:
    tokens: list[str] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    refusals: deque[int] = field(default_factory=deque)
    calls: list[str] = field(default_factory=list)
    token_delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class WechatApiServer(LocalHttpServer):
    """api.weixin.qq.com on 127.0.0.1: `base_url` is what [wechat].api_base_url takes."""

    def __init__(self, app_id: str, secret: str) -> None:
        super().__init__(
            "fake-wechat-api", not_found=lambda _: json_response({"errcode": 404, "errmsg": "not found"}, 404)
        )
        self.app_id = app_id
        self.secret = secret
        self._state = _ApiState()
        self.route("GET", "/cgi-bin/token", lambda request: json_response(self._token(request.query)))
        self.route("POST", "/cgi-bin/message/custom/send", self._custom_send_request)

    @property
    def fetches(self) -> int:
        with self._state.lock:
            return len(self._state.tokens)

    @property
    def sent(self) -> list[Sent]:
        with self._state.lock:
            return list(self._state.sent)

    @property
    def calls(self) -> list[str]:
        with self._state.lock:
            return list(self._state.calls)

    def sent_to(self, user: str) -> list[str]:
        return [s.content for s in self.sent if s.user == user]

    def refuse(self, *errcodes: int) -> None:
        """Answer the next custom-send calls with these error codes, one each."""
        with self._state.lock:
            self._state.refusals.extend(errcodes)

    def slow_tokens(self, delay_s: float) -> None:
        with self._state.lock:
            self._state.token_delay_s = delay_s

    def wait_for_sent(self, count: int, timeout_s: float = 30.0) -> list[Sent]:
        return settled(lambda: self.sent, lambda sent: len(sent) >= count, timeout_s)

    def _custom_send_request(self, request: Request) -> Response:
        return json_response(self._custom_send(request.query.get("access_token", ""), request.json()))

    def _token(self, query: dict[str, str]) -> dict[str, Any]:
        with self._state.lock:
            self._state.calls.append("token")
            delay = self._state.token_delay_s
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != self.app_id or query.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        self.pause(delay)
        with self._state.lock:
            token = f"ACCESS_TOKEN_{len(self._state.tokens) + 1}_{secrets.token_hex(8)}"
            self._state.tokens.append(token)
        return {"access_token": token, "expires_in": 7200}

    def _custom_send(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._state.lock:
            self._state.calls.append("custom/send")
            if not self._state.tokens or token != self._state.tokens[-1]:
                return {
                    "errcode": 40001,
                    "errmsg": "invalid credential, access_token is invalid or not latest",
                }
            if self._state.refusals:
                code = self._state.refusals.popleft()
                return {"errcode": code, "errmsg": _ERRMSG.get(code, "refused")}
            if body.get("msgtype") != "text" or not body.get("touser"):
                return {"errcode": 40008, "errmsg": "invalid message type"}
            content = body["text"]["content"]
            if len(content.encode("utf-8")) > 2048:
                return {"errcode": 45002, "errmsg": "content size out of limit"}
            self._state.sent.append(Sent(body["touser"], content, token))
        return {"errcode": 0, "errmsg": "ok"}


_ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    42001: "access_token expired",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    -1: "system error",
}
