"""What admins keep: knowledge-base versions with their metrics, FAQ drafts, and console form tokens."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.columns import utcnow
from bot.store.models.base import Base
from bot.store.records import FaqDraftRecord, FaqDraftState, FormPurpose, KbVersionRecord


class KbVersionRow(Base):
    __tablename__ = "kb_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    golden_set_fingerprint: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def record(self) -> KbVersionRecord:
        metrics = {str(k): float(v) for k, v in json.loads(self.metrics).items()}
        return KbVersionRecord(
            version=self.version,
            metrics=metrics,
            golden_set_fingerprint=self.golden_set_fingerprint,
            recorded_at=self.recorded_at,
        )


class FaqDraftRow(Base):
    __tablename__ = "faq_drafts"
    __table_args__ = (Index(None, "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    state: Mapped[FaqDraftState] = mapped_column(String(16), default="pending")
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


class FormTokenRow(Base):
    """A console form's one-time token, claimed in the transaction that does the form's work, so the same
    form posted twice (to any worker) does it once. `result_id` is what the work made (a message or FAQ
    draft id); rows older than a day or so are purged."""

    __tablename__ = "form_tokens"
    __table_args__ = (Index(None, "created_at"),)

    token: Mapped[str] = mapped_column(String(128), primary_key=True)
    purpose: Mapped[FormPurpose] = mapped_column(String(16), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    result_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
