"""The analytics repository: what the analytics page reads, per local day in a time zone."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bot.store.columns import utcnow
from bot.store.engine import Transactions
from bot.store.models import FeedbackRow, HandoffRow, MessageRow
from bot.store.outcomes import Outcome, Question, collapse, normalise, questions
from bot.store.periods import Period, per_day
from bot.store.records import (
    DailyFeedback,
    DailyOutcome,
    DownvotedAnswer,
    FirstReplyTimes,
    UnansweredQuestion,
)


class Analytics:
    """Read-only; each method reads the `days` local days in `tz` up to and including `now`'s day."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def daily_outcomes(
        self,
        days: int = 30,
        *,
        low_confidence_below: float,
        tz: tzinfo = UTC,
        now: datetime | None = None,
    ) -> list[DailyOutcome]:
        """What became of each local day's questions (see DailyOutcome), oldest first; answers with a
        confidence below `low_confidence_below` (the answer chain's escalation threshold) count as
        low-confidence."""
        period = Period.ending(now or utcnow(), days, tz)
        counts: dict[date, Counter[Outcome]] = defaultdict(Counter)
        with self._tx.read() as session:
            for question in questions(session, period, low_confidence_below, with_text=False):
                counts[period.day_of(question.asked_at)][question.outcome] += 1
        return [
            DailyOutcome(
                day=day,
                answered=counts[day]["answered"],
                low_confidence=counts[day]["low_confidence"],
                escalated=counts[day]["escalated"],
                other=counts[day]["other"],
            )
            for day in period.each_day()
        ]

    def unanswered_questions(
        self,
        days: int = 30,
        *,
        low_confidence_below: float,
        limit: int = 10,
        tz: tzinfo = UTC,
        now: datetime | None = None,
    ) -> list[UnansweredQuestion]:
        """The questions handed to staff or answered with low confidence, identical texts (case and
        spacing ignored) counted together; the most asked first, ties by the latest asking."""
        period = Period.ending(now or utcnow(), days, tz)
        groups: dict[str, list[Question]] = defaultdict(list)
        with self._tx.read() as session:
            for question in questions(session, period, low_confidence_below, with_text=True):
                key = normalise(question.text)
                if key and question.outcome in ("escalated", "low_confidence"):
                    groups[key].append(question)
        found = []
        for askings in groups.values():
            latest = max(askings, key=lambda q: q.asked_at)
            found.append(
                UnansweredQuestion(
                    text=collapse(latest.text),
                    count=len(askings),
                    escalated=sum(1 for q in askings if q.outcome == "escalated"),
                    last_asked_at=latest.asked_at,
                )
            )
        found.sort(key=lambda q: (-q.count, -q.last_asked_at.timestamp(), q.text))
        return found[: max(limit, 0)]

    def first_reply_times(
        self, days: int = 30, *, tz: tzinfo = UTC, now: datetime | None = None
    ) -> FirstReplyTimes:
        """Time from opening to the first staff reply, over the handoffs opened in the period."""
        period = Period.ending(now or utcnow(), days, tz)
        with self._tx.read() as session:
            rows = session.execute(
                select(HandoffRow.created_at, HandoffRow.first_reply_at, HandoffRow.state).where(
                    period.holds(HandoffRow.created_at)
                )
            ).all()
        waits = [(replied - opened).total_seconds() for opened, replied, _ in rows if replied is not None]
        return FirstReplyTimes(
            handoffs=len(rows),
            replied=len(waits),
            median_s=statistics.median(waits) if waits else None,
            unreplied_open=sum(1 for _, replied, state in rows if replied is None and state != "resolved"),
        )

    def daily_feedback(
        self, days: int = 30, *, tz: tzinfo = UTC, now: datetime | None = None
    ) -> list[DailyFeedback]:
        """👍 and 👎 per local day, oldest first (a changed vote counts on its new day)."""
        period = Period.ending(now or utcnow(), days, tz)
        with self._tx.read() as session:
            up = per_day(session, period, FeedbackRow.created_at, FeedbackRow.value > 0)
            down = per_day(session, period, FeedbackRow.created_at, FeedbackRow.value < 0)
        return [DailyFeedback(day=day, up=up[day], down=down[day]) for day in period.each_day()]

    def recent_downvotes(
        self, days: int = 30, *, limit: int = 10, tz: tzinfo = UTC, now: datetime | None = None
    ) -> list[DownvotedAnswer]:
        """The latest 👎 replies with the user's last question before each, newest first."""
        period = Period.ending(now or utcnow(), days, tz)
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
        with self._tx.read() as session:
            return [
                DownvotedAnswer(
                    message_id=message_id,
                    conversation_id=conversation_id,
                    author=author,
                    answer=answer_text,
                    question=question_text,
                    comment=comment,
                    voted_at=voted_at,
                )
                for message_id, conversation_id, author, answer_text, question_text, comment, voted_at in (
                    session.execute(query)
                )
            ]
