"""The outbox table: one delivery per outbound message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.messages import ReplyKind
from bot.store.columns import utcnow
from bot.store.models.base import Base
from bot.store.records import DeliveryRecord, DeliveryState


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
    kind: Mapped[ReplyKind] = mapped_column(String(16))
    state: Mapped[DeliveryState] = mapped_column(String(16), default="pending")
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
