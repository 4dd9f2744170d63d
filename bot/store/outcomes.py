"""What became of each question users asked: the reply it got, and whether a handoff opened for it.

A question is a user's text message. Its reply is the first message the bot or the system sent in the
conversation after it, before the user's next question. A handoff opened for the question is one opened in
the conversation between the question and that reply (the dispatcher opens it, then stores the reply).
Every refusal that is not small talk (a greeting, thanks, an empty message) opens a handoff, so a refusal
without one is counted as "other", never as a question the bot failed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from bot.store.models import HandoffRow, MessageRow
from bot.store.periods import Period

Outcome = Literal["answered", "low_confidence", "escalated", "other"]
_SPACES = re.compile(r"\s+")
_BESIDE_WIDE = re.compile(r" (?=[^\x00-\x7f])|(?<=[^\x00-\x7f]) ")


@dataclass(frozen=True)
class Question:
    """One question of a period, with what became of it (`text` empty unless asked for)."""

    text: str
    asked_at: datetime
    outcome: Outcome


def normalise(text: str) -> str:
    """How identical questions match: case folded, runs of whitespace made one space, and no space next to
    a Chinese character or full-width sign (企业标准 要公开吗 = 企业标准要公开吗)."""
    return _BESIDE_WIDE.sub("", collapse(text)).casefold()


def collapse(text: str) -> str:
    """The text with its whitespace runs made single spaces, trimmed."""
    return _SPACES.sub(" ", text).strip()


def questions(
    session: Session, period: Period, low_confidence_below: float, *, with_text: bool
) -> Iterator[Question]:
    """The questions asked in the period; answers with a confidence below `low_confidence_below` (the
    answer chain's escalation threshold) count as low-confidence."""
    question, later, reply = aliased(MessageRow), aliased(MessageRow), aliased(MessageRow)
    in_conversation = and_(later.conversation_id == question.conversation_id, later.id > question.id)
    reply_id = select(func.min(later.id)).where(
        in_conversation, later.direction == "out", later.author.in_(("bot", "system"))
    )
    next_question_id = select(func.min(later.id)).where(
        in_conversation, later.direction == "in", later.kind == "text"
    )
    asked = (
        select(
            question.id,
            question.conversation_id,
            question.created_at,
            (question.text if with_text else literal("")).label("text"),
            reply_id.scalar_subquery().label("reply_id"),
            next_question_id.scalar_subquery().label("next_question_id"),
        )
        .where(question.direction == "in", question.kind == "text", period.holds(question.created_at))
        .subquery()
    )
    handoff_opened = exists().where(
        HandoffRow.conversation_id == asked.c.conversation_id,
        HandoffRow.created_at >= asked.c.created_at,
        HandoffRow.created_at <= reply.created_at,
    )
    replied_in_turn = and_(
        reply.id == asked.c.reply_id,
        or_(asked.c.next_question_id.is_(None), asked.c.reply_id < asked.c.next_question_id),
    )
    query = (
        select(
            asked.c.text,
            asked.c.created_at,
            reply.author,
            reply.mode,
            reply.confidence,
            handoff_opened.label("handoff_opened"),
        )
        .select_from(asked)
        .outerjoin(reply, replied_in_turn)
    )
    for text, asked_at, author, mode, confidence, opened in session.execute(query):
        outcome = _outcome(author, mode, confidence, bool(opened), low_confidence_below)
        yield Question(text=str(text or ""), asked_at=asked_at, outcome=outcome)


def _outcome(
    author: str | None, mode: str | None, confidence: float | None, handoff_opened: bool, low_below: float
) -> Outcome:
    if handoff_opened:
        return "escalated"
    if author != "bot" or mode == "refusal":  # no bot answer: queued for staff, or small talk
        return "other"
    if confidence is not None and confidence < low_below:
        return "low_confidence"
    return "answered"
