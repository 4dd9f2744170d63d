"""Staff accounts, the audit log, and the queue of handoff alerts sent to staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.columns import utcnow
from bot.store.models.base import Base
from bot.store.records import AlertState, AuditRecord, HandoffAlert, StaffAlertRecord, StaffRecord, StaffRole


class StaffRow(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole] = mapped_column(String(16))
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


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> AuditRecord:
        return AuditRecord(
            id=self.id, actor=self.actor, action=self.action, detail=self.detail, created_at=self.created_at
        )


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
    state: Mapped[AlertState] = mapped_column(String(16), default="pending")
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
        return StaffAlertRecord(
            id=self.id, target=self.target, alert=alert, attempts=self.attempts, state=self.state
        )


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
