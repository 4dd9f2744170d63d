"""The conversations repository: conversations, their messages either way, and the users' votes.

A little over 300 lines: recording a message in and a reply out share the conversation lookups below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.messages import IncomingMessage, ReplyKind
from bot.store.columns import citations_to_json, suggestions_from_json, suggestions_to_json, utcnow
from bot.store.engine import Transactions
from bot.store.models import ConversationRow, FeedbackRow, MessageRow, MessageSuggestionsRow
from bot.store.records import ConversationRecord, InboundResult, MessageRecord
from bot.store.rows import insert_or_get, require, without_nul
from config.errors import StoreError
from knowledge.types import Citation

MESSAGES_AFTER_LIMIT = 500


class Conversations:
    """Every method runs in a transaction of its own and returns frozen records."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def record_inbound(self, message: IncomingMessage) -> InboundResult:
        """Create or update the conversation of (channel, chat_id, user_id) and store the message; a
        message whose (channel, message_id) was stored before returns the stored rows, duplicate=True."""
        with self._tx.write() as session:
            return _record_inbound(session, message)

    def record_outbound(
        self,
        conversation_id: int,
        text: str,
        *,
        author: str,
        mode: str | None = None,
        confidence: float | None = None,
        citations: Sequence[Citation] = (),
        latency_ms: float | None = None,
        suggestions: Sequence[str] = (),
        handles: int | None = None,
    ) -> MessageRecord:
        """Store a reply; `author` is "bot", "system" or "staff:<username>". With `handles`, that inbound
        message is marked handled in the same transaction (its answer is stored: never answer it again)."""
        with self._tx.write() as session:
            stored = record_outbound(
                session,
                conversation_id,
                text,
                author=author,
                mode=mode,
                confidence=confidence,
                citations=citations,
                latency_ms=latency_ms,
                suggestions=suggestions,
            )
            if handles is not None:
                session.execute(
                    update(MessageRow)
                    .where(MessageRow.id == handles, MessageRow.handled_at.is_(None))
                    .values(handled_at=utcnow())
                )
            return stored

    def get(self, conversation_id: int) -> ConversationRecord:
        """One conversation (StoreError when there is none)."""
        with self._tx.read() as session:
            return require(session, ConversationRow, conversation_id).record()

    def find(self, channel: str, chat_id: str, user_id: str) -> ConversationRecord | None:
        with self._tx.read() as session:
            row = _find(session, channel, chat_id, user_id)
            return row.record() if row is not None else None

    def set_low_confidence_streak(self, conversation_id: int, streak: int) -> None:
        if streak < 0:
            raise StoreError(f"连续低置信次数不能为负 / streak must not be negative: {streak}")
        with self._tx.write() as session:
            require(session, ConversationRow, conversation_id, for_update=True).low_confidence_streak = streak

    def search(self, text: str, *, limit: int = 50) -> list[ConversationRecord]:
        """Conversations whose user, name, chat or any message contains `text`, latest first."""
        query = select(ConversationRow).order_by(ConversationRow.updated_at.desc(), ConversationRow.id.desc())
        needle = text.strip()
        if needle:
            in_messages = select(MessageRow.conversation_id).where(
                MessageRow.text.icontains(needle, autoescape=True)
            )
            query = query.where(
                or_(
                    ConversationRow.user_id.icontains(needle, autoescape=True),
                    ConversationRow.user_name.icontains(needle, autoescape=True),
                    ConversationRow.chat_id.icontains(needle, autoescape=True),
                    ConversationRow.id.in_(in_messages),
                )
            )
        with self._tx.read() as session:
            return [row.record() for row in session.scalars(query.limit(max(limit, 0)))]

    def transcript(self, conversation_id: int, *, limit: int = 500) -> list[MessageRecord]:
        """The last `limit` messages, oldest first."""
        with self._tx.read() as session:
            rows = session.scalars(
                select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id)
                .order_by(MessageRow.id.desc())
                .limit(max(limit, 0))
            ).all()
            return [row.record() for row in reversed(rows)]

    def messages_after(self, conversation_id: int, after_id: int) -> list[MessageRecord]:
        """Messages with id > after_id, oldest first (at most 500 per call)."""
        with self._tx.read() as session:
            rows = session.scalars(
                select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id, MessageRow.id > after_id)
                .order_by(MessageRow.id)
                .limit(MESSAGES_AFTER_LIMIT)
            )
            return [row.record() for row in rows]

    def with_suggestions(self, records: Sequence[MessageRecord]) -> list[MessageRecord]:
        """The records with the questions each bot reply offered to pick from (one query)."""
        replies = [r.id for r in records if r.direction == "out" and r.author == "bot"]
        if not replies:
            return list(records)
        with self._tx.read() as session:
            rows = session.scalars(
                select(MessageSuggestionsRow).where(MessageSuggestionsRow.message_id.in_(replies))
            )
            offered = {row.message_id: suggestions_from_json(row.questions) for row in rows}
        return [replace(r, suggestions=offered[r.id]) if r.id in offered else r for r in records]

    def message(self, message_id: int) -> MessageRecord:
        """One stored message (StoreError when there is none)."""
        with self._tx.read() as session:
            return require(session, MessageRow, message_id).record()

    def reply_in(self, conversation_id: int, message_id: int) -> MessageRecord | None:
        """The stored reply `message_id` when it is an outbound message of that conversation, else None."""
        with self._tx.read() as session:
            row = session.get(MessageRow, message_id)
            if row is None or row.conversation_id != conversation_id or row.direction != "out":
                return None
            return row.record()

    def conversation_of_message(self, message_id: int) -> int:
        """The conversation a stored message belongs to (StoreError when there is no such message)."""
        with self._tx.read() as session:
            return require(session, MessageRow, message_id).conversation_id

    def record_feedback(self, message_id: int, value: int, comment: str | None = None) -> None:
        """+1 or -1 on a message; a later vote on the same message replaces the earlier one."""
        if value not in (1, -1):
            raise StoreError(f"反馈只能是 1 或 -1 / feedback must be 1 or -1, got {value}")
        comment = without_nul(comment) if comment else None
        with self._tx.write() as session:
            require(session, MessageRow, message_id)
            current = _feedback_on(session, message_id)
            if current is None:
                current, inserted = insert_or_get(
                    session,
                    FeedbackRow(message_id=message_id, value=value, comment=comment),
                    lambda: _feedback_on(session, message_id),
                )
                if inserted:
                    return
            current.value = value
            current.comment = comment
            current.created_at = utcnow()


