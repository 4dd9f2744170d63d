"""The one flow every channel's messages go through.

persist first → drop duplicates → lock the conversation → staff have it? queue for them : answer →
handoff rules → store the reply → outbox. A failure while answering loses nothing: the message is already
stored, the user gets an apology, and staff get the conversation.

Over 300 lines on purpose: the whole of one turn (every branch a message can take) reads in one place."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import prompts
from bot.messages import IncomingMessage, Reply, ReplyKind, utcnow
from bot.service.events import Answered, EventBus, HandoffOpened, MessageReceived
from bot.service.flood import Flood, FloodGuard
from bot.service.handoff import HandoffDecision, HandoffPolicy, parse_feedback
from bot.service.locks import ConversationLocks
from bot.service.outbox import Outbox
from bot.store import ConversationRecord, HandoffRecord, MessageRecord, Store
from knowledge.types import Answer

log = logging.getLogger(__name__)

WAITING_NOTICE_MODE = "waiting"
HANDOFF_NOTICE_MODE = "handoff"
FLOOD_NOTICE_MODE = "flood"


class AnswerSource(Protocol):
    """Whatever answers questions (the knowledge base, in the service)."""

    def answer(self, question: str, conversation_key: str) -> Answer: ...


@dataclass(frozen=True)
class HandleResult:
    """What the dispatcher did with one message. `reply` is what the user gets now (None: nothing, e.g. a
    duplicate or a message queued for staff); `delivery_id` is its outbox entry."""

    conversation_id: int
    duplicate: bool
    reply: Reply | None
    handed_off: bool
    reason: str | None
    delivery_id: int | None = None
    flooded: bool = False  # over the sender's message budget: not answered


def conversation_key(conversation_id: int) -> str:
    """The key a conversation is locked and remembered under."""
    return f"conversation:{conversation_id}"


def memory_key(conversation: ConversationRecord) -> str:
    """The key the answer chain remembers a conversation under: its id and when it began, so that a
    store whose ids start again (a new database, a restore) never continues another's conversation."""
    return f"{conversation_key(conversation.id)}@{conversation.created_at.isoformat()}"


