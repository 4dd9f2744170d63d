"""A protocol-level double of WeCom (企业微信) for the self-built app and 微信客服.

`WecomSealer` signs and encrypts callbacks the way WeCom does, with the shared `PlatformCipher` (receive
id = the CorpID).

`QyapiServer` is a local HTTP server answering like qyapi.weixin.qq.com: gettoken (counting fetches),
message/send, kf/sync_msg over a per-account message log with a real cursor and has_more paging, kf/send_msg
and kf/send_msg_on_event; any endpoint can be told to answer with an error code.

    with QyapiServer(CORP_ID, {APP_SECRET, KF_SECRET}) as qyapi:
        msgid, token = qyapi.customer_says("wk-1", "wm-alice", "企业标准需要公开吗？")
        query, body = sealer.seal(kf_event_xml(CORP_ID, token, "wk-1"))
        ...
        qyapi.wait_for(lambda calls: len(calls.kf_sends()) == 1)
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from support.http_double import LocalHttpServer, Request, Response, json_response
from support.waiting import settled
from support.wechat_crypto import PlatformCipher, xml_of


@dataclass(frozen=True)
class WecomSealer:
    """Builds callbacks for one app (or 微信客服) exactly as WeCom sends them."""

    token: str
    aes_key: str
    corp_id: str
    agent_id: int | None = None

    def cipher(self, receive_id: str | None = None) -> PlatformCipher:
        return PlatformCipher(self.token, self.aes_key, receive_id or self.corp_id)

    def verify_query(
        self, echo: str, *, timestamp: str | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        """The query of a URL verification (GET) whose echostr decrypts to `echo`."""
        stamp = timestamp or str(int(time.time()))
        once = nonce or secrets.token_hex(5)
        cipher = self.cipher()
        echostr = cipher.encrypt(echo)
        return {
            "msg_signature": cipher.sign(stamp, once, echostr),
            "timestamp": stamp,
            "nonce": once,
            "echostr": echostr,
        }

    def seal(
        self,
        inner_xml: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        receive_id: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """(query, body) of a message callback (POST) carrying `inner_xml`."""
        stamp = timestamp or str(int(time.time()))
        once = nonce or secrets.token_hex(5)
        cipher = self.cipher(receive_id)
        encrypted = cipher.encrypt(inner_xml)
        agent = f"<AgentID><![CDATA[{self.agent_id}]]></AgentID>" if self.agent_id is not None else ""
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>{agent}</xml>"
        )
        query = {"msg_signature": cipher.sign(stamp, once, encrypted), "timestamp": stamp, "nonce": once}
        return query, body.encode("utf-8")


# --- callback payloads ------------------------------------------------------------------------------


def _app_callback(corp_id: str, user: str, msg_type: str, agent_id: int, **fields: str | int) -> str:
    return xml_of(
        {
            "ToUserName": corp_id,
            "FromUserName": user,
            "CreateTime": int(time.time()),
            "MsgType": msg_type,
            **fields,
            "AgentID": agent_id,
        }
    )


def text_message(corp_id: str, user: str, content: str, msg_id: int, agent_id: int) -> str:
    return _app_callback(corp_id, user, "text", agent_id, Content=content, MsgId=msg_id)


def image_message(corp_id: str, user: str, msg_id: int, agent_id: int) -> str:
    picture = {"PicUrl": "https://example.org/a.png", "MediaId": "media-1"}
    return _app_callback(corp_id, user, "image", agent_id, **picture, MsgId=msg_id)


def app_event(corp_id: str, user: str, event: str, agent_id: int) -> str:
    return _app_callback(corp_id, user, "event", agent_id, Event=event)


def kf_event_xml(corp_id: str, token: str, open_kfid: str) -> str:
    return xml_of(
        {
            "ToUserName": corp_id,
            "CreateTime": int(time.time()),
            "MsgType": "event",
            "Event": "kf_msg_or_event",
            "Token": token,
            "OpenKfId": open_kfid,
        }
    )


# --- the API server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One API request the server received."""

    path: str
    query: dict[str, str]
    body: dict[str, Any]
    answer: dict[str, Any]

    @property
    def accepted(self) -> bool:
        return self.answer.get("errcode") == 0


@dataclass(frozen=True)
class Calls:
    """The requests so far, with views for the common questions."""

    all: tuple[Call, ...]

    def to(self, path: str) -> list[Call]:
        return [call for call in self.all if call.path == f"/cgi-bin/{path}"]

    def app_texts(self) -> list[tuple[str, str]]:
        """(touser, content) of every message/send the server accepted."""
        return [(c.body["touser"], c.body["text"]["content"]) for c in self.to("message/send") if c.accepted]

    def kf_sends(self) -> list[tuple[str, str, str]]:
        """(open_kfid, touser, content) of every kf/send_msg the server accepted."""
        return [
            (c.body["open_kfid"], c.body["touser"], c.body["text"]["content"])
            for c in self.to("kf/send_msg")
            if c.accepted
        ]


