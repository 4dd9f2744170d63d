"""What the analytics page shows, built from the store's analytics records: figures as display texts,
the charts as SVG, and the rows of its tables (texts raw: the template escapes them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.service.privacy import mask_personal
from bot.store.records import (
    DailyFeedback,
    DailyOutcome,
    DownvotedAnswer,
    FirstReplyTimes,
    UnansweredQuestion,
)
from bot.web.auth import console_text
from bot.web.charts import Series, bar_chart, stacked_bar_chart
from bot.web.console_views import local_time

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
EXCERPT_CHARS = 120
COLOURS = {
    "questions": "#1565c0",
    "answered": "#2e7d32",
    "low_confidence": "#e0a100",
    "escalated": "#d84315",
    "other": "#9aa5b1",
    "up": "#2e7d32",
    "down": "#c62828",
}
OUTCOMES = ("answered", "low_confidence", "escalated", "other")


@dataclass(frozen=True)
class Share:
    """One kind of outcome over the period: how many questions, and their share of all questions."""

    key: str
    label: str
    count: int
    share: str
    colour: str


@dataclass(frozen=True)
class DayRow:
    day: str
    questions: int
    outcomes: tuple[int, ...]  # in OUTCOMES order
    up: int
    down: int


@dataclass(frozen=True)
class UnansweredRow:
    text: str
    count: int
    escalated: int
    last_asked: str


@dataclass(frozen=True)
class DownvoteRow:
    time: str
    question: str | None
    answer: str
    author: str
    conversation_id: int
    comment: str | None


@dataclass(frozen=True)
class AnalyticsView:
    days: int
    periods: tuple[int, ...]
    period: str
    questions: int
    shares: tuple[Share, ...]
    handoffs: int
    replied: int
    unreplied: int
    unreplied_open: int
    median_reply: str
    up: int
    down: int
    satisfaction: str
    questions_chart: Markup
    outcomes_chart: Markup
    feedback_chart: Markup
    rows: tuple[DayRow, ...]
    unanswered: tuple[UnansweredRow, ...]
    downvotes: tuple[DownvoteRow, ...]


def chosen_days(raw: str) -> int:
    """The period asked for (7, 30 or 90 days); anything else is the default."""
    return int(raw) if raw.strip() in {str(p) for p in PERIODS} else DEFAULT_DAYS


def analytics_view(
    days: int,
    zone: ZoneInfo,
    outcomes: Sequence[DailyOutcome],
    replies: FirstReplyTimes,
    feedback: Sequence[DailyFeedback],
    unanswered: Sequence[UnansweredQuestion],
    downvotes: Sequence[DownvotedAnswer],
) -> AnalyticsView:
    """The page for one period; `outcomes` and `feedback` have one entry per day of it, oldest first."""
    questions = sum(o.questions for o in outcomes)
    totals = {key: sum(getattr(o, key) for o in outcomes) for key in OUTCOMES}
    shares = tuple(
        Share(
            key=key,
            label=console_text(f"an_{key}"),
            count=totals[key],
            share=percent(totals[key], questions),
            colour=COLOURS[key],
        )
        for key in OUTCOMES
    )
    up, down = sum(f.up for f in feedback), sum(f.down for f in feedback)
    first, last = (outcomes[0].day, outcomes[-1].day) if outcomes else (None, None)
    return AnalyticsView(
        days=days,
        periods=PERIODS,
        period=console_text("an_period", first=_long_day(first), last=_long_day(last), zone=zone.key),
        questions=questions,
        shares=shares,
        handoffs=replies.handoffs,
        replied=replies.replied,
        unreplied=replies.unreplied,
        unreplied_open=replies.unreplied_open,
        median_reply=duration(replies.median_s),
        up=up,
        down=down,
        satisfaction=percent(up, up + down),
        questions_chart=_questions_chart(outcomes),
        outcomes_chart=_outcomes_chart(outcomes),
        feedback_chart=_feedback_chart(feedback),
        rows=tuple(_day_rows(outcomes, feedback)),
        unanswered=tuple(
            UnansweredRow(
                text=mask_personal(q.text),
                count=q.count,
                escalated=q.escalated,
                last_asked=local_time(q.last_asked_at, zone),
            )
            for q in unanswered
        ),
        downvotes=tuple(_downvote_row(d, zone) for d in downvotes),
    )


def percent(part: int, whole: int) -> str:
    """E.g. 62.5%; a dash when there is nothing to divide by."""
    return f"{100 * part / whole:.1f}%" if whole else "—"


def duration(seconds: float | None) -> str:
    """E.g. 45 秒, 3 分 20 秒, 2 小时 5 分; a dash for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return console_text("an_seconds", s=whole)
    if whole < 3600:
        return console_text("an_minutes", m=whole // 60, s=whole % 60)
    return console_text("an_hours", h=whole // 3600, m=whole % 3600 // 60)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One line of at most `limit` characters, personal numbers masked."""
    text = " ".join(mask_personal(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_day(day: date) -> str:
    return f"{day.month}/{day.day}"


def _long_day(day: date | None) -> str:
    return day.isoformat() if day is not None else "—"


def _questions_chart(outcomes: Sequence[DailyOutcome]) -> Markup:
    series = Series(
        name=console_text("an_questions"),
        values=tuple(o.questions for o in outcomes),
        colour=COLOURS["questions"],
    )
    svg = bar_chart(
        console_text("an_chart_questions"),
        [_short_day(o.day) for o in outcomes],
        series,
        empty_note=console_text("an_no_data"),
    )
    return _trusted(svg)


def _outcomes_chart(outcomes: Sequence[DailyOutcome]) -> Markup:
    series = []
    for key in OUTCOMES:
        counts = [getattr(o, key) for o in outcomes]
        shares = [
            100 * c / o.questions if o.questions else 0.0 for c, o in zip(counts, outcomes, strict=True)
        ]
        labels = [
            console_text("an_share_of", share=percent(c, o.questions), n=c)
            for c, o in zip(counts, outcomes, strict=True)
        ]
        series.append(
            Series(
                name=console_text(f"an_{key}"),
                values=tuple(shares),
                colour=COLOURS[key],
                value_labels=tuple(labels),
            )
        )
    svg = stacked_bar_chart(
        console_text("an_chart_outcomes"),
        [_short_day(o.day) for o in outcomes],
        series,
        unit="%",
        at_least=100,
        empty_note=console_text("an_no_data"),
    )
    return _trusted(svg)


def _feedback_chart(feedback: Sequence[DailyFeedback]) -> Markup:
    svg = stacked_bar_chart(
        console_text("an_chart_feedback"),
        [_short_day(f.day) for f in feedback],
        [
            Series(name=console_text("an_up"), values=tuple(f.up for f in feedback), colour=COLOURS["up"]),
            Series(
                name=console_text("an_down"), values=tuple(f.down for f in feedback), colour=COLOURS["down"]
            ),
        ],
        empty_note=console_text("an_no_feedback"),
    )
    return _trusted(svg)


def _trusted(svg: str) -> Markup:
    """A chart for the page as it is: bot.web.charts escapes every text it draws."""
    return Markup(svg)


def _day_rows(outcomes: Sequence[DailyOutcome], feedback: Sequence[DailyFeedback]) -> list[DayRow]:
    votes = {f.day: f for f in feedback}
    rows = []
    for o in reversed(outcomes):  # newest first
        vote = votes.get(o.day)
        counts = tuple(getattr(o, key) for key in OUTCOMES)
        rows.append(
            DayRow(
                day=o.day.isoformat(),
                questions=o.questions,
                outcomes=counts,
                up=vote.up if vote else 0,
                down=vote.down if vote else 0,
            )
        )
    return rows


def _downvote_row(vote: DownvotedAnswer, zone: ZoneInfo) -> DownvoteRow:
    if vote.author.startswith("staff:"):
        author = f"{console_text('author_staff')} {vote.author.removeprefix('staff:')}"
    else:
        author = console_text(f"author_{vote.author}")
    return DownvoteRow(
        time=local_time(vote.voted_at, zone),
        question=excerpt(vote.question) if vote.question else None,
        answer=excerpt(vote.answer),
        author=author,
        conversation_id=vote.conversation_id,
        comment=vote.comment,
    )
