"""The conversation store: SQLAlchemy 2 on SQLite or PostgreSQL, schema by Alembic, a repository per
aggregate, frozen records out."""

from __future__ import annotations

from bot.store.records import (
    AlertTargetStatus,
    AuditRecord,
    ConversationRecord,
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
