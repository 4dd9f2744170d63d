"""Plays Telegram for the Telegram channel's tests.

`BotApi` answers Bot API methods as Telegram does (getMe, sendMessage with real Message JSON and
increasing message ids per chat, answerCallbackQuery, getUpdates with offsets and long polling,
deleteWebhook), answers scripted errors with Telegram's own bodies (403 bot was blocked, 400 chat not
found, 429 with retry_after) and records every call. Two transports put it in front of PTB:
`OfflineBotRequest`, a `telegram.request.BaseRequest` (PTB's parsing and error classes still run), and
`BotApiServer`, a local HTTP server (`api_base_url = server.base_url`) for the app on uvicorn.

`Updates` builds real-shaped Update JSON as Telegram sends it, with the entities Telegram would mark
(bot commands, @mentions; offsets in UTF-16 code units)."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from telegram.request import BaseRequest, RequestData

from support.http_double import LocalHttpServer, Request, Response, json_response
from support.waiting import settled

TOKEN = "123456789:AAE-stdbot-test-token"
BOT_ID = 6000000001
BOT_USERNAME = "StdConsultBot"
GROUP_ID = -1001234567890
ALICE = {
    "id": 1001,
    "is_bot": False,
    "first_name": "Alice",
    "username": "alice_w",
    "language_code": "zh-hans",
}
BOB = {"id": 1002, "is_bot": False, "first_name": "王", "last_name": "伟"}
OTHER_BOT = {"id": 6000000002, "is_bot": True, "first_name": "Helper", "username": "OtherHelperBot"}

Failure = Literal["blocked", "chat_not_found", "retry_after", "kicked", "server"]
_JSON_FIELDS = {"reply_markup", "reply_parameters", "allowed_updates", "link_preview_options", "entities"}
_INT_FIELDS = {"offset", "limit", "timeout", "reply_to_message_id", "cache_time"}
_TOKENS = re.compile(r"(?<![A-Za-z0-9_@/])(/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?|@[A-Za-z0-9_]{5,32})")


@dataclass
class ApiCall:
    """One Bot API call as Telegram received it, and the status it was answered with (0: not yet)."""

    method: str
    params: dict[str, Any]
    url: str
    status: int = 0


def bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "标准咨询", "username": BOT_USERNAME}


def chat(chat_id: int | str) -> dict[str, Any]:
    value = int(chat_id)
    if value < 0:
        return {"id": value, "type": "supergroup", "title": "标准化交流群"}
    return {"id": value, "type": "private", "first_name": "Alice"}


class BotApi:
    """The Bot API's answers, shared by both transports (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self._lock = threading.Condition()
        self._failures: dict[str, deque[Failure | None]] = {}
        self._updates: list[dict[str, Any]] = []
        self._message_ids: dict[int, itertools.count[int]] = {}
        self.retry_after_s = 7

    # --- scripting ---------------------------------------------------------------------------

    def fail(self, method: str, failure: Failure, times: int = 1, *, after: int = 0) -> None:
        """`times` calls of `method` fail like Telegram fails them, once `after` more have succeeded."""
        with self._lock:
            self._failures.setdefault(method, deque()).extend([None] * after + [failure] * times)

    def push(self, *updates: dict[str, Any]) -> None:
        """Updates waiting for getUpdates."""
        with self._lock:
            self._updates.extend(updates)
            self._lock.notify_all()

    # --- what the tests read -----------------------------------------------------------------

    def called(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | str | None = None) -> list[ApiCall]:
        """sendMessage calls that succeeded, optionally to one chat."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == "sendMessage"
                and c.status == 200
                and (chat_id is None or str(c.params["chat_id"]) == str(chat_id))
            ]

    def wait_sent(
        self, count: int, chat_id: int | str | None = None, timeout_s: float = 30.0
    ) -> list[ApiCall]:
        return settled(lambda: self.sent(chat_id), lambda sent: len(sent) >= count, timeout_s)

    # --- answering ---------------------------------------------------------------------------

    def has_updates(self, offset: int | None) -> bool:
        with self._lock:
            return any(offset is None or u["update_id"] >= offset for u in self._updates)

    def wait_updates(self, offset: int | None, timeout_s: float) -> None:
        """Long polling: return when an update at or after `offset` is there, or after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not any(offset is None or u["update_id"] >= offset for u in self._updates):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._lock.wait(left)

    def answer(self, method: str, raw: dict[str, str], url: str = "") -> tuple[int, dict[str, Any]]:
        return self.respond(self.receive(method, raw, url))

    def receive(self, method: str, raw: dict[str, str], url: str = "") -> ApiCall:
        """A call arriving (recorded at once); getUpdates confirms the updates before its offset."""
        call = ApiCall(method, _decode(raw), url)
        with self._lock:
            self.calls.append(call)
            offset = call.params.get("offset")
            if method == "getUpdates" and offset is not None:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return call

    def respond(self, call: ApiCall) -> tuple[int, dict[str, Any]]:
        with self._lock:
            failures = self._failures.get(call.method)
            failure = failures.popleft() if failures else None
            status, body = self._error(failure) if failure else self._result(call.method, call.params)
            call.status = status
        return status, body

    def _result(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return _ok({**bot_user(), "can_join_groups": True, "can_read_all_group_messages": False})
        if method == "sendMessage":
            return _ok(self._message(params))
        if method in ("answerCallbackQuery", "deleteWebhook", "setWebhook"):
            return _ok(True)
        if method == "getUpdates":
            return _ok(self._updates[: params.get("limit") or 100])
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        counter = self._message_ids.setdefault(chat_id, itertools.count(5001))
        message: dict[str, Any] = {
            "message_id": next(counter),
            "from": bot_user(),
            "chat": chat(chat_id),
            "date": int(time.time()),
            "text": params["text"],
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    def _error(self, failure: Failure) -> tuple[int, dict[str, Any]]:
        if failure == "blocked":
            return _error(403, "Forbidden: bot was blocked by the user")
        if failure == "kicked":
            return _error(403, "Forbidden: bot was kicked from the supergroup chat")
        if failure == "chat_not_found":
            return _error(400, "Bad Request: chat not found")
        if failure == "retry_after":
            seconds = self.retry_after_s
            return _error(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        return _error(502, "Bad Gateway")


def _ok(result: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"ok": True, "result": result}


def _error(
    code: int, description: str, parameters: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


def _decode(raw: dict[str, str]) -> dict[str, Any]:
    """Parameters as PTB sends them (strings, other values JSON-encoded) back to values."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _JSON_FIELDS:
            decoded[key] = json.loads(value)
        elif key in _INT_FIELDS:
            decoded[key] = int(value)
        else:
            decoded[key] = value
    return decoded


class OfflineBotRequest(BaseRequest):
    """PTB's HTTP layer replaced by `BotApi`: no network, the rest of PTB as in production."""

    def __init__(self, api: BotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        raw = request_data.json_parameters if request_data is not None else {}
        call = self.api.receive(url.rsplit("/", 1)[-1], raw, url)
        if call.method == "getUpdates":
            deadline = time.monotonic() + float(call.params.get("timeout", 0))
            while not self.api.has_updates(call.params.get("offset")) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # long polling; cancelled when the poller stops
        status, body = self.api.respond(call)
        return status, json.dumps(body).encode()


class BotApiServer(LocalHttpServer):
    """`BotApi` on a local HTTP server: POST /bot<token>/<method>, form-encoded or JSON."""

    def __init__(self, api: BotApi, token: str = TOKEN) -> None:
        super().__init__("fake-bot-api")
        self.api = api
        self.token = token
        self.route("POST", r"/bot([^/]+)/(\w+)", self._call)

    @property
    def base_url(self) -> str:
        """The api_base_url to configure (the token is appended by PTB)."""
        return f"{self.origin}/bot"

    def _call(self, request: Request) -> Response:
        token, method = request.groups
        if token != self.token:
            return json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        if request.headers.get("Content-Type", "").startswith("application/json"):
            raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in request.json().items()}
        else:
            raw = request.form()
        call = self.api.receive(method, raw, request.target)
        if call.method == "getUpdates":
            self.api.wait_updates(call.params.get("offset"), min(float(call.params.get("timeout", 0)), 2.0))
        status, body = self.api.respond(call)
        return json_response(body, status)


class Updates:
    """Real-shaped updates with increasing update_id and message_id."""

    def __init__(self, first_update_id: int = 710000001) -> None:
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)

    def private(self, text: str, user: dict[str, Any] = ALICE) -> dict[str, Any]:
        return self.message(text, user, {**chat(user["id"]), "first_name": user["first_name"]})

    def group(
        self,
        text: str,
        user: dict[str, Any] = BOB,
        *,
        reply_to: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return self.message(text, user, chat(GROUP_ID), reply_to=reply_to, entities=entities)

    def message(
        self,
        text: str,
        user: dict[str, Any],
        in_chat: dict[str, Any],
        *,
        reply_to: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": user,
            "chat": in_chat,
            "date": int(time.time()),
            "text": text,
        }
        marked = entities if entities is not None else entities_of(text)
        if marked:
            message["entities"] = marked
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"update_id": next(self._update_ids), "message": message}

    def button(self, data: str, user: dict[str, Any], under: dict[str, Any]) -> dict[str, Any]:
        """A press on an inline button of the bot's message `under` (Message JSON as sent)."""
        query = {
            "id": f"{user['id']}{next(self._message_ids):06d}",
            "from": user,
            "message": under,
            "chat_instance": "-5150000000000000000",
            "data": data,
        }
        return {"update_id": next(self._update_ids), "callback_query": query}


def bot_message(message_id: int, chat_id: int, text: str = "依据……") -> dict[str, Any]:
    """One of the bot's messages, as Telegram repeats it in reply_to_message."""
    return {"message_id": message_id, "from": bot_user(), "chat": chat(chat_id), "date": 1, "text": text}


def entities_of(text: str) -> list[dict[str, Any]]:
    """The entities Telegram marks in plain text: a leading /command[@bot] and @mentions."""
    found = []
    for match in _TOKENS.finditer(text):
        token = match[0]
        if token.startswith("/") and match.start() != 0:
            continue
        found.append(
            {
                "type": "bot_command" if token.startswith("/") else "mention",
                "offset": _utf16_len(text[: match.start()]),
                "length": _utf16_len(token),
            }
        )
    return found


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
