"""The staff console under /console: the queue of waiting conversations (live), search, a conversation's
transcript with claim / release / reply / resolve / save-as-FAQ, and the audit log for admins.

Every route depends on a logged-in user (`Staff`, `StaffPost` with CSRF, `Admin`); `install` adds the
routes, the login routes and the handler that turns refusals into a login redirect, 401 or 403."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import URL

from bot.service.desk import StaffDesk
from bot.web import console_views as views
from bot.web import login
from bot.web.auth import (
    LOGIN_PATH,
    Admin,
    ConsoleAuth,
    ConsoleDenied,
    Staff,
    StaffPost,
    StaffUser,
    console_text,
    optional_staff,
    wants_json,
)
from bot.web.ids import MAX_ID, AfterId, RecordId
from bot.web.login import render
from bot.web.state import services
from config.errors import ActionRefused, StoreError

DONE_KEYS = ("claimed", "released", "resolved", "replied", "reply_repeat", "faq", "retried")
TOKEN_CHARS = 128
FAILED_SHOWN = 20
REFUSAL_STATUS = {"not_found": 404, "conflict": 409, "invalid": 422, "too_large": 413}

router = APIRouter(prefix="/console", include_in_schema=False)

FormToken = Annotated[str, Form(min_length=8, max_length=TOKEN_CHARS)]
Action = Callable[[StaffDesk], object]


def install(app: FastAPI, secret_key: str) -> None:
    """Add the console to the app: sessions signed with `secret_key`, routes and refusal handling."""
    app.state.console_auth = ConsoleAuth(secret_key)
    app.include_router(login.router)
    app.include_router(router)

    @app.exception_handler(ConsoleDenied)
    async def _denied(request: Request, exc: ConsoleDenied) -> Response:
        if wants_json(request):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        if exc.status == 401:
            target = request.url.path if request.method == "GET" else ""
            url = URL(LOGIN_PATH).include_query_params(next=target) if target else URL(LOGIN_PATH)
            return RedirectResponse(str(url), status_code=303)
        return render(request, "console_error.html", optional_staff(request), exc.status, message=exc.message)


def _desk(request: Request) -> StaffDesk:
    return services(request).desk


def refusal_status(exc: ActionRefused) -> int:
    """The HTTP status of a refused staff action."""
    return REFUSAL_STATUS.get(exc.kind, 409)


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(services(request).settings.handoff.timezone)


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, user: Staff, q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    """The queue of waiting conversations and, with `q`, the conversations matching it."""
    store, zone = services(request).store, _zone(request)
    results = views.conversations(store.conversations.search(q), zone) if q.strip() else None
    failed = [(views.local_time(f.updated_at, zone), f) for f in store.deliveries.failed(FAILED_SHOWN)]
    return render(
        request,
        "console_queue.html",
        user,
        queue=views.queue(store, zone),
        query=q,
        results=results,
        failed=failed,
    )


@router.get("/api/queue")
def queue_json(request: Request, user: Staff) -> JSONResponse:
    """The queue for the page's live refresh."""
    items = views.queue(services(request).store, _zone(request))
    return JSONResponse({"items": [item.to_json() for item in items]})


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    request: Request, conversation_id: RecordId, user: Staff, done: Annotated[str, Query(max_length=20)] = ""
) -> HTMLResponse:
    notice = console_text(f"done_{done}") if done in DONE_KEYS else None
    return _conversation(request, user, conversation_id, notice=notice)


@router.get("/api/conversations/{conversation_id}/messages")
def messages_json(
    request: Request, conversation_id: RecordId, user: Staff, after: AfterId = 0
) -> JSONResponse:
    """Messages after `after` and the conversation's state, for the page's live refresh."""
    desk, zone = _desk(request), _zone(request)
    try:
        conversation = desk.conversation(conversation_id)
    except ActionRefused as exc:
        return JSONResponse({"error": exc.message}, status_code=refusal_status(exc))
    records = desk.store.conversations.messages_after(conversation_id, after)
    deliveries = desk.store.deliveries.of_conversation(conversation_id)
    return JSONResponse(
        {
            "state": views.state_label(conversation.state),
            "handoff": views.handoff_summary(desk.store.handoffs.active_for(conversation_id)),
            "messages": [views.message_view(m, zone, deliveries.get(m.id)).to_json() for m in records],
            "deliveries": {
                str(message_id): asdict(view)
                for message_id, delivery in deliveries.items()
                if (view := views.delivery_view(delivery)) is not None
            },
        }
    )


@router.post("/conversations/{conversation_id}/claim")
def claim(request: Request, conversation_id: RecordId, user: StaffPost) -> Response:
    return _act(request, user, conversation_id, "claimed", lambda d: d.claim(user, conversation_id))


@router.post("/conversations/{conversation_id}/release")
def release(request: Request, conversation_id: RecordId, user: StaffPost) -> Response:
    return _act(request, user, conversation_id, "released", lambda d: d.release(user, conversation_id))


