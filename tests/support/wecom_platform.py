"""The WeCom platform's side of the 智能机器人 (AI bot) callbacks, played for tests.

`WecomBotPlatform` calls a bot's callback URL the way WeCom does, sealing with the shared
`PlatformCipher` (the AI bot's receive id is empty): the GET URL check with an encrypted echostr, and
POSTs of `{"encrypt": …}` with msg_signature, timestamp and nonce, then opens the bot's encrypted JSON
reply (checking its signature). Builders make real-shaped callbacks: text messages in groups and single
chats, stream refreshes, events. The response_url of each message is the platform's
(https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=…); point the bot's api_base_url at a
RecordingServer to receive what is posted to it."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from support.wechat_crypto import PlatformCipher

PLATFORM_ORIGIN = "https://qyapi.weixin.qq.com"
RESPONSE_PATH = "/cgi-bin/aibot/response"


class HttpClient(Protocol):
    """What the platform needs of a client: httpx.Client or Starlette's TestClient."""

    def get(self, url: str, **kwargs: Any) -> Any: ...

    def post(self, url: str, **kwargs: Any) -> Any: ...


@dataclass
class WecomBotPlatform:
    """WeCom's servers calling one bot's callback URL."""

    client: HttpClient
    token: str
    aes_key: str
    route: str = "/wecom/bot"
    aibotid: str = "AIBOTID-stdbot"
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.cipher = PlatformCipher(self.token, self.aes_key)

    # --- requests ------------------------------------------------------------------------------------

    def verify_url(self, echo_plain: str = "4431685372198472346", **override: str) -> Any:
        """The GET WeCom sends when the admin saves the callback URL."""
        echostr = self.cipher.encrypt(echo_plain)
        timestamp, nonce = str(int(self.clock())), secrets.token_hex(5)
        params = {
            "msg_signature": self.cipher.sign(timestamp, nonce, echostr),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        return self.client.get(self.route, params={**params, **override})

    def post(
        self,
        payload: dict[str, Any],
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        signature: str | None = None,
        body: bytes | None = None,
    ) -> Any:
        """One callback, signed and encrypted; `signature` or `body` replace the real ones."""
        encrypted = self.cipher.encrypt(json.dumps(payload, ensure_ascii=False))
        timestamp = timestamp or str(int(self.clock()))
        nonce = nonce or secrets.token_hex(5)
        params = {
            "msg_signature": signature or self.cipher.sign(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        content = body if body is not None else json.dumps({"encrypt": encrypted}).encode()
        return self.client.post(
            self.route, params=params, content=content, headers={"Content-Type": "application/json"}
        )

    def open_reply(self, response: Any) -> dict[str, Any] | None:
        """The bot's decrypted reply (None for an empty one), after checking its signature."""
        assert response.status_code == 200, (response.status_code, response.text)
        if not response.content:
            return None
        envelope = json.loads(response.content)
        assert set(envelope) == {"encrypt", "msgsignature", "timestamp", "nonce"}, envelope
        expected = self.cipher.sign(str(envelope["timestamp"]), envelope["nonce"], envelope["encrypt"])
        assert envelope["msgsignature"] == expected, "reply signature does not match"
        message, receive_id = self.cipher.decrypt(envelope["encrypt"])
        assert receive_id == ""
        reply: dict[str, Any] = json.loads(message)
        return reply

    def send(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Post a callback and open the reply."""
        return self.open_reply(self.post(payload))

    def refresh_until_finished(
        self, first: dict[str, Any], payload: dict[str, Any], timeout_s: float = 30.0, every_s: float = 0.2
    ) -> list[dict[str, Any]]:
        """Stream refreshes (as WeCom sends them) after the reply `first`, until one says finish; every
        reply, `first` included."""
        replies = [first]
        deadline = time.monotonic() + timeout_s
        while not replies[-1]["stream"]["finish"]:
            assert time.monotonic() < deadline, f"stream not finished: {replies[-1]}"
            time.sleep(every_s)
            reply = self.send(self.refresh_of(payload, replies[-1]["stream"]["id"]))
            assert reply is not None and reply["msgtype"] == "stream"
            assert reply["stream"]["id"] == first["stream"]["id"]
            replies.append(reply)
        return replies

    # --- callbacks -----------------------------------------------------------------------------------

    def text(
        self,
        content: str,
        *,
        user: str = "zhangsan",
        chat: str | None = None,
        msgid: str | None = None,
        response_code: str | None = None,
    ) -> dict[str, Any]:
        """A text message: in group `chat` (the content carries the @-mention) or a single chat."""
        return {
            **self._header("text", user, chat, msgid),
            "response_url": self.response_url(response_code or secrets.token_hex(8)),
            "text": {"content": content},
        }

    def image(self, *, user: str = "zhangsan") -> dict[str, Any]:
        return {
            **self._header("image", user, None, None),
            "response_url": self.response_url(secrets.token_hex(8)),
            "image": {"url": "https://example.invalid/encrypted-image"},
        }

    def refresh_of(self, message: dict[str, Any], stream_id: str) -> dict[str, Any]:
        """The refresh WeCom sends for a streamed reply to `message` (its own msgid, no response_url)."""
        chat = message.get("chatid") if message.get("chattype") == "group" else None
        return {
            **self._header("stream", message["from"]["userid"], chat, None),
            "stream": {"id": stream_id},
        }

    def event(self, eventtype: str, *, user: str = "zhangsan") -> dict[str, Any]:
        return {
            **self._header("event", user, None, None),
            "create_time": int(self.clock()),
            "event": {"eventtype": eventtype},
        }

    @staticmethod
    def response_url(code: str) -> str:
        return f"{PLATFORM_ORIGIN}{RESPONSE_PATH}?response_code={code}"

    def _header(self, msgtype: str, user: str, chat: str | None, msgid: str | None) -> dict[str, Any]:
        header: dict[str, Any] = {
            "msgid": msgid or base64.b64encode(os.urandom(18)).decode(),
            "aibotid": self.aibotid,
            "chattype": "group" if chat else "single",
            "from": {"userid": user},
            "msgtype": msgtype,
        }
        if chat:
            header["chatid"] = chat
        return header
