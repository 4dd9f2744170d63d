"""The conversation store: SQLAlchemy 2 on SQLite or PostgreSQL, schema by Alembic, frozen records out."""

from __future__ import annotations

from bot.store.records import (
    AlertTargetStatus,
    AuditRecord,
    ConversationRecord,
    DailyCount,
    DeliveryRecord,
    FailedDelivery,
    FaqDraftRecord,
    FormOutcome,
    FormUse,
    HandoffAlert,
    HandoffRecord,
    InboundResult,
    KbVersionRecord,
    MessageRecord,
    QueuedReply,
    StaffAlertRecord,
    StaffRecord,
)
from bot.store.store import Store

__all__ = [
    "AlertTargetStatus",
    "AuditRecord",
    "ConversationRecord",
    "DailyCount",
    "DeliveryRecord",
    "FailedDelivery",
    "FaqDraftRecord",
    "FormOutcome",
    "FormUse",
    "HandoffAlert",
    "HandoffRecord",
    "InboundResult",
    "KbVersionRecord",
    "MessageRecord",
    "QueuedReply",
    "StaffAlertRecord",
    "StaffRecord",
    "Store",
]