class Dispatcher:
    """Handles incoming messages from every channel the same way."""

    def __init__(
        self,
        store: Store,
        answers: AnswerSource,
        handoff: HandoffPolicy,
        outbox: Outbox,
        locks: ConversationLocks,
        *,
        events: EventBus | None = None,
        flood: FloodGuard | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.answers = answers
        self.handoff = handoff
        self.outbox = outbox
        self.locks = locks
        self.events = events or EventBus()
        self.flood = flood
        self._clock = clock

    def handle(self, message: IncomingMessage, *, hold_delivery_s: float = 0.0) -> HandleResult:
        """Handle one message; a message seen before (same channel and message id) is not answered again,
        unless its first turn was cut short (the process died): then this delivery runs it. With
        `hold_delivery_s` the caller delivers the reply itself (see Outbox.enqueue)."""
        received = time.perf_counter()
        inbound = self.store.conversations.record_inbound(message)
        if inbound.duplicate and inbound.message.handled_at is not None:
            log.info("duplicate message %s:%s ignored", message.channel, message.message_id)
            return _duplicate(inbound.conversation.id)
        if not inbound.duplicate:
            self.events.publish(
                MessageReceived(
                    channel=message.channel, kind=message.kind, conversation_id=inbound.conversation.id
                )
            )
        return self._turn(message, inbound.message, hold_delivery_s, received)

    def recover(self, stored: MessageRecord) -> HandleResult:
        """Run the turn of a stored text or handoff request whose turn never finished (see
        bot/service/recovery.py); its reply goes out through the outbox, by the channel's asynchronous API."""
        return self._once(stored, _Turn.run)

    def hand_over(self, stored: MessageRecord) -> HandleResult:
        """A stored message too old to answer now: staff get the conversation, the user an apology."""
        return self._once(stored, _Turn.hand_over_late)

    def _turn(
        self, message: IncomingMessage, stored: MessageRecord, hold_s: float, received: float
    ) -> HandleResult:
        return self._once(stored, _Turn.run, message, hold_s, received)

    def _once(
        self,
        stored: MessageRecord,
        act: Callable[[_Turn], HandleResult],
        message: IncomingMessage | None = None,
        hold_s: float = 0.0,
        received: float | None = None,
    ) -> HandleResult:
        """`act` on the message's turn under its conversation's lock, once: a turn that finished meanwhile
        (another delivery's, another worker's) is not run again. A turn that stores a reply marks the
        message handled in the reply's transaction; one that stores none marks it when it ends. Without
        `message` it is rebuilt from the stored one (recovery)."""
        conversation_id = stored.conversation_id
        with self.locks.hold(conversation_key(conversation_id)):
            if self.store.conversations.message(stored.id).handled_at is not None:
                return _duplicate(conversation_id)
            conversation = self.store.conversations.get(conversation_id)
            message = message or _replayed(stored, conversation)
            started = time.perf_counter() if received is None else received
            result = act(_Turn(self, message, stored, conversation, hold_s, started))
            if result.reply is None:  # a stored reply marked it already, in its own transaction
                self.store.inbound.mark_handled(stored.id, self._clock())
            return result


def _replayed(stored: MessageRecord, conversation: ConversationRecord) -> IncomingMessage:
    """A stored text or handoff request as its channel delivered it."""
    return IncomingMessage(
        channel=conversation.channel,
        chat_id=conversation.chat_id,
        user_id=conversation.user_id,
        message_id=stored.channel_message_id or "",
        text=stored.text,
        chat_type=conversation.chat_type,
        kind="handoff_request" if stored.kind == "handoff_request" else "text",
    )


def _duplicate(conversation_id: int) -> HandleResult:
    return HandleResult(
        conversation_id=conversation_id, duplicate=True, reply=None, handed_off=False, reason=None
    )


class _Turn:
    """One message being handled, under its conversation's lock."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        message: IncomingMessage,
        stored: MessageRecord,
        conversation: ConversationRecord,
        hold_s: float,
        received: float,
    ) -> None:
        self.d = dispatcher
        self.message = message
        self.stored = stored
        self.conversation = conversation
        self.hold_s = hold_s
        self.received = received
        self.now = dispatcher._clock()

    def run(self) -> HandleResult:
        if self.message.kind == "feedback" and not self._record_feedback():
            return self._nothing()
        handoff = self.d.store.handoffs.active_for(self.conversation.id)
        if handoff is not None and self._for_staff(handoff):
            return self._queue_for_staff(handoff)
        if handoff is None and self.conversation.state != "bot":  # staff hold it without a handoff
            return self._result(handed_off=True)
        if self.message.kind == "text":
            flood = self._flood()
            return self._answer(handoff) if flood is Flood.OK else self._slow_down(flood)
        decision = self.d.handoff.decide(self.message, None, self.conversation, self.now)
        return self.escalated(decision, None, handoff) if decision.escalate else self._nothing()

    def _for_staff(self, handoff: HandoffRecord) -> bool:
        """Whether this message is for staff rather than the bot: claimed conversations always; waiting
        ones unless the bot keeps answering off hours."""
        return handoff.state == "claimed" or not self.d.handoff.bot_answers_while_waiting(self.now)

    def _queue_for_staff(self, handoff: HandoffRecord) -> HandleResult:
        """No bot answer; the first message queued while nobody has claimed the handoff gets a notice."""
        quiet = self.message.kind not in ("text", "handoff_request") or handoff.state == "claimed"
        if quiet or self._notice_given(handoff):
            return self._result(handed_off=True, reason=handoff.reason)
        text = self.d.handoff.waiting_notice(self.now)
        reply, delivery_id = self._send(text, "system", mode=WAITING_NOTICE_MODE)
        return self._result(reply, delivery_id, handed_off=True, reason=handoff.reason)

    def _notice_given(self, handoff: HandoffRecord) -> bool:
        return any(
            m.direction == "out" and m.mode == WAITING_NOTICE_MODE and m.created_at >= handoff.created_at
            for m in self.d.store.conversations.transcript(self.conversation.id, limit=100)
        )

    def _answer(self, handoff: HandoffRecord | None) -> HandleResult:
        started = time.perf_counter()
        answer: Answer | None
        try:
            answer = self.d.answers.answer(self.message.text, memory_key(self.conversation))
        except Exception:
            log.exception(
                "answering failed for conversation %s (message %s)", self.conversation.id, self.stored.id
            )
            answer = None
        latency_ms = (time.perf_counter() - started) * 1000
        decision = self.d.handoff.decide(self.message, answer, self.conversation, self.now)
        if decision.escalate:
            result = self.escalated(decision, answer, handoff, latency_ms)
            if answer is not None and result.reply is not None:
                self._answered(answer)
            return result
        assert answer is not None  # a text message without an answer always escalates ("error")
        self._save_streak(decision)
        reply, delivery_id = self._send(answer.text, "bot", answer=answer, latency_ms=latency_ms)
        self._answered(answer)
        return self._result(reply, delivery_id)

    def escalated(
        self,
        decision: HandoffDecision,
        answer: Answer | None,
        existing: HandoffRecord | None,
        latency_ms: float | None = None,
    ) -> HandleResult:
        """Open the handoff (or keep the one open), tell staff when it is new, and tell the user."""
        assert decision.reason is not None
        handoff = existing or self.d.store.handoffs.open(self.conversation.id, decision.reason)
        self._save_streak(decision)
        if existing is None:
            self._handoff_opened(handoff, answer)
        text = "\n\n".join(p for p in (answer.text if answer else None, decision.notice) if p)
        if not text:
            return self._result(handed_off=True, reason=handoff.reason)
        if answer is None:
            reply, delivery_id = self._send(text, "system", mode=HANDOFF_NOTICE_MODE, escalated=True)
        else:
            reply, delivery_id = self._send(text, "bot", answer=answer, latency_ms=latency_ms, escalated=True)
        return self._result(reply, delivery_id, handed_off=True, reason=handoff.reason)

    def _answered(self, answer: Answer) -> None:
        seconds = time.perf_counter() - self.received
        self.d.events.publish(
            Answered(
                channel=self.conversation.channel,
                conversation_id=self.conversation.id,
                seconds=seconds,
                mode=answer.mode,
            )
        )

    def _save_streak(self, decision: HandoffDecision) -> None:
        if decision.new_streak != self.conversation.low_confidence_streak:
            self.d.store.conversations.set_low_confidence_streak(self.conversation.id, decision.new_streak)

    def _flood(self) -> Flood:
        guard = self.d.flood
        return guard.check(f"{self.message.channel}:{self.message.user_id}") if guard else Flood.OK

    def _slow_down(self, flood: Flood) -> HandleResult:
        """Over the sender's budget: no answer; the first time in a window, a request to slow down."""
        reply, delivery_id = None, None
        if flood is Flood.FIRST_OVER:
            reply, delivery_id = self._send(prompts.load("flood_notice"), "system", mode=FLOOD_NOTICE_MODE)
        return self._result(reply, delivery_id, flooded=True)

    def hand_over_late(self) -> HandleResult:
        """Staff take a message the bot can no longer answer in time; the user gets an apology."""
        decision = HandoffDecision(
            escalate=True,
            reason="recovered",
            notice=prompts.load("recovered_notice"),
            new_streak=self.conversation.low_confidence_streak,
        )
        return self.escalated(decision, None, self.d.store.handoffs.active_for(self.conversation.id))

    def _result(
        self,
        reply: Reply | None = None,
        delivery_id: int | None = None,
        *,
        handed_off: bool = False,
        reason: str | None = None,
        flooded: bool = False,
    ) -> HandleResult:
        return HandleResult(
            conversation_id=self.conversation.id,
            duplicate=False,
            reply=reply,
            handed_off=handed_off,
            reason=reason,
            delivery_id=delivery_id,
            flooded=flooded,
        )

    def _nothing(self) -> HandleResult:
        return self._result()

    def _record_feedback(self) -> bool:
        """Store a 👍/👎 on a reply in this conversation; False (and ignored) for anything else."""
        feedback = parse_feedback(self.message.payload)
        if feedback is None:
            log.warning("feedback without a valid payload: %r", self.message.payload)
            return False
        if self.d.store.conversations.reply_in(self.conversation.id, feedback.message_id) is None:
            log.warning("feedback on message %s, not a reply in this conversation", feedback.message_id)
            return False
        self.d.store.conversations.record_feedback(feedback.message_id, feedback.value)
        return True

    def _send(
        self,
        text: str,
        author: ReplyKind,
        *,
        answer: Answer | None = None,
        mode: str | None = None,
        latency_ms: float | None = None,
        escalated: bool = False,
    ) -> tuple[Reply, int]:
        citations = answer.citations if answer is not None else ()
        suggestions = answer.suggestions if answer is not None else ()
        stored = self.d.store.conversations.record_outbound(
            self.conversation.id,
            text,
            author=author,
            mode=answer.mode if answer is not None else mode,
            confidence=answer.confidence if answer is not None else None,
            citations=citations,
            latency_ms=latency_ms,
            suggestions=suggestions,
            handles=self.stored.id,
        )
        reply = Reply(
            channel=self.conversation.channel,
            chat_id=self.conversation.chat_id,
            text=text,
            kind=author,
            citations=citations,
            message_id=stored.id,
            in_reply_to=self.message.message_id or None,
            escalated=escalated,
            suggestions=suggestions,
        )
        delivery = self.d.outbox.enqueue(reply, hold_s=self.hold_s)
        return reply, delivery.id

    def _handoff_opened(self, handoff: HandoffRecord, answer: Answer | None) -> None:
        """Tell whoever listens (the staff notifier, metrics); never fail the user's turn over it."""
        try:
            question, attempt = self._question_and_attempt(answer)
        except Exception:
            log.exception("could not read the question of conversation %s", self.conversation.id)
            question, attempt = self.message.text, None
        self.d.events.publish(
            HandoffOpened(
                conversation_id=self.conversation.id,
                channel=self.conversation.channel,
                reason=handoff.reason,
                question=question,
                attempt=attempt,
                user=self.conversation.user_name or self.conversation.user_id,
                created_at=handoff.created_at,
            )
        )

    def _question_and_attempt(self, answer: Answer | None) -> tuple[str, str | None]:
        """The user's question and the bot's answer to it, for staff. For a button or a 👎 they are the
        last question before it (or the message the 👎 was on) and the bot's reply."""
        if self.message.kind == "text":
            return self.message.text, answer.text if answer is not None else None
        transcript = self.d.store.conversations.transcript(self.conversation.id, limit=50)
        feedback = parse_feedback(self.message.payload)
        if feedback is not None:
            transcript = [m for m in transcript if m.id <= feedback.message_id]
        attempt = next((m.text for m in reversed(transcript) if m.direction == "out"), None)
        question = next(
            (
                m.text
                for m in reversed(transcript)
                if m.direction == "in" and m.kind == "text" and m.text.strip()
            ),
            self.message.text,
        )
        return question, attempt
