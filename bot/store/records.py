"""Frozen records the Store returns; ORM objects never leave bot/store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from bot.messages import ChatType, IncomingKind, ReplyKind
from knowledge.types import Citation

ConversationState = Literal["bot", "waiting", "staff"]  # bot answers; handoff open; staff claimed it
HandoffState = Literal["open", "claimed", "resolved"]
DeliveryState = Literal["pending", "sent", "failed"]
AlertState = Literal["pending", "sent", "failed"]
MessageDirection = Literal["in", "out"]
MessageKind = IncomingKind | ReplyKind  # the inbound kind of a user's message, the reply kind of ours
StaffRole = Literal["staff", "admin"]
FaqDraftState = Literal["pending", "approved", "rejected"]
FormPurpose = Literal["reply", "faq"]

STAFF_ROLES: tuple[StaffRole, ...] = get_args(StaffRole)
FAQ_DRAFT_STATES: tuple[FaqDraftState, ...] = get_args(FaqDraftState)
FORM_PURPOSES: tuple[FormPurpose, ...] = get_args(FormPurpose)


@dataclass(frozen=True)
class ConversationRecord:
    """One user's conversation on one chat of one channel; `state` says who answers it."""

    id: int
    channel: str
    chat_id: str
    user_id: str
    user_name: str | None
    chat_type: ChatType
    state: ConversationState
    created_at: datetime
    updated_at: datetime
    low_confidence_streak: int


@dataclass(frozen=True)
class MessageRecord:
    """One message in a conversation, either way; `kind` is the inbound kind or the outbound reply kind."""

    id: int
    conversation_id: int
    direction: MessageDirection
    author: str  # "user" | "bot" | "staff:<username>" | "system"
    text: str
    channel_message_id: str | None
    mode: str | None
    confidence: float | None
    citations: tuple[Citation, ...]
    latency_ms: float | None
    created_at: datetime
    kind: MessageKind = "text"
    suggestions: tuple[str, ...] = ()  # questions offered to pick from by number
    handled_at: datetime | None = None  # inbound: when its turn finished (None: not yet, or cut short)


@dataclass(frozen=True)
class HandoffRecord:
    """A request for a person to take over a conversation, from opening to resolution."""

    id: int
    conversation_id: int
    reason: str
    state: HandoffState
    staff: str | None
    created_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    first_reply_at: datetime | None


@dataclass(frozen=True)
class DeliveryRecord:
    """One outbox entry: a stored outbound message still to be (or already) handed to its channel.

    `attempts` counts the send attempts that have finished (sent, retry or failed)."""

    id: int
    message_id: int
    channel: str
    chat_id: str
    text: str
    kind: ReplyKind
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    platform_message_id: str | None


@dataclass(frozen=True)
class FailedDelivery:
    """A delivery the outbox gave up on, with the conversation it belongs to (for the staff console)."""

    delivery: DeliveryRecord
    conversation_id: int
    updated_at: datetime


@dataclass(frozen=True)
class StaffRecord:
    """A console account; the password is only ever stored as a hash."""

    id: int
    username: str
    password_hash: str
    role: StaffRole
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class InboundResult:
    """What recording an inbound message did; `duplicate` means it had been recorded before."""

    conversation: ConversationRecord
    message: MessageRecord
    duplicate: bool


@dataclass(frozen=True)
class FaqDraftRecord:
    """A question and answer proposed for the FAQ, waiting for an admin's decision."""

    id: int
    question: str
    answer: str
    basis: str | None
    author: str
    state: FaqDraftState
    created_at: datetime
    conversation_id: int | None = None


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the audit log: who did what."""

    id: int
    actor: str
    action: str
    detail: str
    created_at: datetime


@dataclass(frozen=True)
class KbVersionRecord:
    """A knowledge-base version as recorded by the service: its metrics on the golden set whose
    fingerprint (see knowledge.version_eval.GoldenSet) is recorded with them."""

    version: int
    metrics: Mapping[str, float]
    golden_set_fingerprint: str
    recorded_at: datetime


@dataclass(frozen=True)
class DailyOutcome:
    """What became of one day's questions (users' text messages), judged by the reply each one got:
    answered by the bot; answered with confidence below the escalation threshold; handed to staff (a
    handoff opened in reply); or other (no bot answer: greetings, thanks, empty messages, or messages sent
    while staff held the conversation). The four add up to the day's questions."""

    day: date
    answered: int
    low_confidence: int
    escalated: int
    other: int

    @property
    def questions(self) -> int:
        return self.answered + self.low_confidence + self.escalated + self.other


@dataclass(frozen=True)
class UnansweredQuestion:
    """A question the bot could not answer well (handed to staff or answered with low confidence), with
    its identical askings (case and spacing ignored) counted together; `text` is the latest wording
    with its whitespace runs made single spaces."""

    text: str
    count: int
    escalated: int
    last_asked_at: datetime


@dataclass(frozen=True)
class FirstReplyTimes:
    """How fast staff first replied to the handoffs opened in a period; `median_s` is None without
    replies. `unreplied_open` counts the handoffs without a reply that are not resolved yet."""

    handoffs: int
    replied: int
    median_s: float | None
    unreplied_open: int

    @property
    def unreplied(self) -> int:
        return self.handoffs - self.replied


@dataclass(frozen=True)
class DailyFeedback:
    """The 👍 (up) and 👎 (down) votes cast on one day."""

    day: date
    up: int
    down: int


@dataclass(frozen=True)
class DownvotedAnswer:
    """A reply that got a 👎, with the user's last question before it (None if there was none)."""

    message_id: int
    conversation_id: int
    author: str
    answer: str
    question: str | None
    comment: str | None
    voted_at: datetime


@dataclass(frozen=True)
class FormUse:
    """A console form's one-time token: what the form does (`purpose`: "reply" or "faq") and for which
    conversation. The first use does the work; a repeat gets what the first one made."""

    purpose: FormPurpose
    conversation_id: int
    token: str


@dataclass(frozen=True)
class FormOutcome:
    """What a form's work made (a message or FAQ draft id); `repeated`: its token had been used before."""

    result_id: int
    repeated: bool


@dataclass(frozen=True)
class QueuedReply:
    """An outbound message stored and queued for its channel in one transaction; `repeated`: the form's
    token had been used before and these are what its first use stored."""

    message: MessageRecord
    delivery: DeliveryRecord
    repeated: bool


@dataclass(frozen=True)
class HandoffAlert:
    """One conversation that went to staff, as staff are told about it."""

    conversation_id: int
    reason: str
    question: str
    attempt: str | None
    channel: str
    user: str
    created_at: datetime


@dataclass(frozen=True)
class StaffAlertRecord:
    """A handoff alert queued for one notification target; `attempts` counts failed posts."""

    id: int
    target: str
    alert: HandoffAlert
    attempts: int
    state: AlertState


@dataclass(frozen=True)
class AlertTargetStatus:
    """A notification target's queue: alerts waiting, and messages posted to it since a given time."""

    pending: int
    posts: int
