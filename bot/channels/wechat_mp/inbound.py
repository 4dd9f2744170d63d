"""The `/wechat/mp` callback routes: URL verification, and messages answered passively within
`passive_budget_s` or handed to the outbox (bot.channels.wechat_mp.passive keeps the platform's retries of a
MsgId to one answer)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from wechatpy import parse_message
from wechatpy.replies import TextReply

import prompts
from bot.channels._edge import ReplayGuard, read_body
from bot.channels.base import MessageSink, PlatformContext
from bot.channels.wechat_mp.crypto import CallbackQuery, MpEnvelope, OpenedCallback
from bot.channels.wechat_mp.passive import Outcome, PassiveTurns, hold_seconds
from bot.channels.wechat_mp.sender import CHANNEL, reply_pieces
from bot.messages import IncomingMessage
from bot.service.outbox import Outbox

log = logging.getLogger(__name__)

ROUTE = "/wechat/mp"
TEXT_ONLY_PROMPT = "wechat_text_only"
SUBSCRIBE_EVENTS = ("subscribe", "subscribe_scan")
TURN_THREADS = 16
POLL_S = 0.05
MAX_MESSAGE_KEY = 64


class MpCallbacks:
    """The callback routes: verification, and messages answered passively or handed to the outbox."""

    def __init__(
        self,
        context: PlatformContext,
        envelope: MpEnvelope,
        turns: PassiveTurns,
    ) -> None:
        settings, store = context.settings, context.store
        self.sink: MessageSink = context.sink
        self.outbox: Outbox = context.outbox
        self.wechat = settings.wechat
        self.max_question_chars = settings.answer.max_question_chars
        self.envelope = envelope
        self.turns = turns
        self.guard = ReplayGuard(store.channel_state, self.wechat.edge.freshness_s)
        self.store = store
        self.hold_s = hold_seconds(self.wechat.passive_budget_s)
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._threads()

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)
        router.add_api_route(ROUTE, self.verify, methods=["GET"], response_class=PlainTextResponse)
        router.add_api_route(ROUTE, self.receive, methods=["POST"], response_class=Response)
        return router

    async def verify(self, request: Request) -> PlainTextResponse:
        """The platform checks the callback URL: echo `echostr` when the signature is ours."""
        return PlainTextResponse(self.envelope.verify_url(CallbackQuery.of(dict(request.query_params))))

    async def receive(self, request: Request) -> Response:
        """A message or event: a passive reply (encrypted in safe mode), or `success`."""
        arrived = time.monotonic()
        body = await read_body(request, self.wechat.edge.max_body_bytes)
        opened = self.envelope.open(CallbackQuery.of(dict(request.query_params)), body)
        await run_in_threadpool(self.guard.check, CHANNEL, opened.timestamp, opened.nonce, body)
        afterwards = BackgroundTasks()  # bookkeeping that need not delay the response
        text = await self._reply_text(opened, arrived, afterwards)
        if text is None:
            return PlainTextResponse("success", background=afterwards)
        reply = TextReply(message=parse_message(opened.xml), content=_cdata_safe(text)).render()
        return Response(self.envelope.seal(reply, opened), media_type="application/xml")

    async def _reply_text(
        self, opened: OpenedCallback, arrived: float, afterwards: BackgroundTasks
    ) -> str | None:
        fields = opened.fields
        kind = fields["MsgType"].strip().lower()
        user = fields["FromUserName"].strip()
        if kind == "text":
            question = fields.get("Content", "").strip()[: self.max_question_chars]
            message_id = fields.get("MsgId", "").strip() or f"{user}:{fields.get('CreateTime', '')}"
        elif kind == "event":
            event = fields.get("Event", "").strip().lower()
            if event in SUBSCRIBE_EVENTS:
                return prompts.load(self.wechat.welcome)
            if event != "click":
                return None
            key = fields.get("EventKey", "")
            question = self.wechat.menu.get(key, "").strip()
            if not question:
                log.warning("menu CLICK key %r is not in [wechat].menu; answered with success", key)
                return None
            digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
            message_id = f"click:{user}:{fields.get('CreateTime', '')}:{digest}"
        else:
            return prompts.load(TEXT_ONLY_PROMPT)
        if not question:
            return None
        incoming = IncomingMessage(
            channel=CHANNEL, chat_id=user, user_id=user, message_id=message_id, text=question
        )
        return await self._answer(incoming, arrived, afterwards)

    async def _answer(
        self, incoming: IncomingMessage, arrived: float, afterwards: BackgroundTasks
    ) -> str | None:
        """The passive answer to this delivery of the message, or None (`success`, after which this
        delivery is recorded as no longer waiting)."""
        key = _message_key(incoming.message_id)
        delivery = uuid.uuid4().hex
        deadline = arrived + self.wechat.passive_budget_s
        seen_before = await run_in_threadpool(self.turns.arrived, key, delivery)
        turn = self._threads().submit(self._turn, incoming, key)
        outcome = await self._wait(turn, key, deadline, seen_before)
        if outcome is None:
            afterwards.add_task(self.turns.gave_up, key, delivery, self.outbox)
            return None
        return await run_in_threadpool(self.turns.passive_text, key, outcome, self.outbox)

    async def _wait(
        self, turn: Future[Outcome | None], key: str, deadline: float, seen_before: bool
    ) -> Outcome | None:
        """This delivery's outcome by the deadline: its own turn's, or, when the message was a duplicate,
        the outcome another delivery's turn records (here or in another worker)."""
        waiting = asyncio.wrap_future(turn)
        done, _ = await asyncio.wait({waiting}, timeout=max(deadline - time.monotonic(), 0.0))
        if not done:
            waiting.add_done_callback(_observed)
            return None
        own = waiting.result()
        if own is not None or not seen_before:
            return own
        while True:
            found = await run_in_threadpool(self.turns.outcome, key)
            if found is not None or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(POLL_S)

    def _turn(self, incoming: IncomingMessage, key: str) -> Outcome | None:
        """Handle the message (held for a passive answer) and record the outcome; None for a duplicate."""
        try:
            result = self.sink.handle(incoming, hold_delivery_s=self.hold_s)
            if result.duplicate:
                return None
            outcome = Outcome()
            if result.reply is not None and result.delivery_id is not None:
                pieces = reply_pieces(result.reply)
                held_until = self.store.deliveries.get(result.delivery_id).next_attempt_at
                first = pieces[0] if pieces else None
                outcome = Outcome(
                    delivery_id=result.delivery_id,
                    message_id=result.reply.message_id,
                    held_until=held_until,
                    first=first,
                    pieces=len(pieces),
                )
            self.turns.finished(key, outcome, self.outbox)
            return outcome
        except Exception:
            log.exception("answering WeChat message %s failed", incoming.message_id)
            raise

    def _threads(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(TURN_THREADS, thread_name_prefix="wechat-mp")
        return self._executor


def _message_key(message_id: str) -> str:
    if len(message_id) <= MAX_MESSAGE_KEY:
        return message_id
    return hashlib.sha1(message_id.encode("utf-8")).hexdigest()


def _cdata_safe(text: str) -> str:
    """Text that cannot end the CDATA section wechatpy wraps it in."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def _observed(future: asyncio.Future[Outcome | None]) -> None:
    """Retrieve a late turn's exception (the turn logged it) so asyncio does not report it again."""
    if not future.cancelled():
        future.exception()
