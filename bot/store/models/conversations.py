"""Conversations, their messages (with the questions a reply offered and the votes on it) and handoffs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.messages import ChatType
from bot.store.columns import citations_from_json, utcnow
from bot.store.models.base import Base
from bot.store.records import (
    ConversationRecord,
    ConversationState,
    HandoffRecord,
    HandoffState,
    MessageDirection,
    MessageKind,
    MessageRecord,
)


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
    chat_type: Mapped[ChatType] = mapped_column(String(16), default="private")
    state: Mapped[ConversationState] = mapped_column(String(16), default="bot")
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
        Index(None, "handled_at", "direction"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[MessageDirection] = mapped_column(String(3))
    author: Mapped[str] = mapped_column(String(128))
    kind: Mapped[MessageKind] = mapped_column(String(32), default="text")
    text: Mapped[str] = mapped_column(Text)
    channel_message_id: Mapped[str | None] = mapped_column(String(255))
    mode: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    citations: Mapped[str] = mapped_column(Text, default="[]")
    latency_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]  # an inbound message's turn finished (None: not yet, or cut short)

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
            handled_at=self.handled_at,
        )


class MessageSuggestionsRow(Base):
    """The questions a bot reply offers to pick from (您是不是想问), kept beside the message so a page
    that shows the reply later (history, live event stream) shows them too."""

    __tablename__ = "message_suggestions"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    questions: Mapped[str] = mapped_column(Text)


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
    state: Mapped[HandoffState] = mapped_column(String(16), default="open")
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