@router.post("/conversations/{conversation_id}/resolve")
def resolve(request: Request, conversation_id: RecordId, user: StaffPost) -> Response:
    return _act(request, user, conversation_id, "resolved", lambda d: d.resolve(user, conversation_id))


@router.post("/conversations/{conversation_id}/reply")
def reply(
    request: Request,
    conversation_id: RecordId,
    user: StaffPost,
    form_token: FormToken,
    text: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Send a staff reply; the same form posted twice (same token) sends it once."""
    desk = _desk(request)
    try:
        outcome = desk.reply(user, conversation_id, text, form_token)
    except ActionRefused as exc:
        return _refused(request, user, conversation_id, exc, draft=text)
    done = "reply_repeat" if outcome.repeated else "replied"
    return _done(request, conversation_id, done, message_id=outcome.message_id)


@router.post("/conversations/{conversation_id}/faq")
def save_faq(
    request: Request,
    conversation_id: RecordId,
    user: StaffPost,
    form_token: FormToken,
    message_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    """Turn a staff reply and the user's question before it into an FAQ draft."""
    try:
        draft_id = _desk(request).save_faq(user, conversation_id, message_id, form_token)
    except ActionRefused as exc:
        return _refused(request, user, conversation_id, exc)
    if wants_json(request):
        return JSONResponse(
            {"ok": True, "draft_id": draft_id, "message": console_text("done_faq", id=draft_id)}
        )
    return _conversation(request, user, conversation_id, notice=console_text("done_faq", id=draft_id))


@router.post("/deliveries/{delivery_id}/retry")
def retry_delivery(request: Request, delivery_id: RecordId, user: StaffPost) -> Response:
    """Send a failed delivery again (after the cause was fixed, e.g. the user wrote again)."""
    store = services(request).store
    try:
        delivery = store.deliveries.get(delivery_id)
    except StoreError:
        return render(request, "console_error.html", user, 404, message=console_text("err_no_delivery"))
    conversation_id = store.conversations.conversation_of_message(delivery.message_id)
    if delivery.state != "failed":
        return _conversation(request, user, conversation_id, error=console_text("err_not_failed"), status=409)
    store.deliveries.retry(delivery_id)
    store.staff.audit(user.actor, "delivery_retry", f"delivery {delivery_id} ({delivery.channel})")
    services(request).outbox.wake()
    return _done(request, conversation_id, "retried")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, user: Admin) -> HTMLResponse:
    """The audit log, newest first (admins)."""
    zone = _zone(request)
    entries = [(views.local_time(e.created_at, zone), e) for e in services(request).store.staff.audit_log()]
    return render(request, "console_audit.html", user, entries=entries)


def _act(request: Request, user: StaffUser, conversation_id: int, done: str, action: Action) -> Response:
    try:
        action(_desk(request))
    except ActionRefused as exc:
        return _refused(request, user, conversation_id, exc)
    return _done(request, conversation_id, done)


def _done(request: Request, conversation_id: int, done: str, **extra: int) -> Response:
    if wants_json(request):
        return JSONResponse({"ok": True, "message": console_text(f"done_{done}"), **extra})
    url = URL(f"/console/conversations/{conversation_id}").include_query_params(done=done)
    return RedirectResponse(str(url), status_code=303)


def _refused(
    request: Request, user: StaffUser, conversation_id: int, exc: ActionRefused, draft: str = ""
) -> Response:
    if wants_json(request) or refusal_status(exc) == 404:
        if not wants_json(request):
            return render(request, "console_error.html", user, 404, message=exc.message)
        return JSONResponse({"error": exc.message}, status_code=refusal_status(exc))
    return _conversation(
        request, user, conversation_id, error=exc.message, status=refusal_status(exc), draft=draft
    )


def _conversation(
    request: Request,
    user: StaffUser,
    conversation_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    draft: str = "",
) -> HTMLResponse:
    desk, zone = _desk(request), _zone(request)
    try:
        conversation = desk.conversation(conversation_id)
    except ActionRefused as exc:
        return render(request, "console_error.html", user, refusal_status(exc), message=exc.message)
    handoff = desk.store.handoffs.active_for(conversation_id)
    deliveries = desk.store.deliveries.of_conversation(conversation_id)
    messages = [
        views.message_view(m, zone, deliveries.get(m.id))
        for m in desk.store.conversations.transcript(conversation_id)
    ]
    return render(
        request,
        "console_conversation.html",
        user,
        status,
        conversation=conversation,
        user_label=views.user_of(conversation),
        state=views.state_label(conversation.state),
        handoff=handoff,
        handoff_summary=views.handoff_summary(handoff),
        messages=messages,
        last_id=messages[-1].id if messages else 0,
        reply_token=secrets.token_urlsafe(18),
        faq_tokens={m.id: secrets.token_urlsafe(18) for m in messages if m.staff_reply},
        notice=notice,
        error=error,
        draft=draft,
    )
