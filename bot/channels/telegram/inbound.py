"""The Telegram webhook and the service handling updates.

Webhook mode: POST /telegram/webhook must carry X-Telegram-Bot-Api-Secret-Token (compared in constant
time, else 403); the body is size-limited (413) and must be an Update (else 400). The route answers 200 at
once; the update is handled afterwards in a worker thread (the dispatcher answers, the outbox delivers
through TelegramChannel.send). Polling mode runs getUpdates in one worker (see
bot.channels.telegram.polling)."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, BackgroundTasks, Request, Response
from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.request import BaseRequest

from bot.channels._edge import parse_json, read_body
from bot.channels.base import MessageSink, PlatformContext
from bot.channels.telegram.api import BotClient
from bot.channels.telegram.budget import ChatBudget
from bot.channels.telegram.polling import Poller, PollingLease
from bot.channels.telegram.sender import TelegramChannel
from bot.channels.telegram.updates import CHANNEL, Inbound, read_update
from bot.messages import IncomingMessage, Reply
from bot.service.outbox import Outbox
from config.errors import EdgeRejected

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NOTICE_MODE = "notice"
POLLING_LEASE_S = 90.0


class TelegramService:
    """The Telegram bot of one worker process: its channel, webhook route and (polling mode) poller."""

    def __init__(self, context: PlatformContext, *, request: BaseRequest | None = None) -> None:
        settings, store, locks = context.settings, context.store, context.locks
        self.sink: MessageSink = context.sink
        self.outbox: Outbox = context.outbox
        self.store = store
        self.settings = settings.telegram
        self.max_chars = settings.answer.max_question_chars
        self.client = BotClient(self.settings, request=request)
        budget = ChatBudget(store, locks, self.settings.per_group_per_minute)
        self.channel = TelegramChannel(self.client, store, budget)
        self.poller: Poller | None = None
        if self.settings.mode == "polling":
            lease = PollingLease(store, locks, POLLING_LEASE_S)
            self.poller = Poller(self.client, store, lease, self.process)

    def start(self) -> None:
        if self.poller is not None:
            self.poller.start()

    def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()
        self.client.close()

    def router(self) -> APIRouter:
        """The webhook route (webhook mode)."""
        router = APIRouter()
        if self.settings.mode == "webhook":
            router.add_api_route(
                WEBHOOK_PATH,
                self._webhook,
                methods=["POST"],
                include_in_schema=False,
                response_class=Response,
            )
        return router

    def parse(self, body: bytes) -> Update:
        """The Update in a webhook body; 400 for anything else."""
        data = parse_json(body)
        if not isinstance(data.get("update_id"), int):
            raise EdgeRejected(400, "not a Telegram Update: no integer update_id")
        try:
            return Update.de_json(data, self.client.bot)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise EdgeRejected(400, f"malformed Telegram Update: {type(exc).__name__}: {exc}") from None

    def process(self, update: Update) -> None:
        """Handle one update (blocking: the dispatcher may take seconds)."""
        inbound = read_update(update, self.client.identity, max_chars=self.max_chars)
        if inbound is None:
            log.debug("Telegram update %s needs no answer", update.update_id)
            return
        if inbound.callback_query_id is not None:
            self._acknowledge(inbound)
        if inbound.message is None:
            return
        result = self.sink.handle(inbound.message)
        if inbound.notice is not None and not result.duplicate:
            self._notice(result.conversation_id, inbound.message, inbound.notice)

    def _notice(self, conversation_id: int, message: IncomingMessage, text: str) -> None:
        """A text of the bot's own (the welcome, a hint): stored in the conversation, sent by the outbox."""
        stored = self.store.conversations.record_outbound(
            conversation_id, text, author="system", mode=NOTICE_MODE
        )
        self.outbox.enqueue(
            Reply(
                channel=CHANNEL,
                chat_id=message.chat_id,
                text=text,
                kind="system",
                message_id=stored.id,
                in_reply_to=message.message_id,
            )
        )

    def _acknowledge(self, inbound: Inbound) -> None:
        """answerCallbackQuery with a short toast (the button stops spinning)."""
        query_id, toast = inbound.callback_query_id, inbound.toast

        async def answer(bot: Bot) -> bool:
            assert query_id is not None
            return await bot.answer_callback_query(query_id, text=toast)

        try:
            self.client.call(answer)
        except (TelegramError, TimeoutError) as exc:  # too old, or answered by an earlier delivery
            log.info("answerCallbackQuery %s failed: %s", query_id, exc)

    async def _webhook(self, request: Request, background: BackgroundTasks) -> Response:
        expected = self.settings.secret_token
        given = request.headers.get(SECRET_HEADER)
        if expected is None or given is None or not _same(given, expected.get_secret_value()):
            raise EdgeRejected(403, f"missing or wrong {SECRET_HEADER}")
        update = self.parse(await read_body(request, self.settings.edge.max_body_bytes))
        background.add_task(self._process_logged, update)
        return Response(status_code=200)

    def _process_logged(self, update: Update) -> None:
        try:
            self.process(update)
        except Exception:  # acknowledged already: nothing to tell Telegram
            log.exception("Telegram update %s failed", update.update_id)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
