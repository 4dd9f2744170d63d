"""/admin/faq: FAQ drafts staff saved from their replies. An admin edits the wording and approves (the
draft goes into every build from then on, as the sheet bot.service.kb_sources.DRAFTS_FILE) or rejects it; an
approved draft can be withdrawn again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import URL

from bot.store.records import FaqDraftState
from bot.web.auth import Admin, AdminPost, StaffUser, console_text
from bot.web.ids import RecordId
from bot.web.login import render
from bot.web.state import services
from config.errors import StoreError

router = APIRouter(prefix="/admin", include_in_schema=False)

DECISIONS: dict[str, FaqDraftState] = {"approve": "approved", "reject": "rejected", "withdraw": "rejected"}
DONE_KEYS = tuple(DECISIONS)

Text = Annotated[str, Form(max_length=20_000)]


@router.get("/faq", response_class=HTMLResponse)
def drafts_page(request: Request, user: Admin, done: str = "") -> HTMLResponse:
    notice = console_text(f"faq_done_{done}") if done in DONE_KEYS else None
    return _page(request, user, notice=notice)


@router.post("/faq/{draft_id}")
def review(
    request: Request,
    draft_id: RecordId,
    user: AdminPost,
    decision: Annotated[str, Form(max_length=16)],
    question: Text = "",
    answer: Text = "",
    basis: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    """Approve (with the wording as edited), reject, or withdraw an approved draft."""
    state = DECISIONS.get(decision)
    if state is None:
        return _page(request, user, error=console_text("faq_bad_decision"), status=400)
    store = services(request).store
    try:
        current = store.admin.faq_draft(draft_id)
    except StoreError:
        return _page(request, user, error=console_text("faq_not_found"), status=404)
    if decision == "withdraw" and current.state != "approved":
        return _page(request, user, error=console_text("faq_not_approved"), status=409)
    try:
        store.admin.review_faq_draft(
            draft_id,
            state,
            question.strip() or current.question,
            answer.strip() or current.answer,
            basis.strip() if decision == "approve" else current.basis,
        )
    except StoreError as exc:
        return _page(request, user, error=str(exc), status=400)
    store.staff.audit(user.actor, f"faq_{decision}", f"draft {draft_id}")
    return RedirectResponse(str(URL("/admin/faq").include_query_params(done=decision)), status_code=303)


def _page(
    request: Request,
    user: StaffUser,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    store = services(request).store
    return render(
        request,
        "admin_faq.html",
        user,
        status,
        notice=notice,
        error=error,
        pending=store.admin.faq_drafts("pending"),
        approved=store.admin.faq_drafts("approved"),
        rejected=store.admin.faq_drafts("rejected")[-20:],
    )
