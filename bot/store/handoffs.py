"""The handoffs repository: a conversation waiting for a person, claimed by one, resolved back to the bot."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.store.columns import utcnow
from bot.store.engine import Transactions
from bot.store.models import ConversationRow, HandoffRow
from bot.store.records import ConversationState, HandoffRecord, HandoffState
from bot.store.rows import check_text, insert_or_get, require
from config.errors import StoreError

ACTIVE: tuple[HandoffState, ...] = ("open", "claimed")
REASON_CHARS = 255


class Handoffs:
    """Every method runs in a transaction of its own; a handoff's conversation is locked before it."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def open(self, conversation_id: int, reason: str) -> HandoffRecord:
        """Open a handoff (conversation → "waiting"), or return the one already open or claimed."""
        with self._tx.write() as session:
            conversation = require(session, ConversationRow, conversation_id, for_update=True)
            existing = _active(session, conversation_id)
            if existing is None:
                now = utcnow()
                row = HandoffRow(
                    conversation_id=conversation_id, reason=_reason(reason), state="open", created_at=now
                )
                existing, inserted = insert_or_get(session, row, lambda: _active(session, conversation_id))
                if inserted:
                    conversation.state = "waiting"
                    conversation.updated_at = now
            session.flush()
            return existing.record()

    def claim(self, handoff_id: int, staff: str) -> HandoffRecord:
        """Staff take the conversation (→ "staff"); StoreError if resolved or claimed by someone else."""
        staff = check_text(staff, "staff", max_chars=128)
        with self._tx.write() as session:
            handoff = _unresolved(session, handoff_id)
            if handoff.state == "claimed" and handoff.staff != staff:
                raise StoreError(
                    f"该会话已由 {handoff.staff} 接手 / already claimed by {handoff.staff}; "
                    "ask them to release it first"
                )
            if handoff.state == "open":
                handoff.state, handoff.staff, handoff.claimed_at = "claimed", staff, utcnow()
            _set_conversation(session, handoff.conversation_id, "staff")
            session.flush()
            return handoff.record()

    def release(self, handoff_id: int) -> HandoffRecord:
        """Give the conversation back to the queue (handoff "open", conversation "waiting")."""
        with self._tx.write() as session:
            handoff = _unresolved(session, handoff_id)
            handoff.state, handoff.staff, handoff.claimed_at = "open", None, None
            _set_conversation(session, handoff.conversation_id, "waiting")
            session.flush()
            return handoff.record()

    def resolve(self, handoff_id: int, staff: str) -> HandoffRecord:
        """Close the handoff; the bot answers again (streak reset). StoreError if already resolved."""
        staff = check_text(staff, "staff", max_chars=128)
        with self._tx.write() as session:
            handoff = _unresolved(session, handoff_id)
            handoff.state, handoff.staff, handoff.resolved_at = "resolved", staff, utcnow()
            conversation = _set_conversation(session, handoff.conversation_id, "bot")
            conversation.low_confidence_streak = 0
            session.flush()
            return handoff.record()

    def note_staff_reply(self, handoff_id: int) -> None:
        """Remember when staff first replied (set once)."""
        with self._tx.write() as session:
            require(session, HandoffRow, handoff_id)
            session.execute(
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id, HandoffRow.first_reply_at.is_(None))
                .values(first_reply_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def active_for(self, conversation_id: int) -> HandoffRecord | None:
        """The conversation's open or claimed handoff, if any."""
        with self._tx.read() as session:
            row = _active(session, conversation_id)
            return row.record() if row is not None else None

    def waiting(self) -> list[HandoffRecord]:
        """Open and claimed handoffs, oldest first."""
        with self._tx.read() as session:
            rows = session.scalars(
                select(HandoffRow)
                .where(HandoffRow.state.in_(ACTIVE))
                .order_by(HandoffRow.created_at, HandoffRow.id)
            )
            return [row.record() for row in rows]


def _active(session: Session, conversation_id: int) -> HandoffRow | None:
    return session.scalars(
        select(HandoffRow).where(HandoffRow.conversation_id == conversation_id, HandoffRow.state.in_(ACTIVE))
    ).one_or_none()


def _unresolved(session: Session, handoff_id: int) -> HandoffRow:
    """The handoff, locked after its conversation (always conversation first: no deadlocks)."""
    conversation_id = require(session, HandoffRow, handoff_id).conversation_id
    require(session, ConversationRow, conversation_id, for_update=True)
    handoff = require(session, HandoffRow, handoff_id, for_update=True)
    if handoff.state == "resolved":
        raise StoreError(
            f"该转人工请求已处理完毕（{handoff.staff}）/ "
            f"handoff {handoff_id} already resolved by {handoff.staff}"
        )
    return handoff


def _set_conversation(session: Session, conversation_id: int, state: ConversationState) -> ConversationRow:
    conversation = require(session, ConversationRow, conversation_id, for_update=True)
    conversation.state = state
    conversation.updated_at = utcnow()
    return conversation


def _reason(reason: str) -> str:
    reason = reason.strip() or "unspecified"
    return reason[:REASON_CHARS]
