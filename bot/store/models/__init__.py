"""The store's tables as SQLAlchemy 2 ORM classes, one module per aggregate; each row turns itself into
a frozen record."""

from __future__ import annotations

from bot.store.models.admin import FaqDraftRow, FormTokenRow, KbVersionRow
from bot.store.models.base import Base, normalise_timestamps
from bot.store.models.channel_state import ChannelStateRow, EdgeNonceRow
from bot.store.models.conversations import (
    ConversationRow,
    FeedbackRow,
    HandoffRow,
    MessageRow,
    MessageSuggestionsRow,
)
from bot.store.models.outbox import DeliveryRow
from bot.store.models.staff import (
    AuditRow,
    StaffAlertLeaseRow,
    StaffAlertPostRow,
    StaffAlertRow,
    StaffRow,
)

normalise_timestamps()

__all__ = [
    "AuditRow",
    "Base",
    "ChannelStateRow",
    "ConversationRow",
    "DeliveryRow",
    "EdgeNonceRow",
    "FaqDraftRow",
    "FeedbackRow",
    "FormTokenRow",
    "HandoffRow",
    "KbVersionRow",
    "MessageRow",
    "MessageSuggestionsRow",
    "StaffAlertLeaseRow",
    "StaffAlertPostRow",
    "StaffAlertRow",
    "StaffRow",
]
