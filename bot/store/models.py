"""The store's tables as SQLAlchemy 2 ORM classes; each row turns itself into a frozen record."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.store.columns import UTCDateTime, as_utc, citations_from_json, utcnow
from bot.store.records import (
    AuditRecord,
    ConversationRecord,
    DeliveryRecord,
    FaqDraftRecord,
    HandoffAlert,
    HandoffRecord,
    KbVersionRecord,
    MessageRecord,
    StaffAlertRecord,
    StaffRecord,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012  (SQLAlchemy reads it off the class)


class ConversationRow(Base):
    """One per (channel, chat, user): in a group chat each person has their own conversation and handoff."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("channel", "chat_id", "user_id"),
        Index(None, "state", "updated_at"),
        Index(None, "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    user_name: Mapped[str | None] = mapped_column(String(255))
    chat_type: Mapped[str] = mapped_column(String(16), default="private")
    state: Mapped[str] = mapped_column(String(16), default="bot")
    low_confidence_streak: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> ConversationRecord:
        return ConversationRecord(
            id=self.id,
            channel=self.channel,
            chat_id=self.chat_id,
            user_id=self.user_id,
            user_name=self.user_name,
            chat_type=self.chat_type,
            state=self.state,
            created_at=self.created_at,
            updated_at=self.updated_at,
            low_confidence_streak=self.low_confidence_streak,
        )


class MessageRow(Base):
    """A message either way. `channel` is copied from the conversation so that the platform's message id
    can be unique per channel (a partial unique index: rows without a platform id are not constrained)."""

    __tablename__ = "messages"
    __table_args__ = (
        Index(
            "uq_messages_channel_channel_message_id",
            "channel",
            "channel_message_id",
            unique=True,
            postgresql_where=text("channel_message_id IS NOT NULL"),
            sqlite_where=text("channel_message_id IS NOT NULL"),
        ),
        Index(None, "conversation_id", "id"),
        Index(None, "created_at"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(3))
    author: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), default="text")
    text: Mapped[str] = mapped_column(Text)
    channel_message_id: Mapped[str | None] = mapped_column(String(255))
    mode: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    citations: Mapped[str] = mapped_column(Text, default="[]")
    latency_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> MessageRecord:
        return MessageRecord(
            id=self.id,
            conversation_id=self.conversation_id,
            direction=self.direction,
            author=self.author,
            text=self.text,
            channel_message_id=self.channel_message_id,
            mode=self.mode,
            confidence=self.confidence,
            citations=citations_from_json(self.citations),
            latency_ms=self.latency_ms,
            created_at=self.created_at,
            kind=self.kind,
        )


class MessageSuggestionsRow(Base):
    """The questions a bot reply offers to pick from (您是不是想问), kept beside the message so a page
    that shows the reply later (history, live event stream) shows them too."""

    __tablename__ = "message_suggestions"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    questions: Mapped[str] = mapped_column(Text)


