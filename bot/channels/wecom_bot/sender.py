"""Replies the WeCom 智能机器人 cannot give inside a callback (staff replies, answers that missed their
stream) go to the chat through a `response_url`: a URL each message callback carries, valid for one
hour and for one call. The latest one of each conversation (a user in a chat) is kept in the store for
every worker; sending takes it out first, so two replies never spend the same URL."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from bot.channels._text import plain_text
from bot.channels._tokens import KeyedLock
from bot.channels.wecom_bot.messages import fit_content, markdown_message
from bot.channels.wecom_bot.streams import PREFIX
from bot.messages import DeliveryResult, Reply
from bot.store import Store

log = logging.getLogger(__name__)

CHANNEL = "wecom_bot"
PLATFORM_ORIGIN = "https://qyapi.weixin.qq.com"
RESPONSE_URL_TTL_S = 3600.0
RESPONSE_URL_MARGIN_S = 60.0  # stop using a URL a minute before the platform does


@dataclass(frozen=True)
class ResponseUrl:
    url: str
    msgid: str
    received: float


class ResponseUrls:
    """The latest unused response_url of each conversation (chat and user), in the store."""

    def __init__(self, store: Store, locks: KeyedLock, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.locks = locks
        self._clock = clock

    def remember(self, chat_id: str, user_id: str, url: str, msgid: str) -> None:
        received = self._clock()
        value = json.dumps({"url": url, "msgid": msgid, "received": received})
        expires = datetime.fromtimestamp(received + RESPONSE_URL_TTL_S - RESPONSE_URL_MARGIN_S, UTC)
        key = _key(chat_id, user_id)
        with self.locks.hold(_lock(key)):
            self.store.channel_state.put(key, value, expires)

    def take(self, chat_id: str, user_id: str) -> ResponseUrl | None:
        """The conversation's usable URL, no longer available to anyone else."""
        key = _key(chat_id, user_id)
        with self.locks.hold(_lock(key)):
            value = self.store.channel_state.get(key)
            if value is None:
                return None
            self.store.channel_state.delete(key)
        try:
            data = json.loads(value)
            return ResponseUrl(
                url=str(data["url"]), msgid=str(data.get("msgid", "")), received=float(data["received"])
            )
        except (ValueError, KeyError, TypeError):
            return None

    def give_back(self, chat_id: str, user_id: str, taken: ResponseUrl) -> None:
        """Return a URL that was not spent, unless the conversation has a newer one."""
        expires_s = taken.received + RESPONSE_URL_TTL_S - RESPONSE_URL_MARGIN_S
        if expires_s <= self._clock():
            return
        value = json.dumps({"url": taken.url, "msgid": taken.msgid, "received": taken.received})
        key = _key(chat_id, user_id)
        with self.locks.hold(_lock(key)):
            if self.store.channel_state.get(key) is None:
                self.store.channel_state.put(key, value, datetime.fromtimestamp(expires_s, UTC))

    def user_of(self, reply: Reply) -> str | None:
        """The user of the conversation a stored reply belongs to."""
        if reply.message_id is None:
            return None
        return self.store.conversations.get(
            self.store.conversations.conversation_of_message(reply.message_id)
        ).user_id


class WecomBotChannel:
    """The outbox's channel for the 智能机器人: sends through the chat's latest response_url."""

    name = CHANNEL

    def __init__(self, urls: ResponseUrls, api_base_url: str, timeout_s: float) -> None:
        self.urls = urls
        self.api_base_url = api_base_url.rstrip("/")
        self.timeout_s = timeout_s

    def send(self, reply: Reply) -> DeliveryResult:
        user_id = self.urls.user_of(reply)
        taken = self.urls.take(reply.chat_id, user_id) if user_id is not None else None
        if user_id is None or taken is None:
            return DeliveryResult(
                ok=False,
                retryable=False,
                error=(
                    "企业微信智能机器人只能通过用户最近一条消息的 response_url 回复（1 小时内、仅限一次），"
                    "目前没有可用的；请用户再次 @机器人 发消息后，在此重新发送 / "
                    "no usable response_url: the WeCom AI bot can only reply through the URL of the "
                    "user's latest message (valid one hour, one use); send again after the user writes again"
                ),
            )
        content = fit_content(plain_text(reply))
        try:
            response = httpx.post(
                self._route(taken.url), json=markdown_message(content), timeout=self.timeout_s
            )
        except httpx.HTTPError as exc:
            self.urls.give_back(reply.chat_id, user_id, taken)
            failure = f"response_url 请求失败 / response_url request failed: {type(exc).__name__}: {exc}"
            return DeliveryResult(ok=False, error=failure)
        if response.status_code >= 500:
            self.urls.give_back(reply.chat_id, user_id, taken)
            return DeliveryResult(
                ok=False, error=f"企业微信服务器错误 / WeCom server error: HTTP {response.status_code}"
            )
        return _result(response, taken)

    def _route(self, url: str) -> str:
        """The URL through the configured API base (a fixed-IP proxy), when it points at the platform."""
        if self.api_base_url != PLATFORM_ORIGIN and url.startswith(PLATFORM_ORIGIN + "/"):
            return self.api_base_url + url[len(PLATFORM_ORIGIN) :]
        return url


def _result(response: httpx.Response, taken: ResponseUrl) -> DeliveryResult:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and body.get("errcode", 0) == 0:
        return DeliveryResult(ok=True, platform_message_id=taken.msgid or None)
    code = body.get("errcode") if isinstance(body, dict) else None
    message = body.get("errmsg") if isinstance(body, dict) else response.text[:200]
    log.warning("response_url refused: HTTP %s errcode %s %s", response.status_code, code, message)
    return DeliveryResult(
        ok=False,
        retryable=False,
        error=(
            f"企业微信拒绝了回复（HTTP {response.status_code}，errcode {code}：{message}）；"
            "response_url 可能已过期或已用过，请用户再次 @机器人 发消息后重新发送 / WeCom refused the reply "
            f"(HTTP {response.status_code}, errcode {code}: {message}); the response_url may have expired "
            "or been used: send again after the user writes again"
        ),
    )


def _key(chat_id: str, user_id: str) -> str:
    return f"{PREFIX}:response-url:{chat_id}:{user_id}"


def _lock(key: str) -> str:
    return f"{key}:lock"
