"""Answering streamed messages of the WeCom 智能机器人 in the background.

The dispatcher runs in a worker thread with its reply's outbox delivery held (the stream is meant to
carry it); the result settles the stream in the store, where a refresh on any worker finds it. The
refresh that finishes a stream first marks the reply delivered (the stream carries it); the one that
closes it (the window ran out) hands the conversation to staff; either frees the user's slot. An answer
that arrives after its stream closed is marked failed with the reason, so staff see it and the
conversation's response_url stays free for their reply."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import prompts
from bot.channels._text import plain_text
from bot.channels.base import MessageSink
from bot.channels.wecom_bot.sender import CHANNEL
from bot.channels.wecom_bot.streams import StreamBook, StreamState
from bot.messages import IncomingKind, IncomingMessage
from bot.service.outbox import Outbox
from bot.store import Store

log = logging.getLogger(__name__)

HOLD_MARGIN_S = 60.0
LATE_ANSWER = (
    "回答超过了企业微信流式回复的时限，未送达用户；会话已转人工，请直接回复用户 / the answer missed the "
    "WeCom stream window and was not delivered; the conversation went to staff: reply to the user directly"
)


@dataclass(frozen=True)
class Outcome:
    """What a stream shows once its message was handled."""

    text: str
    delivery_id: int | None = None
    reply_kind: str | None = None


class StreamAnswers:
    """Background answering for streamed replies, in a bounded pool of threads."""

    def __init__(
        self, streams: StreamBook, sink: MessageSink, outbox: Outbox, store: Store, *, max_workers: int = 32
    ) -> None:
        self.streams = streams
        self.sink = sink
        self.outbox = outbox
        self.store = store
        self.hold_s = streams.window_s + HOLD_MARGIN_S
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="stdbot-wecom-bot")

    def start(self, stream: StreamState, question: str) -> Future[None]:
        """Answer `question` (the message `stream` was opened for) in the background."""
        return self._pool.submit(self._answer, _incoming(stream, stream.msgid, question), stream)

    def delivered(self, stream: StreamState) -> None:
        """A stream is about to carry its reply: the outbox must not send it again."""
        if stream.delivery_id is not None:
            self.outbox.mark_delivered(stream.delivery_id, stream.msgid)

    def ended(self, stream: StreamState) -> None:
        """Run once for a stream a refresh just finished or closed."""
        self.streams.release(stream.user_id, stream.stream_id)
        if stream.phase == "closed":
            self._pool.submit(self._hand_off, stream)

    def stop(self) -> None:
        """Wait for the answers under way (their messages are stored; their replies must be too)."""
        self._pool.shutdown(wait=True)

    def _answer(self, message: IncomingMessage, stream: StreamState) -> None:
        outcome = self._outcome(message)
        try:
            settled = self.streams.settle(
                stream.stream_id, outcome.text, outcome.delivery_id, outcome.reply_kind
            )
            if settled is not None and settled.phase == "done":
                return
            log.warning("answer to %s came after its stream closed", message.message_id)
            if outcome.delivery_id is not None:
                self.store.deliveries.mark_failed(outcome.delivery_id, LATE_ANSWER)
        except Exception:  # the reply stays held in the outbox, which sends it after the hold
            log.exception("settling WeCom bot stream %s failed", stream.stream_id)

    def _outcome(self, message: IncomingMessage) -> Outcome:
        try:
            result = self.sink.handle(message, hold_delivery_s=self.hold_s)
        except Exception:
            log.exception("handling WeCom bot message %s failed", message.message_id)
            return Outcome(text=prompts.load("wecom_bot_failed"))
        if result.duplicate:
            return Outcome(text=prompts.load("wecom_bot_repeated"))
        if result.reply is None:
            return Outcome(text=prompts.load("wecom_bot_with_staff"))
        return Outcome(
            text=plain_text(result.reply), delivery_id=result.delivery_id, reply_kind=result.reply.kind
        )

    def _hand_off(self, stream: StreamState) -> None:
        """The window ran out before the answer: the stream told the user staff will reply; make it so."""
        text = prompts.load("wecom_bot_timeout_request")
        message = _incoming(stream, f"{stream.msgid}#timeout", text, "handoff_request")
        try:
            result = self.sink.handle(message, hold_delivery_s=self.hold_s)
        except Exception:
            log.exception("handing WeCom bot stream %s to staff failed", stream.stream_id)
            return
        if result.delivery_id is not None:  # the stream's last content said it already
            self.outbox.mark_delivered(result.delivery_id, stream.msgid)


def _incoming(
    stream: StreamState, message_id: str, text: str, kind: IncomingKind = "text"
) -> IncomingMessage:
    return IncomingMessage(
        channel=CHANNEL,
        chat_id=stream.chat_id,
        user_id=stream.user_id,
        message_id=message_id,
        text=text,
        chat_type=stream.chat_type,
        kind=kind,
    )
