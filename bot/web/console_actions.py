"""What staff do to a conversation from the console: claim, release, reply, resolve, save as FAQ.

Each action runs under the conversation's lock (the dispatcher's, so it also holds against the bot's
turn and other workers) and is written to the audit log. Replies and the resolve notice take the same
path as the bot's replies: stored first, then queued in the outbox for the user's own channel. A reply
form carries a one-time token, so a double-clicked button sends the reply once."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import prompts
from bot.dispatcher import conversation_key
from bot.messages import Reply, ReplyKind
from bot.store import ConversationRecord, HandoffRecord
from bot.web.auth import StaffUser, console_text
from bot.web.state import Services
from knowledge.errors import StoreError, StoreUnavailable

MAX_REPLY_CHARS = 4000
TAKEOVER_REASON = "staff_takeover"
RESOLVED_MODE = "resolved"


class ActionRefused(Exception):
    """An action that cannot be done, with the message staff see (409 unless said otherwise)."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ReplyOutcome:
    message_id: int
    repeated: bool  # the same form was posted before: nothing new was sent


class FormTokens:
    """One-time form tokens already used in this process, remembered for `ttl_s` (bounded)."""

    def __init__(self, ttl_s: float = 3600.0, capacity: int = 20_000) -> None:
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> int | None:
        with self._lock:
            self._expire(time.monotonic())
            found = self._seen.get(token)
            return found[1] if found is not None else None

    def remember(self, token: str, result: int) -> None:
        with self._lock:
            self._seen[token] = (time.monotonic(), result)
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._seen:
            first = next(iter(self._seen.values()))
            if now - first[0] < self.ttl_s:
                break
            self._seen.popitem(last=False)


