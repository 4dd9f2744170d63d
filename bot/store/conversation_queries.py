"""Conversations, their messages and the feedback on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.messages import IncomingMessage
from bot.store.columns import citations_to_json, suggestions_from_json, suggestions_to_json, utcnow
from bot.store.models import ConversationRow, FeedbackRow, MessageRow, MessageSuggestionsRow
from bot.store.records import CONVERSATION_STATES, ConversationRecord, InboundResult, MessageRecord
from bot.store.rows import check_choice, insert_or_get, require, without_nul
from config.errors import StoreError
from knowledge.types import Citation

MESSAGES_AFTER_LIMIT = 500


def record_inbound(session: Session, message: IncomingMessage) -> InboundResult:
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
    return InboundResult(conversation.record(), row.record(), duplicate=False)


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
    conversation = require(session, ConversationRow, conversation_id)
    row = MessageRow(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction="out",
        author=author,
        kind=_outbound_kind(author),
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


def suggestions_of(session: Session, message_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The questions each of these messages offered, for those that offered any."""
    if not message_ids:
        return {}
    rows = session.scalars(
        select(MessageSuggestionsRow).where(MessageSuggestionsRow.message_id.in_(list(message_ids)))
    )
    return {row.message_id: suggestions_from_json(row.questions) for row in rows}


def set_state(session: Session, conversation_id: int, state: str) -> ConversationRecord:
    check_choice(state, CONVERSATION_STATES, "state")
    conversation = require(session, ConversationRow, conversation_id, for_update=True)
    conversation.state = state
    conversation.updated_at = utcnow()
    session.flush()
    return conversation.record()


def set_low_confidence_streak(session: Session, conversation_id: int, streak: int) -> None:
    if streak < 0:
        raise StoreError(f"连续低置信次数不能为负 / streak must not be negative: {streak}")
    require(session, ConversationRow, conversation_id, for_update=True).low_confidence_streak = streak


def find_conversation(session: Session, channel: str, chat_id: str, user_id: str) -> ConversationRow | None:
    return session.scalars(
        select(ConversationRow).where(
            ConversationRow.channel == channel,
            ConversationRow.chat_id == chat_id,
            ConversationRow.user_id == user_id,
        )
    ).one_or_none()


def transcript(session: Session, conversation_id: int, limit: int) -> list[MessageRecord]:
    rows = session.scalars(
        select(MessageRow)
        .where(MessageRow.conversation_id == conversation_id)
        .order_by(MessageRow.id.desc())
        .limit(max(limit, 0))
    ).all()
    return [row.record() for row in reversed(rows)]


def messages_after(session: Session, conversation_id: int, after_id: int) -> list[MessageRecord]:
    rows = session.scalars(
        select(MessageRow)
        .where(MessageRow.conversation_id == conversation_id, MessageRow.id > after_id)
        .order_by(MessageRow.id)
        .limit(MESSAGES_AFTER_LIMIT)
    )
    return [row.record() for row in rows]


def search_conversations(session: Session, text: str, limit: int) -> list[ConversationRecord]:
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
    return [row.record() for row in session.scalars(query.limit(max(limit, 0)))]


def record_feedback(session: Session, message_id: int, value: int, comment: str | None) -> None:
    if value not in (1, -1):
        raise StoreError(f"反馈只能是 1 或 -1 / feedback must be 1 or -1, got {value}")
    require(session, MessageRow, message_id)
    comment = without_nul(comment) if comment else None
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


def _feedback_on(session: Session, message_id: int) -> FeedbackRow | None:
    return session.scalars(
        select(FeedbackRow).where(FeedbackRow.message_id == message_id).with_for_update()
    ).one_or_none()


def _conversation_for(session: Session, message: IncomingMessage) -> ConversationRow:
    """The conversation of (channel, chat, user), created if new; two processes creating it at once end
    up with the same row."""
    found = find_conversation(session, message.channel, message.chat_id, message.user_id)
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
        session, row, lambda: find_conversation(session, message.channel, message.chat_id, message.user_id)
    )
    return row


def _find_message(session: Session, channel: str, platform_id: str) -> MessageRow | None:
    return session.scalars(
        select(MessageRow).where(MessageRow.channel == channel, MessageRow.channel_message_id == platform_id)
    ).one_or_none()


def _duplicate(session: Session, message: MessageRow) -> InboundResult:
    conversation = require(session, ConversationRow, message.conversation_id)
    return InboundResult(conversation.record(), message.record(), duplicate=True)


def _outbound_kind(author: str) -> str:
    if author in ("bot", "system"):
        return author
    if author.startswith("staff:") and author.removeprefix("staff:").strip():
        return "staff"
    raise StoreError(
        f"发送者无效 / invalid author {author!r}: expected 'bot', 'system' or 'staff:<username>'"
    )