def record_outbound(
    session: Session,
    conversation_id: int,
    text: str,
    *,
    author: str,
    mode: str | None,
    confidence: float | None,
    citations: Sequence[Citation],
    latency_ms: float | None,
    suggestions: Sequence[str] = (),
) -> MessageRecord:
    """Store a reply in the caller's transaction (the outbox stores and queues one in a single one)."""
    conversation = require(session, ConversationRow, conversation_id)
    row = MessageRow(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction="out",
        author=author,
        kind=reply_kind(author),
        text=without_nul(text),
        mode=mode,
        confidence=confidence,
        citations=citations_to_json(citations),
        latency_ms=latency_ms,
    )
    session.add(row)
    conversation.updated_at = utcnow()
    session.flush()
    if not suggestions:
        return row.record()
    session.add(MessageSuggestionsRow(message_id=row.id, questions=suggestions_to_json(suggestions)))
    session.flush()
    return replace(row.record(), suggestions=tuple(suggestions))


def _record_inbound(session: Session, message: IncomingMessage) -> InboundResult:
    platform_id = message.message_id or None
    if platform_id is not None and (seen := _find_message(session, message.channel, platform_id)):
        return _duplicate(session, seen)
    conversation = _conversation_for(session, message)
    row = MessageRow(
        conversation_id=conversation.id,
        channel=message.channel,
        direction="in",
        author="user",
        kind=message.kind,
        text=without_nul(message.text),
        channel_message_id=platform_id,
        created_at=message.received_at,
    )
    if platform_id is None:
        session.add(row)
    else:
        row, inserted = insert_or_get(
            session, row, lambda: _find_message(session, message.channel, platform_id)
        )
        if not inserted:
            return _duplicate(session, row)
    session.flush()
    conversation.updated_at = utcnow()
    if message.user_name:
        conversation.user_name = without_nul(message.user_name)
    session.flush()
    return InboundResult(conversation=conversation.record(), message=row.record(), duplicate=False)


def _find(session: Session, channel: str, chat_id: str, user_id: str) -> ConversationRow | None:
    return session.scalars(
        select(ConversationRow).where(
            ConversationRow.channel == channel,
            ConversationRow.chat_id == chat_id,
            ConversationRow.user_id == user_id,
        )
    ).one_or_none()


def _conversation_for(session: Session, message: IncomingMessage) -> ConversationRow:
    """The conversation of (channel, chat, user), created if new; two processes creating it at once end
    up with the same row."""
    found = _find(session, message.channel, message.chat_id, message.user_id)
    if found is not None:
        return found
    now = utcnow()
    row = ConversationRow(
        channel=message.channel,
        chat_id=message.chat_id,
        user_id=message.user_id,
        user_name=without_nul(message.user_name) if message.user_name else None,
        chat_type=message.chat_type,
        state="bot",
        low_confidence_streak=0,
        created_at=now,
        updated_at=now,
    )
    row, _ = insert_or_get(
        session, row, lambda: _find(session, message.channel, message.chat_id, message.user_id)
    )
    return row


def _find_message(session: Session, channel: str, platform_id: str) -> MessageRow | None:
    return session.scalars(
        select(MessageRow).where(MessageRow.channel == channel, MessageRow.channel_message_id == platform_id)
    ).one_or_none()


def _duplicate(session: Session, message: MessageRow) -> InboundResult:
    conversation = require(session, ConversationRow, message.conversation_id)
    return InboundResult(conversation=conversation.record(), message=message.record(), duplicate=True)


def _feedback_on(session: Session, message_id: int) -> FeedbackRow | None:
    return session.scalars(
        select(FeedbackRow).where(FeedbackRow.message_id == message_id).with_for_update()
    ).one_or_none()


def reply_kind(author: str) -> ReplyKind:
    """The kind of a reply by `author` ("bot", "system" or "staff:<username>"); StoreError otherwise."""
    if author == "bot":
        return "bot"
    if author == "system":
        return "system"
    if author.startswith("staff:") and author.removeprefix("staff:").strip():
        return "staff"
    raise StoreError(
        f"发送者无效 / invalid author {author!r}: expected 'bot', 'system' or 'staff:<username>'"
    )
