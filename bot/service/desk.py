"""The staff desk: what staff do to a conversation (from the console): claim, release, reply, resolve,
save as FAQ.

Each action runs under the conversation's lock (the dispatcher's, so it also holds against the bot's
turn and other workers) and is written to the audit log. Replies and the resolve notice go out like the
bot's replies, through the outbox to the user's own channel: the message is stored and its delivery
queued in one transaction. Reply and FAQ forms carry a one-time token claimed in the database in that
same transaction, so a double-clicked button does the work once, whichever workers the posts reach."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import prompts
from bot.messages import ReplyKind, utcnow
from bot.service.dispatcher import conversation_key
from bot.service.events import EventBus, StaffReplied
from bot.service.locks import ConversationLocks
from bot.service.outbox import Outbox
from bot.store import ConversationRecord, FormUse, HandoffRecord, QueuedReply, Store
from config.errors import ActionRefused, StoreError, StoreUnavailable

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 4000
TAKEOVER_REASON = "staff_takeover"
RESOLVED_MODE = "resolved"
FORM_TOKEN_TTL = timedelta(days=1)


class StaffMember(Protocol):
    """Who acts: a login name, and how messages and the audit log name them (staff:<name>)."""

    @property
    def username(self) -> str: ...

    @property
    def actor(self) -> str: ...


def desk_text(key: str, **values: object) -> str:
    """A message for staff from prompts/console_labels.md."""
    return prompts.label("console_labels", key, **values)


@dataclass(frozen=True)
class ReplyOutcome:
    message_id: int
    repeated: bool  # the same form was posted before: nothing new was sent


class StaffDesk:
    """Staff actions on conversations; refusals raise ActionRefused with a message for staff."""

    def __init__(
        self,
        store: Store,
        locks: ConversationLocks,
        outbox: Outbox,
        events: EventBus,
        *,
        form_token_ttl: timedelta = FORM_TOKEN_TTL,
    ) -> None:
        self.store = store
        self.locks = locks
        self.outbox = outbox
        self.events = events
        self.form_token_ttl = form_token_ttl

    def conversation(self, conversation_id: int) -> ConversationRecord:
        try:
            return self.store.conversations.get(conversation_id)
        except StoreError:
            raise ActionRefused(desk_text("err_no_conversation"), "not_found") from None

    def claim(self, user: StaffMember, conversation_id: int) -> HandoffRecord:
        """Take the conversation; one without a handoff is taken over from the bot."""
        self.conversation(conversation_id)
        with self._locked(conversation_id):
            handoff = self.store.handoffs.active_for(conversation_id)
            if handoff is None:
                handoff = self.store.handoffs.open(conversation_id, TAKEOVER_REASON)
            claimed = self._claim(user, handoff)
        self.store.staff.audit(user.actor, "claim", f"conversation={conversation_id} handoff={claimed.id}")
        return claimed

    def release(self, user: StaffMember, conversation_id: int) -> HandoffRecord:
        self.conversation(conversation_id)
        with self._locked(conversation_id):
            handoff = self._active(conversation_id, "err_already_resolved")
            if handoff.state != "claimed":
                raise ActionRefused(desk_text("err_not_claimed"))
            self._check_holder(user, handoff)
            released = self._refusing(lambda: self.store.handoffs.release(handoff.id))
        self.store.staff.audit(user.actor, "release", f"conversation={conversation_id} handoff={handoff.id}")
        return released

    def reply(self, user: StaffMember, conversation_id: int, text: str, token: str) -> ReplyOutcome:
        """Send a staff reply through the user's channel (claiming the conversation if nobody has)."""
        conversation = self.conversation(conversation_id)
        text = text.strip()
        if not text:
            raise ActionRefused(desk_text("err_empty_reply"), "invalid")
        if len(text) > MAX_REPLY_CHARS:
            raise ActionRefused(desk_text("err_long_reply", n=len(text), max=MAX_REPLY_CHARS), "too_large")
        form = FormUse(purpose="reply", conversation_id=conversation_id, token=token)
        with self._locked(conversation_id):
            sent = self.store.admin.form_outcome(form)
            if sent is not None:
                return ReplyOutcome(message_id=sent, repeated=True)
            handoff = self._claim(user, self._active(conversation_id, "err_not_active"))
            queued = self._send(conversation, text, "staff", author=user.actor, form=form)
            if queued.repeated:
                return ReplyOutcome(message_id=queued.message.id, repeated=True)
            self.store.handoffs.note_staff_reply(handoff.id)
        message_id = queued.message.id
        self.store.staff.audit(user.actor, "reply", f"conversation={conversation_id} message={message_id}")
        self._forget_old_tokens()
        return ReplyOutcome(message_id=message_id, repeated=False)

    def resolve(self, user: StaffMember, conversation_id: int) -> HandoffRecord:
        """Close the handoff, give the conversation back to the bot, and tell the user."""
        conversation = self.conversation(conversation_id)
        with self._locked(conversation_id):
            handoff = self._active(conversation_id, "err_already_resolved")
            if handoff.state == "claimed":
                self._check_holder(user, handoff)
            resolved = self._refusing(lambda: self.store.handoffs.resolve(handoff.id, user.username))
            self._send(conversation, prompts.load("console_resolved"), "system", mode=RESOLVED_MODE)
        self.store.staff.audit(user.actor, "resolve", f"conversation={conversation_id} handoff={handoff.id}")
        return resolved

    def save_faq(self, user: StaffMember, conversation_id: int, message_id: int, token: str) -> int:
        """An FAQ draft from a staff reply and the user's question before it; the draft id."""
        self.conversation(conversation_id)
        form = FormUse(purpose="faq", conversation_id=conversation_id, token=token)
        with self._locked(conversation_id):
            saved = self.store.admin.form_outcome(form)
            if saved is not None:
                return saved
            transcript = self.store.conversations.transcript(conversation_id)
            reply = next(
                (m for m in transcript if m.id == message_id and m.author.startswith("staff:")), None
            )
            if reply is None:
                raise ActionRefused(desk_text("err_no_staff_reply"), "not_found")
            question = next(
                (
                    m.text
                    for m in reversed(transcript)
                    if m.id < message_id and m.direction == "in" and m.kind == "text" and m.text.strip()
                ),
                None,
            )
            if question is None:
                raise ActionRefused(desk_text("err_no_question"))
            draft = self.store.admin.add_faq_draft_once(form, question, reply.text, user.actor)
            if draft.repeated:
                return draft.result_id
        draft_id = draft.result_id
        self.store.staff.audit(user.actor, "save_faq", f"conversation={conversation_id} draft={draft_id}")
        self._forget_old_tokens()
        return draft_id

    # helpers

    def _locked(self, conversation_id: int) -> AbstractContextManager[None]:
        return self.locks.hold(conversation_key(conversation_id))

    def _active(self, conversation_id: int, refusal: str) -> HandoffRecord:
        handoff = self.store.handoffs.active_for(conversation_id)
        if handoff is None:
            raise ActionRefused(desk_text(refusal))
        return handoff

    def _claim(self, user: StaffMember, handoff: HandoffRecord) -> HandoffRecord:
        self._check_holder(user, handoff)
        if handoff.state == "claimed":
            return handoff
        return self._refusing(lambda: self.store.handoffs.claim(handoff.id, user.username))

    @staticmethod
    def _check_holder(user: StaffMember, handoff: HandoffRecord) -> None:
        if handoff.state == "claimed" and handoff.staff != user.username:
            raise ActionRefused(desk_text("err_claimed_by", staff=handoff.staff or "—"))

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
        form: FormUse | None = None,
    ) -> QueuedReply:
        """Store the message and queue it for the user's channel in one transaction (with `form`, once per
        form token), then wake this worker's outbox so it goes out at once."""
        queued = self.store.deliveries.queue_reply(
            conversation.id, text, author=author or kind, mode=mode, form=form
        )
        if not queued.repeated:
            self.outbox.wake()
            if kind == "staff":
                event = StaffReplied(
                    conversation_id=conversation.id,
                    channel=conversation.channel,
                    staff=author or kind,
                    message_id=queued.message.id,
                )
                self.events.publish(event)
        return queued

    def _forget_old_tokens(self) -> None:
        """Housekeeping after a form's work is done: it must not turn that success into an error."""
        try:
            self.store.admin.purge_form_tokens(utcnow() - self.form_token_ttl)
        except StoreError:
            log.warning("could not purge old form tokens", exc_info=True)
