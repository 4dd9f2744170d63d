"""Inbound messages whose turn never finished: the dispatcher marks each message handled when its turn
ends; recovery looks for those left unmarked (bot/service/recovery.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from bot.store.engine import Transactions
from bot.store.models import MessageRow
from bot.store.records import MessageRecord
from bot.store.rows import check_aware


class InboundLedger:
    """Which inbound messages were handled."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def mark_handled(self, message_id: int, now: datetime) -> None:
        check_aware(now, "now")
        with self._tx.write() as session:
            session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.handled_at.is_(None))
                .values(handled_at=now)
            )

    def unhandled(self, before: datetime, limit: int = 50) -> list[MessageRecord]:
        """Inbound messages stored before `before` whose turn never finished, oldest first."""
        check_aware(before, "before")
        with self._tx.read() as session:
            rows = session.scalars(
                select(MessageRow)
                .where(
                    MessageRow.handled_at.is_(None),
                    MessageRow.direction == "in",
                    MessageRow.created_at < before,
                )
                .order_by(MessageRow.id)
                .limit(max(limit, 0))
            )
            return [row.record() for row in rows]
