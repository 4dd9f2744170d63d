"""The `/wechat/kf` callback route and the pull of 微信客服 messages.

The callback (`kf_msg_or_event`, carrying a Token and the OpenKfId) holds no message: it says "pull". The
pull (`kf/sync_msg`) runs in the background, one at a time per kf account across workers, page by page
until `has_more` is 0. Each page's customer messages go to the dispatcher (which stores them first and
drops the ones seen before); only then is the page's cursor saved, so a restart neither skips nor repeats
a message."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from wechatpy.exceptions import WeChatClientException

from bot.channels._tokens import KeyedLock
from bot.channels._workers import BackgroundWork
from bot.channels.base import MessageSink, PlatformContext
from bot.channels.wecom.api import QyapiClient
from bot.channels.wecom.callback import WecomXmlCallback
from bot.channels.wecom.kf.sender import CHANNEL, chat_id
from bot.messages import IncomingMessage
from bot.service.locks import ConversationLocks
from bot.store import Store

log = logging.getLogger(__name__)

ROUTE = "/wechat/kf"
SYNC_LIMIT = 1000  # the platform's default and maximum page
FIRST_SYNC_BACKLOG_S = 600  # with no cursor yet, older messages (up to 3 days) are history, not questions
CUSTOMER = 3  # msg origin: 3 the WeChat customer, 4 a system event, 5 a servicer in WeCom
EVENT = 4
INVALID_SYNC_TOKEN = 95007
_KEEP_EVENT_S = 3 * 86400  # sync_msg returns at most 3 days

Answer = Callable[[IncomingMessage], object]


class KfSync:
    """Pulls one kf account's new messages and hands the customers' to the dispatcher."""

    def __init__(
        self,
        client: QyapiClient,
        store: Store,
        locks: KeyedLock,
        welcome: str | None,
        *,
        answer_workers: int = 4,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.store = store
        self.locks = locks
        self.welcome = welcome
        self._answering = ThreadPoolExecutor(answer_workers, thread_name_prefix="stdbot-kf-answer")
        self._clock = clock

    def run(self, open_kfid: str, token: str | None, answer: Answer) -> int:
        """Pull until the platform has nothing more; the number of customer messages handed on."""
        with self.locks.hold(f"{CHANNEL}:sync:{open_kfid}"):
            key = cursor_key(open_kfid)
            cursor = self.store.channel_state.get(key)
            backlog_before = self._clock() - FIRST_SYNC_BACKLOG_S if cursor is None else None
            handed = 0
            while True:
                page = self._page(open_kfid, cursor, token)
                handed += self._handle(page.get("msg_list") or [], backlog_before, answer)
                next_cursor = str(page.get("next_cursor") or "")
                if not next_cursor or next_cursor == cursor:
                    return handed
                self.store.channel_state.put(key, next_cursor)
                cursor = next_cursor
                if not int(page.get("has_more") or 0):
                    return handed

    def stop(self) -> None:
        self._answering.shutdown(wait=False, cancel_futures=False)

    def _page(self, open_kfid: str, cursor: str | None, token: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {"cursor": cursor or "", "limit": SYNC_LIMIT, "open_kfid": open_kfid}
        if token:
            data["token"] = token
        try:
            return dict(self.client.post("kf/sync_msg", data=data))
        except WeChatClientException as exc:
            if exc.errcode != INVALID_SYNC_TOKEN or "token" not in data:
                raise
        log.info("wechat_kf: the callback token for %s expired; pulling without it", open_kfid)
        del data["token"]
        return dict(self.client.post("kf/sync_msg", data=data))

    def _handle(self, messages: list[Mapping[str, Any]], backlog_before: float | None, answer: Answer) -> int:
        """Customers' messages to the dispatcher, each customer's in order, customers side by side; events
        answered here. Returns when all are stored and answered, raising what any of them raised."""
        by_customer: dict[str, list[IncomingMessage]] = {}
        for raw in messages:
            if backlog_before is not None and float(raw.get("send_time") or 0) < backlog_before:
                log.info("wechat_kf: history message %s before the first sync skipped", raw.get("msgid"))
                continue
            origin = int(raw.get("origin") or 0)
            if origin == EVENT:
                self._event(raw)
            elif origin == CUSTOMER and (message := customer_message(raw)) is not None:
                by_customer.setdefault(message.user_id, []).append(message)
        jobs = [self._answering.submit(_in_order, answer, batch) for batch in by_customer.values()]
        for job in jobs:
            job.exception()  # wait for every customer before raising for any
        for job in jobs:
            job.result()
        return sum(len(batch) for batch in by_customer.values())

    def _event(self, raw: Mapping[str, Any]) -> None:
        event = raw.get("event") or {}
        kind = str(event.get("event_type") or "")
        if kind == "enter_session" and event.get("welcome_code") and self.welcome:
            self._welcome(str(raw.get("msgid") or ""), str(event["welcome_code"]))
        elif kind == "msg_send_fail":
            log.warning(
                "wechat_kf: the platform could not deliver message %s to %s (fail_type %s)",
                event.get("fail_msgid"),
                event.get("external_userid"),
                event.get("fail_type"),
            )
        else:
            log.info("wechat_kf: event %s for %s", kind or "?", event.get("external_userid"))

    def _welcome(self, msgid: str, code: str) -> None:
        """The welcome text for a user entering the chat, once per event (the code works once, 20 s)."""
        key = f"{CHANNEL}:event:{msgid}"
        if not msgid or self.store.channel_state.get(key) is not None:
            return
        data = {"code": code, "msgtype": "text", "text": {"content": self.welcome}}
        try:
            self.client.post("kf/send_msg_on_event", data=data)
        except (WeChatClientException, requests.RequestException) as exc:
            log.warning("wechat_kf: welcome not sent: %s", exc)
        self.store.channel_state.put(key, "welcomed", datetime.now(UTC) + timedelta(seconds=_KEEP_EVENT_S))


def _in_order(answer: Answer, messages: list[IncomingMessage]) -> None:
    for message in messages:
        answer(message)


def cursor_key(open_kfid: str) -> str:
    return f"{CHANNEL}:cursor:{open_kfid}"


def customer_message(raw: Mapping[str, Any]) -> IncomingMessage | None:
    """A customer's message from sync_msg; anything but text arrives without text, which gets the request
    to ask in words."""
    msgid = str(raw.get("msgid") or "")
    open_kfid = str(raw.get("open_kfid") or "")
    external_userid = str(raw.get("external_userid") or "")
    if not (msgid and open_kfid and external_userid):
        log.warning("wechat_kf: message without msgid, open_kfid or external_userid ignored")
        return None
    text = ""
    if raw.get("msgtype") == "text":
        text = str((raw.get("text") or {}).get("content") or "")
    return IncomingMessage(
        channel=CHANNEL,
        chat_id=chat_id(open_kfid, external_userid),
        user_id=external_userid,
        message_id=msgid,
        text=text.strip(),
    )


def build_router(
    callback: WecomXmlCallback, sync: KfSync, work: BackgroundWork, sink: MessageSink
) -> APIRouter:
    router = APIRouter(tags=["微信客服 / WeChat customer service"], include_in_schema=False)

    @router.get(ROUTE, response_class=PlainTextResponse)
    def verify(request: Request) -> PlainTextResponse:
        """URL verification: the decrypted echostr."""
        return PlainTextResponse(callback.verify_url(request.query_params))

    @router.post(ROUTE, response_class=PlainTextResponse)
    async def receive(request: Request) -> PlainTextResponse:
        """`kf_msg_or_event`: an empty 200 now; the pull, the answers and their delivery follow."""
        fields = (await callback.open(request)).fields
        open_kfid = fields.get("OpenKfId", "").strip()
        if fields.get("Event") == "kf_msg_or_event" and 0 < len(open_kfid) <= 128:
            token = fields.get("Token", "").strip() or None
            work.submit(sync.run, open_kfid, token, sink.handle)
        else:
            log.info("wechat_kf: callback %s/%s ignored", fields.get("MsgType"), fields.get("Event"))
        return PlainTextResponse("")

    return router


def pull_locks(context: PlatformContext) -> tuple[KeyedLock, Callable[[], None]]:
    """The locks serialising pulls, and how to close them. A pull takes the access-token and conversation
    locks while it holds its own; with SQLite those are flock files shared by hash, and a thread waiting
    for a file its own process holds waits for ever, so pulls lock files of their own there."""
    url = context.store.url
    database = url.database or ""
    if (
        url.get_backend_name() != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return context.locks, lambda: None  # PostgreSQL advisory locks, or one process only
    locks = ConversationLocks(url, lock_dir=Path(database).resolve().parent / "locks" / CHANNEL)
    return locks, locks.close