@dataclass
class _State:
    corp_id: str
    secrets: set[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[Call] = field(default_factory=list)
    token_fetches: int = 0
    tokens: set[str] = field(default_factory=set)
    failures: dict[str, deque[tuple[int, str] | None]] = field(default_factory=lambda: defaultdict(deque))
    visible_users: set[str] | None = None
    all_invalid_is_error: bool = True
    kf_log: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    callback_tokens: set[str] = field(default_factory=set)
    welcome_codes: set[str] = field(default_factory=set)
    page_size: int = 1000
    sequence: int = 0


def _cursor(open_kfid: str, index: int) -> str:
    return base64.urlsafe_b64encode(f"{open_kfid}#{index}".encode()).decode("ascii").rstrip("=")


def _position(open_kfid: str, cursor: str) -> int | None:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kfid, index = raw.rsplit("#", 1)
        return int(index) if kfid == open_kfid else None
    except ValueError:
        return None


class QyapiServer(LocalHttpServer):
    """qyapi.weixin.qq.com, played on 127.0.0.1."""

    def __init__(self, corp_id: str, accepted_secrets: Iterable[str]) -> None:
        super().__init__("fake-qyapi", not_found=self._serve)
        self._state = _State(corp_id, set(accepted_secrets))

    def _serve(self, request: Request) -> Response:
        try:
            body = json.loads(request.body.decode("utf-8")) if request.body else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            return json_response({"errcode": 47001, "errmsg": "data format error"})
        return json_response(self._answer(request.path, request.query, body))

    # --- what tests set up ---

    def fail(self, path: str, errcode: int, errmsg: str = "", *, times: int = 1, after: int = 0) -> None:
        """Of the next calls to /cgi-bin/<path>, `after` go through, then `times` answer with this error."""
        with self._state.lock:
            slots = self._state.failures[f"/cgi-bin/{path}"]
            slots.extend([None] * after + [(errcode, errmsg or f"error {errcode}")] * times)

    def revoke_tokens(self) -> None:
        """Every access token issued so far stops working (as when someone else fetched a new one)."""
        with self._state.lock:
            self._state.tokens.clear()

    def expire_callback_tokens(self) -> None:
        with self._state.lock:
            self._state.callback_tokens.clear()

    def limit_visibility(self, users: Iterable[str], *, all_invalid_is_error: bool = True) -> None:
        """Only these members are in the app's visible range. Sending to none of them answers 81013, or
        (as WeCom also does) errcode 0 with every recipient listed in `invaliduser`."""
        with self._state.lock:
            self._state.visible_users = set(users)
            self._state.all_invalid_is_error = all_invalid_is_error

    def page_size(self, size: int) -> None:
        """sync_msg returns at most this many messages per page, whatever the limit asked."""
        with self._state.lock:
            self._state.page_size = size

    def customer_says(
        self, open_kfid: str, external_userid: str, text: str, *, send_time: int | None = None
    ) -> tuple[str, str]:
        """A WeChat customer writes to a kf account: (the message's msgid, the callback Token)."""
        with self._state.lock:
            message = _kf_message(open_kfid, external_userid, 3, "text", text={"content": text})
            return self._kf_append(open_kfid, message, send_time=send_time), self._callback_token()

    def customer_sends_picture(self, open_kfid: str, external_userid: str) -> tuple[str, str]:
        with self._state.lock:
            message = _kf_message(open_kfid, external_userid, 3, "image", image={"media_id": "media-1"})
            return self._kf_append(open_kfid, message), self._callback_token()

    def customer_enters(self, open_kfid: str, external_userid: str) -> tuple[str, str]:
        """A customer opens the chat: an enter_session event with a welcome code; (the code, the Token)."""
        with self._state.lock:
            code = self._next_id("welcome")
            self._state.welcome_codes.add(code)
            event = {
                "event_type": "enter_session",
                "open_kfid": open_kfid,
                "external_userid": external_userid,
                "scene": "",
                "welcome_code": code,
            }
            self._kf_append(open_kfid, {"origin": 4, "msgtype": "event", "event": event}, prefix="event")
            return code, self._callback_token()

    def servicer_says(self, open_kfid: str, external_userid: str, text: str) -> None:
        """A servicer answers from the WeCom app (origin 5): not the bot's to answer."""
        with self._state.lock:
            message = _kf_message(open_kfid, external_userid, 5, "text", text={"content": text})
            self._kf_append(open_kfid, {**message, "servicer_userid": "zhangsan"})

    # --- what tests read ---

    @property
    def calls(self) -> Calls:
        with self._state.lock:
            return Calls(tuple(self._state.calls))

    @property
    def token_fetches(self) -> int:
        with self._state.lock:
            return self._state.token_fetches

    def cursor_at_end(self, open_kfid: str) -> str:
        with self._state.lock:
            return _cursor(open_kfid, len(self._state.kf_log[open_kfid]))

    def wait_for(self, done: Callable[[Calls], bool], timeout_s: float = 20.0) -> Calls:
        """The calls once `done` holds for them (or when time is up, for the caller to assert on)."""
        return settled(lambda: self.calls, done, timeout_s)

    # --- the platform ---

    def _next_id(self, prefix: str) -> str:
        self._state.sequence += 1
        return f"{prefix}{self._state.sequence:06d}{secrets.token_hex(3)}"

    def _kf_append(
        self, open_kfid: str, message: dict[str, Any], *, prefix: str = "msg", send_time: int | None = None
    ) -> str:
        msgid = self._next_id(prefix)
        entry = {"msgid": msgid, "send_time": send_time or int(time.time()), **message}
        self._state.kf_log[open_kfid].append(entry)
        return msgid

    def _callback_token(self) -> str:
        token = "ENC" + secrets.token_urlsafe(24)
        self._state.callback_tokens.add(token)
        return token

    def _answer(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        with self._state.lock:
            answer = self._route(path, query, body)
            self._state.calls.append(Call(path, query, body, answer))
            return answer

    def _route(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        state = self._state
        if path == "/cgi-bin/gettoken":
            return self._gettoken(query)
        if query.get("access_token") not in state.tokens:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if failure := self._scripted(path):
            return failure
        if path == "/cgi-bin/message/send":
            return self._message_send(body)
        if path == "/cgi-bin/kf/sync_msg":
            return self._sync(body)
        if path == "/cgi-bin/kf/send_msg":
            return {"errcode": 0, "errmsg": "ok", "msgid": self._next_id("sent")}
        if path == "/cgi-bin/kf/send_msg_on_event":
            return self._on_event(body)
        return {"errcode": 404, "errmsg": f"unknown api {path}"}

    def _scripted(self, path: str) -> dict[str, Any] | None:
        slots = self._state.failures[path]
        if not slots:
            return None
        slot = slots.popleft()
        return None if slot is None else {"errcode": slot[0], "errmsg": slot[1]}

    def _gettoken(self, query: dict[str, str]) -> dict[str, Any]:
        state = self._state
        if query.get("corpid") != state.corp_id:
            return {"errcode": 40013, "errmsg": "invalid corpid"}
        if query.get("corpsecret") not in state.secrets:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        if failure := self._scripted("/cgi-bin/gettoken"):
            return failure
        state.token_fetches += 1
        token = secrets.token_urlsafe(32)
        state.tokens.add(token)
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def _message_send(self, body: dict[str, Any]) -> dict[str, Any]:
        content = str((body.get("text") or {}).get("content") or "")
        if body.get("msgtype") != "text" or not content:
            return {"errcode": 44004, "errmsg": "empty content"}
        if len(content.encode("utf-8")) > 2048:
            return {"errcode": 45002, "errmsg": "content size out of limit"}
        visible = self._state.visible_users
        users = [u for u in str(body.get("touser") or "").split("|") if u]
        invalid = [u for u in users if visible is not None and u not in visible]
        if users and len(invalid) == len(users) and self._state.all_invalid_is_error:
            return {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
        return {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": "|".join(invalid),
            "invalidparty": "",
            "invalidtag": "",
            "unlicenseduser": "",
            "msgid": self._next_id("app"),
        }

    def _sync(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self._state
        open_kfid = str(body.get("open_kfid") or "")
        token = body.get("token")
        if token is not None and token not in state.callback_tokens:
            return {"errcode": 95007, "errmsg": "invalid msg token"}
        start = _position(open_kfid, str(body.get("cursor") or ""))
        if start is None:
            return {"errcode": 40058, "errmsg": "invalid cursor"}
        limit = max(1, min(int(body.get("limit") or 1000), 1000, state.page_size))
        log = state.kf_log[open_kfid]
        page = log[start : start + limit]
        end = start + len(page)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "next_cursor": _cursor(open_kfid, end),
            "has_more": 1 if end < len(log) else 0,
            "msg_list": [dict(message) for message in page],
        }

    def _on_event(self, body: dict[str, Any]) -> dict[str, Any]:
        code = str(body.get("code") or "")
        if code not in self._state.welcome_codes:
            return {"errcode": 40058, "errmsg": "invalid code"}
        self._state.welcome_codes.discard(code)
        return {"errcode": 0, "errmsg": "ok", "msgid": self._next_id("welcome")}


def _kf_message(
    open_kfid: str, external_userid: str, origin: int, msgtype: str, **content: Any
) -> dict[str, Any]:
    return {
        "open_kfid": open_kfid,
        "external_userid": external_userid,
        "origin": origin,
        "msgtype": msgtype,
        **content,
    }
