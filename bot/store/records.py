"""Frozen records the Store returns; ORM objects never leave bot/store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from knowledge.types import Citation

ConversationState = Literal["bot", "waiting", "staff"]
HandoffState = Literal["open", "claimed", "resolved"]
DeliveryState = Literal["pending", "sent", "failed"]
StaffRole = Literal["staff", "admin"]
FaqDraftState = Literal["pending", "approved", "rejected"]

CONVERSATION_STATES: tuple[str, ...] = ("bot", "waiting", "staff")
HANDOFF_STATES: tuple[str, ...] = ("open", "claimed", "resolved")
DELIVERY_STATES: tuple[str, ...] = ("pending", "sent", "failed")
STAFF_ROLES: tuple[str, ...] = ("staff", "admin")
FAQ_DRAFT_STATES: tuple[str, ...] = ("pending", "approved", "rejected")


@dataclass(frozen=True)
class ConversationRecord:
    """One user's conversation on one chat of one channel; `state` says who answers it."""

    id: int
    channel: str
    chat_id: str
    user_id: str
    user_name: str | None
    chat_type: str
    state: str  # "bot" | "waiting" (handoff open, nobody claimed) | "staff" (claimed)
    created_at: datetime
    updated_at: datetime
    low_confidence_streak: int


@dataclass(frozen=True)
class MessageRecord:
    """One message in a conversation, either way; `kind` is the inbound kind or the outbound reply kind."""

    id: int
    conversation_id: int
    direction: str  # "in" | "out"
    author: str  # "user" | "bot" | "staff:<username>" | "system"
    text: str
    channel_message_id: str | None
    mode: str | None
    confidence: float | None
    citations: tuple[Citation, ...]
    latency_ms: float | None
    created_at: datetime
    kind: str = "text"


@dataclass(frozen=True)
class HandoffRecord:
    """A request for a person to take over a conversation, from opening to resolution."""

    id: int
    conversation_id: int
    reason: str
    state: str  # "open" | "claimed" | "resolved"
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
    kind: str
    state: str  # "pending" | "sent" | "failed"
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    platform_message_id: str | None


@dataclass(frozen=True)
class StaffRecord:
    """A console account; the password is only ever stored as a hash."""

    id: int
    username: str
    password_hash: str
    role: str  # "staff" | "admin"
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
    state: str  # "pending" | "approved" | "rejected"
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
    """A knowledge-base version as recorded by the service, with its golden-set metrics."""

    version: int
    metrics: Mapping[str, float]
    note: str
    recorded_at: datetime


@dataclass(frozen=True)
class DailyCount:
    """Traffic of one day: questions asked, answered by the bot, and handed to staff."""

    day: date
    questions: int
    answered: int
    escalated: int