class StaffDesk:
    """The console's actions on conversations."""

    def __init__(self, app: Services, tokens: FormTokens) -> None:
        self.app = app
        self.store = app.store
        self.tokens = tokens

    def conversation(self, conversation_id: int) -> ConversationRecord:
        try:
            return self.store.conversation(conversation_id)
        except StoreError:
            raise ActionRefused(console_text("err_no_conversation"), 404) from None

    def claim(self, user: StaffUser, conversation_id: int) -> HandoffRecord:
        """Take the conversation; one without a handoff is taken over from the bot."""
        self.conversation(conversation_id)
        with self._locked(conversation_id):
            handoff = self.store.open_handoff_for(conversation_id)
            if handoff is None:
                handoff = self.store.open_handoff(conversation_id, TAKEOVER_REASON)
            claimed = self._claim(user, handoff)
        self.store.audit(user.actor, "claim", f"conversation={conversation_id} handoff={claimed.id}")
        return claimed

    def release(self, user: StaffUser, conversation_id: int) -> HandoffRecord:
        self.conversation(conversation_id)
        with self._locked(conversation_id):
            handoff = self._active(conversation_id, "err_already_resolved")
            if handoff.state != "claimed":
                raise ActionRefused(console_text("err_not_claimed"))
            self._check_holder(user, handoff)
            released = self._refusing(lambda: self.store.release_handoff(handoff.id))
        self.store.audit(user.actor, "release", f"conversation={conversation_id} handoff={handoff.id}")
        return released

    def reply(self, user: StaffUser, conversation_id: int, text: str, token: str) -> ReplyOutcome:
        """Send a staff reply through the user's channel (claiming the conversation if nobody has)."""
        conversation = self.conversation(conversation_id)
        text = text.strip()
        if not text:
            raise ActionRefused(console_text("err_empty_reply"), 422)
        if len(text) > MAX_REPLY_CHARS:
            raise ActionRefused(console_text("err_long_reply", n=len(text), max=MAX_REPLY_CHARS), 413)
        key = f"reply:{conversation_id}:{token}"
        with self._locked(conversation_id):
            sent = self.tokens.get(key)
            if sent is not None:
                return ReplyOutcome(sent, repeated=True)
            handoff = self._claim(user, self._active(conversation_id, "err_not_active"))
            message_id = self._send(conversation, text, "staff", author=user.actor)
            self.tokens.remember(key, message_id)
            self.store.note_staff_reply(handoff.id)
        self.store.audit(user.actor, "reply", f"conversation={conversation_id} message={message_id}")
        return ReplyOutcome(message_id, repeated=False)

    def resolve(self, user: StaffUser, conversation_id: int) -> HandoffRecord:
        """Close the handoff, give the conversation back to the bot, and tell the user."""
        conversation = self.conversation(conversation_id)
        with self._locked(conversation_id):
            handoff = self._active(conversation_id, "err_already_resolved")
            if handoff.state == "claimed":
                self._check_holder(user, handoff)
            resolved = self._refusing(lambda: self.store.resolve_handoff(handoff.id, user.username))
            self._send(conversation, prompts.load("console_resolved"), "system", mode=RESOLVED_MODE)
        self.store.audit(user.actor, "resolve", f"conversation={conversation_id} handoff={handoff.id}")
        return resolved

    def save_faq(self, user: StaffUser, conversation_id: int, message_id: int, token: str) -> int:
        """An FAQ draft from a staff reply and the user's question before it; the draft id."""
        self.conversation(conversation_id)
        key = f"faq:{conversation_id}:{token}"
        with self._locked(conversation_id):
            saved = self.tokens.get(key)
            if saved is not None:
                return saved
            transcript = self.store.transcript(conversation_id)
            reply = next(
                (m for m in transcript if m.id == message_id and m.author.startswith("staff:")), None
            )
            if reply is None:
                raise ActionRefused(console_text("err_no_staff_reply"), 404)
            question = next(
                (
                    m.text
                    for m in reversed(transcript)
                    if m.id < message_id and m.direction == "in" and m.kind == "text" and m.text.strip()
                ),
                None,
            )
            if question is None:
                raise ActionRefused(console_text("err_no_question"))
            draft_id = self.store.add_faq_draft(question, reply.text, None, user.actor, conversation_id)
            self.tokens.remember(key, draft_id)
        self.store.audit(user.actor, "save_faq", f"conversation={conversation_id} draft={draft_id}")
        return draft_id

    # helpers

    def _locked(self, conversation_id: int) -> AbstractContextManager[None]:
        return self.app.dispatcher.locks.hold(conversation_key(conversation_id))

    def _active(self, conversation_id: int, refusal: str) -> HandoffRecord:
        handoff = self.store.open_handoff_for(conversation_id)
        if handoff is None:
            raise ActionRefused(console_text(refusal))
        return handoff

    def _claim(self, user: StaffUser, handoff: HandoffRecord) -> HandoffRecord:
        self._check_holder(user, handoff)
        if handoff.state == "claimed":
            return handoff
        return self._refusing(lambda: self.store.claim_handoff(handoff.id, user.username))

    @staticmethod
    def _check_holder(user: StaffUser, handoff: HandoffRecord) -> None:
        if handoff.state == "claimed" and handoff.staff != user.username:
            raise ActionRefused(console_text("err_claimed_by", staff=handoff.staff or "—"))

    @staticmethod
    def _refusing(action: Callable[[], HandoffRecord]) -> HandoffRecord:
        try:
            return action()
        except StoreUnavailable:
            raise
        except StoreError as exc:
            raise ActionRefused(str(exc)) from None

    def _send(
        self,
        conversation: ConversationRecord,
        text: str,
        kind: ReplyKind,
        *,
        author: str | None = None,
        mode: str | None = None,
    ) -> int:
        """Store the message and queue it for the user's channel, as the dispatcher does for the bot."""
        stored = self.store.record_outbound(conversation.id, text, author=author or kind, mode=mode)
        reply = Reply(conversation.channel, conversation.chat_id, text, kind, message_id=stored.id)
        self.app.outbox.enqueue(reply)
        return stored.id
