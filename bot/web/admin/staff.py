"""/admin/staff: console accounts. An admin adds an account or resets a password (a one-time password
is shown once, on that page only), changes a role or removes an account. The last administrator stays,
and admins change their own account with `stdbot user passwd`, not here."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from bot.store.records import STAFF_ROLES
from bot.web import console_views as views
from bot.web.auth import Admin, AdminPost, StaffUser, console_text
from bot.web.login import render
from bot.web.passwords import hash_password, one_time_password
from bot.web.state import services
from config.errors import StoreError

router = APIRouter(prefix="/admin", include_in_schema=False)

USERNAME_CHARS = 64
Username = Annotated[str, Form(max_length=256)]
Role = Annotated[str, Form(max_length=16)]


@router.get("/staff", response_class=HTMLResponse)
def accounts_page(request: Request, user: Admin) -> HTMLResponse:
    return _page(request, user)


@router.post("/staff")
def add_account(request: Request, user: AdminPost, username: Username = "", role: Role = "staff") -> Response:
    """Create an account with a one-time password, shown once."""
    username = username.strip()
    if not username or len(username) > USERNAME_CHARS or any(c.isspace() for c in username):
        return _page(request, user, error=console_text("staff_bad_username"), status=400)
    if role not in STAFF_ROLES:
        return _page(request, user, error=console_text("staff_bad_role"), status=400)
    password = one_time_password()
    store = services(request).store
    try:
        store.staff.add(username, hash_password(password), role)
    except StoreError as exc:
        return _page(request, user, error=str(exc), status=409)
    store.staff.audit(user.actor, "user_add", f"username={username} role={role}")
    return _page(request, user, created=(username, password), status=201)


@router.post("/staff/{username:path}/password")
def reset_password(request: Request, username: str, user: AdminPost) -> Response:
    """A new one-time password (the account's sessions end; any lockout is lifted)."""
    refused = _own_account(request, user, username)
    if refused is not None:
        return refused
    password = one_time_password()
    store = services(request).store
    try:
        store.staff.set_password(username, hash_password(password))
    except StoreError as exc:
        return _page(request, user, error=str(exc), status=404)
    store.staff.audit(user.actor, "user_passwd", f"username={username}")
    return _page(request, user, created=(username, password))


@router.post("/staff/{username:path}/role")
def change_role(request: Request, username: str, user: AdminPost, role: Role = "staff") -> Response:
    refused = _own_account(request, user, username)
    if refused is not None:
        return refused
    if role not in STAFF_ROLES:
        return _page(request, user, error=console_text("staff_bad_role"), status=400)
    store = services(request).store
    try:
        store.staff.set_role(username, role)
    except StoreError as exc:
        return _page(request, user, error=str(exc), status=409)
    store.staff.audit(user.actor, "user_role", f"username={username} role={role}")
    return _page(request, user, notice=console_text("staff_done_role", username=username))


@router.post("/staff/{username:path}/remove")
def remove_account(request: Request, username: str, user: AdminPost) -> Response:
    refused = _own_account(request, user, username)
    if refused is not None:
        return refused
    store = services(request).store
    try:
        store.staff.remove(username)
    except StoreError as exc:
        return _page(request, user, error=str(exc), status=409)
    store.staff.audit(user.actor, "user_remove", f"username={username}")
    return _page(request, user, notice=console_text("staff_done_removed", username=username))


def _own_account(request: Request, user: StaffUser, username: str) -> Response | None:
    if username.strip() == user.username:
        return _page(request, user, error=console_text("staff_not_self"), status=409)
    return None


def _page(
    request: Request,
    user: StaffUser,
    *,
    notice: str | None = None,
    error: str | None = None,
    created: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    zone = ZoneInfo(services(request).settings.handoff.timezone)
    accounts = [(views.local_time(a.created_at, zone), a) for a in services(request).store.staff.accounts()]
    response = render(
        request,
        "admin_staff.html",
        user,
        status,
        notice=notice,
        error=error,
        created=created,
        accounts=accounts,
        roles=STAFF_ROLES,
    )
    if created is not None:
        response.headers["Cache-Control"] = "no-store"
    return response
