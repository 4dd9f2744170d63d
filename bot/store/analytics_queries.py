"""Counts for the analytics page, grouped by the database into UTC hours and by Python into local days
(exact for every time zone whose offset is a whole number of hours, such as Asia/Shanghai)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.store.models import HandoffRow, MessageRow
from bot.store.records import DailyCount
from bot.store.rows import check_aware


def daily_counts(session: Session, days: int, tz: tzinfo, now: datetime) -> list[DailyCount]:
    """One DailyCount per day for the `days` days up to and including today in `tz`, oldest first.
    questions: text messages users sent; answered: bot replies that answered (any mode but a refusal);
    escalated: handoffs opened."""
    check_aware(now, "now")
    days = max(days, 1)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=tz).astimezone(UTC)
    dialect = session.get_bind().dialect.name

    messages = MessageRow.created_at
    questions = _per_day(
        session,
        dialect,
        tz,
        messages,
        MessageRow.direction == "in",
        MessageRow.kind == "text",
        messages >= since,
    )
    answered = _per_day(
        session,
        dialect,
        tz,
        messages,
        MessageRow.direction == "out",
        MessageRow.author == "bot",
        MessageRow.mode.is_not(None),
        MessageRow.mode != "refusal",
        messages >= since,
    )
    escalated = _per_day(session, dialect, tz, HandoffRow.created_at, HandoffRow.created_at >= since)
    return [
        DailyCount(day, questions[day], answered[day], escalated[day])
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def _hour_bucket(dialect: str, column: InstrumentedAttribute[datetime]) -> ColumnElement[str]:
    if dialect == "sqlite":  # stored as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
        return func.strftime("%Y-%m-%d %H", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")


def _per_day(
    session: Session,
    dialect: str,
    tz: tzinfo,
    column: InstrumentedAttribute[datetime],
    *conditions: ColumnElement[bool],
) -> Counter[date]:
    bucket = _hour_bucket(dialect, column)
    counts: Counter[date] = Counter()
    for hour_text, count in session.execute(select(bucket, func.count()).where(*conditions).group_by(bucket)):
        hour = datetime.strptime(str(hour_text), "%Y-%m-%d %H").replace(tzinfo=UTC)
        counts[hour.astimezone(tz).date()] += int(count)
    return counts
