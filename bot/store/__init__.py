"""The conversation store: SQLAlchemy 2 on SQLite or PostgreSQL, schema by Alembic, frozen records out."""

from __future__ import annotations

from bot.store.records import (
    AuditRecord,
    ConversationRecord,
    DailyCount,
    DeliveryRecord,
    FaqDraftRecord,
    HandoffRecord,
    InboundResult,
    KbVersionRecord,
    MessageRecord,
    StaffRecord,
)
from bot.store.store import Store

__all__ = [
    "AuditRecord",
    "ConversationRecord",
    "DailyCount",
    "DeliveryRecord",
    "FaqDraftRecord",
    "HandoffRecord",
    "InboundResult",
    "KbVersionRecord",
    "MessageRecord",
    "StaffRecord",
    "Store",
]
