"""The analytics page (/admin/analytics): traffic, what became of the questions, staff reply times and
the users' feedback over the last 7, 30 or 90 days, counted in the hotline's time zone."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bot.messages import utcnow
from bot.web.admin.analytics_view import analytics_view, chosen_days
from bot.web.auth import Admin
from bot.web.login import render
from bot.web.state import services

TOP_UNANSWERED = 10
RECENT_DOWNVOTES = 10

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request, user: Admin, days: Annotated[str, Query(max_length=8)] = ""
) -> HTMLResponse:
    """The figures of the chosen period (`?days=7|30|90`, 30 otherwise)."""
    app = services(request)
    store, settings = app.store, app.settings
    period = chosen_days(days)
    zone = ZoneInfo(settings.handoff.timezone)
    low_below = settings.answer.escalate_below
    now = utcnow()
    view = analytics_view(
        period,
        zone,
        outcomes=store.analytics.daily_outcomes(period, low_confidence_below=low_below, tz=zone, now=now),
        replies=store.analytics.first_reply_times(period, tz=zone, now=now),
        feedback=store.analytics.daily_feedback(period, tz=zone, now=now),
        unanswered=store.analytics.unanswered_questions(
            period, low_confidence_below=low_below, limit=TOP_UNANSWERED, tz=zone, now=now
        ),
        downvotes=store.analytics.recent_downvotes(period, limit=RECENT_DOWNVOTES, tz=zone, now=now),
    )
    return render(request, "admin_analytics.html", user, view=view, threshold=f"{low_below:g}")
