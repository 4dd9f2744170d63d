"""Periods of local days for the analytics page: rows grouped by the database into UTC hours and by Python
into local days (exact for every time zone whose offset is a whole number of hours, such as
Asia/Shanghai)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.store.rows import check_aware


@dataclass(frozen=True)
class Period:
    """The `days` local days in `tz` up to and including today, from midnight `since` (UTC) to the
    midnight `until` after the last day."""

    first: date
    days: int
    tz: tzinfo
    since: datetime
    until: datetime

    @classmethod
    def ending(cls, now: datetime, days: int, tz: tzinfo) -> Period:
        check_aware(now, "now")
        days = max(days, 1)
        last = now.astimezone(tz).date()
        first = last - timedelta(days=days - 1)
        return cls(
            first=first,
            days=days,
            tz=tz,
            since=_midnight(first, tz),
            until=_midnight(last + timedelta(days=1), tz),
        )

    def holds(self, column: InstrumentedAttribute[datetime]) -> ColumnElement[bool]:
        """`column` lies within the period."""
        return and_(column >= self.since, column < self.until)

    def each_day(self) -> list[date]:
        """The period's days, oldest first."""
        return [self.first + timedelta(days=n) for n in range(self.days)]

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()


def per_day(
    session: Session,
    period: Period,
    column: InstrumentedAttribute[datetime],
    *conditions: ColumnElement[bool],
) -> Counter[date]:
    """How many rows with `column` in the period match `conditions`, per local day."""
    bucket = _hour_bucket(session.get_bind().dialect.name, column)
    query = select(bucket, func.count()).where(period.holds(column), *conditions).group_by(bucket)
    counts: Counter[date] = Counter()
    for hour_text, count in session.execute(query):
        hour = datetime.strptime(str(hour_text), "%Y-%m-%d %H").replace(tzinfo=UTC)
        counts[period.day_of(hour)] += int(count)
    return counts


def _hour_bucket(dialect: str, column: InstrumentedAttribute[datetime]) -> ColumnElement[str]:
    if dialect == "sqlite":  # stored as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
        return func.strftime("%Y-%m-%d %H", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
