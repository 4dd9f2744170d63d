"""The users' 👍 / 👎 for the analytics page: votes per local day and the latest 👎 with their questions."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from bot.store.analytics_queries import Period, per_day
from bot.store.models import FeedbackRow, MessageRow
from bot.store.records import DailyFeedback, DownvotedAnswer


def daily_feedback(session: Session, days: int, tz: tzinfo, now: datetime) -> list[DailyFeedback]:
    """One DailyFeedback per local day of the period, oldest first (a changed vote counts on its new day)."""
    period = Period.ending(now, days, tz)
    up = per_day(session, period, FeedbackRow.created_at, FeedbackRow.value > 0)
    down = per_day(session, period, FeedbackRow.created_at, FeedbackRow.value < 0)
    return [DailyFeedback(day, up[day], down[day]) for day in period.each_day()]


def recent_downvotes(
    session: Session, days: int, tz: tzinfo, now: datetime, limit: int
) -> list[DownvotedAnswer]:
    """The latest 👎 of the period, newest first, each with the user's last question before the reply."""
    period = Period.ending(now, days, tz)
    answer, question, earlier = aliased(MessageRow), aliased(MessageRow), aliased(MessageRow)
    question_id = (
        select(func.max(earlier.id))
        .where(
            earlier.conversation_id == answer.conversation_id,
            earlier.id < answer.id,
            earlier.direction == "in",
            earlier.kind == "text",
        )
        .scalar_subquery()
    )
    query = (
        select(
            answer.id,
            answer.conversation_id,
            answer.author,
            answer.text,
            question.text,
            FeedbackRow.comment,
            FeedbackRow.created_at,
        )
        .select_from(FeedbackRow)
        .join(answer, answer.id == FeedbackRow.message_id)
        .outerjoin(question, question.id == question_id)
        .where(FeedbackRow.value < 0, period.holds(FeedbackRow.created_at))
        .order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc())
        .limit(max(limit, 0))
    )
    return [DownvotedAnswer(*row) for row in session.execute(query)]
