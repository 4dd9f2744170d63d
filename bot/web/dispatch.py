"""Handing a channel's message to the dispatcher from the web app, counting it for /metrics."""

from __future__ import annotations

import time

from bot.dispatcher import HandleResult
from bot.messages import IncomingMessage
from bot.web.state import Services

COUNTED_KINDS = ("text", "handoff_request")  # what people write; 👍/👎 and platform events are not messages


def handle_message(app: Services, message: IncomingMessage, *, hold_delivery_s: float = 0.0) -> HandleResult:
    """Run the dispatcher (blocking: call it from a worker thread) and count what happened. With
    `hold_delivery_s` the caller delivers the reply itself (see Dispatcher.handle)."""
    started = time.perf_counter()
    result = app.dispatcher.handle(message, hold_delivery_s=hold_delivery_s)
    if result.duplicate:
        return result
    if message.kind in COUNTED_KINDS:
        app.metrics.message_in(message.channel)
    if result.reply is not None and result.reply.kind == "bot":
        app.metrics.answered(time.perf_counter() - started)
    if opened_handoff(result):
        app.metrics.escalation(result.reason or "unknown")
    return result


def opened_handoff(result: HandleResult) -> bool:
    """Whether this turn handed the conversation to staff (rather than queueing a message for staff
    already on it): the user was told so with an escalated reply."""
    return result.handed_off and result.reply is not None and result.reply.escalated