class HandoffRow(Base):
    """At most one unresolved handoff per conversation (a partial unique index makes opening race-safe)."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index(
            "uq_handoffs_active_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
            sqlite_where=text("state <> 'resolved'"),
        ),
        Index(None, "state", "created_at"),
        Index(None, "conversation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="open")
    staff: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]

    def record(self) -> HandoffRecord:
        return HandoffRecord(
            id=self.id,
            conversation_id=self.conversation_id,
            reason=self.reason,
            state=self.state,
            staff=self.staff,
            created_at=self.created_at,
            claimed_at=self.claimed_at,
            resolved_at=self.resolved_at,
            first_reply_at=self.first_reply_at,
        )


class FeedbackRow(Base):
    """The user's 👍 (+1) or 👎 (-1) on one message; a later vote replaces an earlier one."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("message_id"),
        CheckConstraint("value IN (-1, 1)", name="value"),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffRow(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> StaffRecord:
        return StaffRecord(
            id=self.id,
            username=self.username,
            password_hash=self.password_hash,
            role=self.role,
            failed_logins=self.failed_logins,
            locked_until=self.locked_until,
            created_at=self.created_at,
        )


class KbVersionRow(Base):
    __tablename__ = "kb_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> KbVersionRecord:
        metrics = {str(k): float(v) for k, v in json.loads(self.metrics).items()}
        return KbVersionRecord(self.version, metrics, self.note, self.recorded_at)


class FaqDraftRow(Base):
    __tablename__ = "faq_drafts"
    __table_args__ = (Index(None, "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> FaqDraftRecord:
        return FaqDraftRecord(
            id=self.id,
            question=self.question,
            answer=self.answer,
            basis=self.basis,
            author=self.author,
            state=self.state,
            created_at=self.created_at,
            conversation_id=self.conversation_id,
        )


class DeliveryRow(Base):
    """The outbox: one delivery per outbound message; workers claim due rows by pushing a lease forward."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("message_id"),
        Index(None, "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> DeliveryRecord:
        return DeliveryRecord(
            id=self.id,
            message_id=self.message_id,
            channel=self.channel,
            chat_id=self.chat_id,
            text=self.text,
            kind=self.kind,
            state=self.state,
            attempts=self.attempts,
            next_attempt_at=self.next_attempt_at,
            last_error=self.last_error,
            platform_message_id=self.platform_message_id,
        )


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> AuditRecord:
        return AuditRecord(self.id, self.actor, self.action, self.detail, self.created_at)


class FormTokenRow(Base):
    """A console form's one-time token, claimed in the transaction that does the form's work, so the same
    form posted twice (to any worker) does it once. `result_id` is what the work made (a message or FAQ
    draft id); rows older than a day or so are purged."""

    __tablename__ = "form_tokens"
    __table_args__ = (Index(None, "created_at"),)

    token: Mapped[str] = mapped_column(String(128), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    result_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffAlertRow(Base):
    """A handoff alert for one notification target (WeCom robot, Telegram chat), sent by whichever worker
    holds the target's lease."""

    __tablename__ = "staff_alerts"
    __table_args__ = (
        Index(None, "target", "state", "id"),
        Index(None, "state", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255))
    question: Mapped[str] = mapped_column(Text)
    attempt: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(32))
    user_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]

    def record(self) -> StaffAlertRecord:
        alert = HandoffAlert(
            conversation_id=self.conversation_id,
            reason=self.reason,
            question=self.question,
            attempt=self.attempt,
            channel=self.channel,
            user=self.user_name,
            created_at=self.created_at,
        )
        return StaffAlertRecord(self.id, self.target, alert, self.attempts, self.state)


class StaffAlertPostRow(Base):
    """One message posted (or tried) to a notification target: the last minute's rows are its budget."""

    __tablename__ = "staff_alert_posts"
    __table_args__ = (Index(None, "target", "posted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(16))
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffAlertLeaseRow(Base):
    """Which worker sends to a notification target now, and until when (renewed before every post)."""

    __tablename__ = "staff_alert_leases"

    target: Mapped[str] = mapped_column(String(16), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]


def _utc_on_set(_target: Any, value: datetime | None, _old: Any, _initiator: Any) -> datetime | None:
    return as_utc(value)


def _normalise_timestamps() -> None:
    """Every timestamp assigned to a row is stored as UTC, so records read back from the same session
    (not only from the database) are in UTC too."""
    for mapper in Base.registry.mappers:
        for prop in mapper.column_attrs:
            if isinstance(prop.columns[0].type, UTCDateTime):
                event.listen(getattr(mapper.class_, prop.key), "set", _utc_on_set, retval=True)


_normalise_timestamps()


class ChannelStateRow(Base):
    """A small value a channel keeps for every worker: a platform access token with its expiry, a sync
    cursor. Keys are namespaced by channel ("wechat:access_token", "wechat_kf:cursor:…")."""

    __tablename__ = "channel_state"

    key: Mapped[str] = mapped_column(String(191), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EdgeNonceRow(Base):
    """A signed (timestamp, nonce) pair a platform callback used, and the hash of the body it carried."""

    __tablename__ = "edge_nonces"
    __table_args__ = (Index(None, "expires_at"),)

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce_key: Mapped[str] = mapped_column(String(191), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
