"""The deliveries repository (the outbox): deliveries of stored outbound messages, claimed by one worker
at a time, and replies stored and queued in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.messages import REPLY_KINDS, ReplyKind
from bot.store import form_tokens
from bot.store.columns import utcnow
from bot.store.conversations import record_outbound, reply_kind
from bot.store.engine import Transactions
from bot.store.models import ConversationRow, DeliveryRow, MessageRow
from bot.store.records import DeliveryRecord, FailedDelivery, FormUse, QueuedReply
from bot.store.rows import check_aware, check_choice, insert_or_get, require, without_nul
from config.errors import StoreError


class Deliveries:
    """Every method runs in a transaction of its own. A delivery's `attempts` counts finished sends."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def enqueue(
        self, message_id: int, channel: str, chat_id: str, text: str, kind: ReplyKind
    ) -> DeliveryRecord:
        """Queue a stored message for sending, due now; a second call for the message returns the first."""
        with self._tx.write() as session:
            return _enqueue(session, message_id, channel, chat_id, text, kind)

    def queue_reply(
        self,
        conversation_id: int,
        text: str,
        *,
        author: str,
        mode: str | None = None,
        form: FormUse | None = None,
    ) -> QueuedReply:
        """Store a reply ("system" or "staff:<username>") and queue it for the conversation's chat, in one
        transaction. With `form`, the first call with its token does so; a later one (from any worker)
        returns what the first stored, repeated=True."""
        with self._tx.write() as session:
            conversation = require(session, ConversationRow, conversation_id)
            claimed = None
            if form is not None:
                claimed, first = form_tokens.claim(session, form)
                if not first:
                    return _repeated(session, claimed.result_id)
            message = record_outbound(
                session,
                conversation_id,
                text,
                author=author,
                mode=mode,
                confidence=None,
                citations=(),
                latency_ms=None,
            )
            delivery = _enqueue(
                session,
                message.id,
                conversation.channel,
                conversation.chat_id,
                message.text,
                reply_kind(author),
            )
            if claimed is not None:
                form_tokens.settle(session, claimed, message.id)
            return QueuedReply(message=message, delivery=delivery, repeated=False)

    def get(self, delivery_id: int) -> DeliveryRecord:
        """One delivery (StoreError when there is none)."""
        with self._tx.read() as session:
            return require(session, DeliveryRow, delivery_id).record()

    def due(self, now: datetime, limit: int = 50) -> list[DeliveryRecord]:
        """Pending deliveries due at `now`, the earliest first."""
        check_aware(now, "now")
        with self._tx.read() as session:
            rows = session.scalars(
                select(DeliveryRow)
                .where(DeliveryRow.state == "pending", DeliveryRow.next_attempt_at <= now)
                .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
                .limit(max(limit, 0))
            )
            return [row.record() for row in rows]

    def claim(self, delivery_id: int, now: datetime, lease_s: float) -> bool:
        """Push a due delivery's next attempt `lease_s` ahead; True for exactly one of competing workers
        (one UPDATE guarded by state and due time)."""
        check_aware(now, "now")
        with self._tx.write() as session:
            result = session.connection().execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.id == delivery_id,
                    DeliveryRow.state == "pending",
                    DeliveryRow.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + timedelta(seconds=max(lease_s, 0.0)), updated_at=utcnow())
            )
            return result.rowcount == 1

    def mark_sent(self, delivery_id: int, platform_message_id: str | None) -> None:
        with self._tx.write() as session:
            row = require(session, DeliveryRow, delivery_id, for_update=True)
            row.state, row.platform_message_id, row.last_error = "sent", platform_message_id, None
            _attempted(row)

    def mark_retry(self, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
        check_aware(next_attempt_at, "next_attempt_at")
        with self._tx.write() as session:
            row = require(session, DeliveryRow, delivery_id, for_update=True)
            row.state, row.last_error, row.next_attempt_at = "pending", error, next_attempt_at
            _attempted(row)

    def mark_failed(self, delivery_id: int, error: str) -> None:
        with self._tx.write() as session:
            row = require(session, DeliveryRow, delivery_id, for_update=True)
            row.state, row.last_error = "failed", error
            _attempted(row)

    def retry(self, delivery_id: int, now: datetime | None = None) -> DeliveryRecord:
        """Queue a delivery again, due at `now` (an admin's "send again"), keeping its attempt count."""
        now = check_aware(now or utcnow(), "now")
        with self._tx.write() as session:
            row = require(session, DeliveryRow, delivery_id, for_update=True)
            row.state, row.next_attempt_at, row.updated_at = "pending", now, utcnow()
            session.flush()
            return row.record()

    def failed(self, limit: int = 50) -> list[FailedDelivery]:
        """Failed deliveries with their conversations, newest first (the console's list)."""
        with self._tx.read() as session:
            rows = session.execute(
                select(DeliveryRow, MessageRow.conversation_id)
                .join(MessageRow, MessageRow.id == DeliveryRow.message_id)
                .where(DeliveryRow.state == "failed")
                .order_by(DeliveryRow.updated_at.desc(), DeliveryRow.id.desc())
                .limit(max(limit, 0))
            )
            return [
                FailedDelivery(
                    delivery=row.record(), conversation_id=conversation_id, updated_at=row.updated_at
                )
                for row, conversation_id in rows
            ]

    def of_conversation(self, conversation_id: int) -> dict[int, DeliveryRecord]:
        """Each outbound message's delivery in a conversation, by message id."""
        with self._tx.read() as session:
            rows = session.scalars(
                select(DeliveryRow)
                .join(MessageRow, MessageRow.id == DeliveryRow.message_id)
                .where(MessageRow.conversation_id == conversation_id)
            )
            return {row.message_id: row.record() for row in rows}


def _enqueue(
    session: Session, message_id: int, channel: str, chat_id: str, text: str, kind: ReplyKind
) -> DeliveryRecord:
    check_choice(kind, REPLY_KINDS, "kind")
    require(session, MessageRow, message_id)
    existing = _for_message(session, message_id)
    if existing is None:
        now = utcnow()
        row = DeliveryRow(
            message_id=message_id,
            channel=channel,
            chat_id=chat_id,
            text=without_nul(text),
            kind=kind,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        existing, _ = insert_or_get(session, row, lambda: _for_message(session, message_id))
    return existing.record()


def _attempted(row: DeliveryRow) -> None:
    row.attempts += 1
    row.updated_at = utcnow()


def _repeated(session: Session, message_id: int | None) -> QueuedReply:
    delivery = _for_message(session, message_id) if message_id is not None else None
    if message_id is None or delivery is None:
        raise StoreError(f"表单令牌的回复已不存在 / the reply stored for this form is gone: {message_id}")
    message = require(session, MessageRow, message_id).record()
    return QueuedReply(message=message, delivery=delivery.record(), repeated=True)


def _for_message(session: Session, message_id: int) -> DeliveryRow | None:
    return session.scalars(select(DeliveryRow).where(DeliveryRow.message_id == message_id)).one_or_none()
