"""The outbox: deliveries of stored outbound messages, claimed by one worker at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.store import conversation_queries, form_queries
from bot.store.columns import utcnow
from bot.store.models import ConversationRow, DeliveryRow, MessageRow
from bot.store.records import DeliveryRecord, FailedDelivery, FormUse, QueuedReply
from bot.store.rows import check_aware, check_choice, insert_or_get, require, without_nul
from config.errors import StoreError

REPLY_KINDS = ("bot", "staff", "system")


def enqueue_delivery(
    session: Session, message_id: int, channel: str, chat_id: str, text: str, kind: str
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


def queue_reply(
    session: Session, conversation_id: int, text: str, *, author: str, mode: str | None, form: FormUse | None
) -> QueuedReply:
    """Store an outbound message and queue its delivery to the conversation's chat. With `form`, its
    token is claimed first: a token used before returns the message its first use stored."""
    conversation = require(session, ConversationRow, conversation_id)
    claimed = None
    if form is not None:
        claimed, first = form_queries.claim(session, form)
        if not first:
            return _repeated(session, claimed.result_id)
    message = conversation_queries.record_outbound(
        session,
        conversation_id,
        text,
        author=author,
        mode=mode,
        confidence=None,
        citations=(),
        latency_ms=None,
    )
    delivery = enqueue_delivery(
        session, message.id, conversation.channel, conversation.chat_id, message.text, message.kind
    )
    if claimed is not None:
        form_queries.settle(session, claimed, message.id)
    return QueuedReply(message, delivery, repeated=False)


def due_deliveries(session: Session, now: datetime, limit: int) -> list[DeliveryRecord]:
    check_aware(now, "now")
    rows = session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.state == "pending", DeliveryRow.next_attempt_at <= now)
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
        .limit(max(limit, 0))
    )
    return [row.record() for row in rows]


def claim_delivery(session: Session, delivery_id: int, now: datetime, lease_s: float) -> bool:
    """One UPDATE guarded by state and due time: of several workers, exactly one sees rowcount 1."""
    check_aware(now, "now")
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


def mark_sent(session: Session, delivery_id: int, platform_message_id: str | None) -> None:
    row = require(session, DeliveryRow, delivery_id, for_update=True)
    row.state, row.platform_message_id, row.last_error = "sent", platform_message_id, None
    _attempted(row)


def mark_retry(session: Session, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
    check_aware(next_attempt_at, "next_attempt_at")
    row = require(session, DeliveryRow, delivery_id, for_update=True)
    row.state, row.last_error, row.next_attempt_at = "pending", error, next_attempt_at
    _attempted(row)


def mark_failed(session: Session, delivery_id: int, error: str) -> None:
    row = require(session, DeliveryRow, delivery_id, for_update=True)
    row.state, row.last_error = "failed", error
    _attempted(row)


def retry_delivery(session: Session, delivery_id: int, now: datetime) -> DeliveryRecord:
    """Put a failed delivery back in the queue (an admin's "send again"), keeping its attempt count."""
    check_aware(now, "now")
    row = require(session, DeliveryRow, delivery_id, for_update=True)
    row.state, row.next_attempt_at, row.updated_at = "pending", now, utcnow()
    session.flush()
    return row.record()


def failed_deliveries(session: Session, limit: int) -> list[DeliveryRecord]:
    rows = session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.state == "failed")
        .order_by(DeliveryRow.updated_at.desc(), DeliveryRow.id.desc())
        .limit(max(limit, 0))
    )
    return [row.record() for row in rows]


def deliveries_of(session: Session, conversation_id: int) -> dict[int, DeliveryRecord]:
    """The delivery of each outbound message of a conversation, by message id."""
    rows = session.scalars(
        select(DeliveryRow)
        .join(MessageRow, MessageRow.id == DeliveryRow.message_id)
        .where(MessageRow.conversation_id == conversation_id)
    )
    return {row.message_id: row.record() for row in rows}


def failed_with_conversations(session: Session, limit: int) -> list[FailedDelivery]:
    """Failed deliveries, newest first, with their conversations."""
    rows = session.execute(
        select(DeliveryRow, MessageRow.conversation_id)
        .join(MessageRow, MessageRow.id == DeliveryRow.message_id)
        .where(DeliveryRow.state == "failed")
        .order_by(DeliveryRow.updated_at.desc(), DeliveryRow.id.desc())
        .limit(max(limit, 0))
    )
    return [FailedDelivery(row.record(), conversation_id, row.updated_at) for row, conversation_id in rows]


def _attempted(row: DeliveryRow) -> None:
    row.attempts += 1
    row.updated_at = utcnow()


def _repeated(session: Session, message_id: int | None) -> QueuedReply:
    delivery = _for_message(session, message_id) if message_id is not None else None
    if message_id is None or delivery is None:
        raise StoreError(f"表单令牌的回复已不存在 / the reply stored for this form is gone: {message_id}")
    return QueuedReply(require(session, MessageRow, message_id).record(), delivery.record(), repeated=True)


def _for_message(session: Session, message_id: int) -> DeliveryRow | None:
    return session.scalars(select(DeliveryRow).where(DeliveryRow.message_id == message_id)).one_or_none()
