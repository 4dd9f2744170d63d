"""The `/wecom/bot` callback routes: URL verification (the decrypted echostr), and encrypted JSON
callbacks answered with a stream (messages) or its current content (stream refreshes)."""

from __future__ import annotations

import concurrent.futures
import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

import prompts
from bot.channels._edge import ReplayGuard, check_fresh, parse_json, read_body
from bot.channels.base import PlatformContext
from bot.channels.wecom_bot.answers import StreamAnswers
from bot.channels.wecom_bot.crypto import WecomCipher
from bot.channels.wecom_bot.messages import (
    BotCallback,
    fit_content,
    parse_callback,
    question_of,
    stream_id_for,
    stream_reply,
    text_reply,
)
from bot.channels.wecom_bot.sender import CHANNEL, ResponseUrls, WecomBotChannel
from bot.channels.wecom_bot.streams import StreamBook, StreamTexts
from config.errors import EdgeRejected

log = logging.getLogger(__name__)

ROUTE = "/wecom/bot"
Payload = dict[str, Any]


class WecomBotCallbacks:
    """What the callback routes do, synchronously (the routes run it in the thread pool)."""

    def __init__(self, context: PlatformContext) -> None:
        settings, store, locks = context.settings.wecom_bot, context.store, context.locks
        max_question_chars = context.settings.answer.max_question_chars
        token = settings.token.get_secret_value() if settings.token else ""
        aes_key = settings.aes_key.get_secret_value() if settings.aes_key else ""
        self.settings = settings
        self.max_question_chars = max_question_chars
        self.cipher = WecomCipher(token, aes_key, receive_id="")
        self.guard = ReplayGuard(store.channel_state, settings.edge.freshness_s)
        self.streams = StreamBook(
            store,
            locks,
            window_s=settings.stream_window_s,
            in_flight_per_user=settings.in_flight_per_user,
        )
        self.answers = StreamAnswers(self.streams, context.sink, context.outbox, store)
        self.urls = ResponseUrls(store, locks)
        self.channel = WecomBotChannel(self.urls, settings.api_base_url, settings.timeout_s)
        self.texts = StreamTexts(
            placeholder=prompts.load("wecom_bot_thinking"),
            timed_out=prompts.load("wecom_bot_timeout"),
            unknown=prompts.load("wecom_bot_unknown_stream"),
        )

    def verify(self, params: Mapping[str, str]) -> str:
        """The URL check: the decrypted echostr when the request is signed with our token."""
        echostr = (params.get("echostr") or "").replace(" ", "+")
        timestamp, nonce = self._signed(params, echostr)
        if not echostr:
            raise EdgeRejected(400, "verification without echostr")
        self.guard.check(CHANNEL, timestamp, nonce, echostr.encode("utf-8"))
        try:
            return self.cipher.decrypt(echostr).decode("utf-8")
        except UnicodeDecodeError:
            raise EdgeRejected(400, "echostr is not UTF-8 text") from None

    def callback(self, params: Mapping[str, str], body: bytes) -> bytes:
        """The encrypted reply to one callback (empty: no reply)."""
        envelope = parse_json(body)
        ciphertext = envelope.get("encrypt")
        if not isinstance(ciphertext, str) or not ciphertext:
            raise EdgeRejected(400, "callback without an encrypt field")
        timestamp, nonce = self._signed(params, ciphertext)
        self.guard.check(CHANNEL, timestamp, nonce, body)
        reply = self._reply(parse_callback(self.cipher.decrypt(ciphertext)))
        if reply is None:
            return b""
        message = json.dumps(reply, ensure_ascii=False).encode("utf-8")
        return json.dumps(self.cipher.envelope(message, nonce)).encode("ascii")

    def stop(self) -> None:
        self.answers.stop()

    def _signed(self, params: Mapping[str, str], ciphertext: str) -> tuple[str, str]:
        """(timestamp, nonce) of a request signed over `ciphertext` within the freshness window."""
        timestamp, nonce = params.get("timestamp") or "", params.get("nonce") or ""
        self.cipher.check(params.get("msg_signature"), timestamp, nonce, ciphertext)
        check_fresh(timestamp, self.settings.edge.freshness_s)
        return timestamp, nonce

    def _reply(self, callback: BotCallback) -> Payload | None:
        if callback.kind == "event":
            return text_reply(prompts.load("wecom_bot_welcome")) if callback.event == "enter_chat" else None
        if callback.kind == "refresh":
            assert callback.stream_id is not None
            return self._current(callback.stream_id)
        if callback.response_url:
            self.urls.remember(callback.chat_id, callback.user_id, callback.response_url, callback.msgid)
        return self._answer(callback)

    def _answer(self, callback: BotCallback) -> Payload | None:
        """A message: a stream answering it, or a finished reply saying why it is not answered."""
        stream_id = stream_id_for(callback.msgid)
        if callback.text is None:
            return stream_reply(stream_id, prompts.load("wecom_bot_text_only"), finish=True)
        question = question_of(callback, self.settings.bot_names)
        if question is None:
            log.info(
                "group message %s does not mention the bot (wecom_bot.bot_names: %s); not answered",
                callback.msgid,
                self.settings.bot_names or "—",
            )
            return None
        refusal = self._refusal(question)
        if refusal is not None:
            return stream_reply(stream_id, refusal, finish=True)
        opening = self.streams.open(
            stream_id, callback.msgid, callback.user_id, callback.chat_id, callback.chat_type
        )
        if opening.kind == "busy":
            return stream_reply(stream_id, prompts.load("wecom_bot_busy"), finish=True)
        if opening.kind == "new":
            assert opening.state is not None
            future = self.answers.start(opening.state, question)
            concurrent.futures.wait([future], timeout=self.settings.first_reply_wait_s)
        return self._current(stream_id)

    def _refusal(self, question: str) -> str | None:
        if not question:
            return prompts.load("refusal_empty")
        if len(question) > self.max_question_chars:
            return prompts.render("wecom_bot_too_long", length=len(question), limit=self.max_question_chars)
        return None

    def _current(self, stream_id: str) -> Payload:
        step = self.streams.refresh(stream_id, self.texts, self.answers.delivered)
        if step.ended_now and step.state is not None:
            self.answers.ended(step.state)
        return stream_reply(stream_id, fit_content(step.content), finish=step.finish)


def build_router(callbacks: WecomBotCallbacks) -> APIRouter:
    router = APIRouter(tags=["企业微信智能机器人 / WeCom AI bot"])
    limit = callbacks.settings.edge.max_body_bytes

    @router.get(ROUTE, response_class=PlainTextResponse, include_in_schema=False)
    async def verify_url(request: Request) -> PlainTextResponse:
        """企业微信校验回调 URL / WeCom checks the callback URL."""
        echo = await run_in_threadpool(callbacks.verify, dict(request.query_params))
        return PlainTextResponse(echo)

    @router.post(ROUTE, include_in_schema=False)
    async def receive(request: Request) -> Response:
        """企业微信推送的加密消息与流式刷新 / encrypted messages and stream refreshes from WeCom."""
        body = await read_body(request, limit)
        params = dict(request.query_params)
        reply = await run_in_threadpool(callbacks.callback, params, body)
        return Response(reply, media_type="application/json" if reply else "text/plain")

    return router
