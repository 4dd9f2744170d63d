"""Console login and logout: argon2 passwords, lockout after repeated failures, signed session cookies.

The login form is protected against cross-site posting by a double-submitted signed nonce (a cookie and
a hidden field); logout needs the session's CSRF token like every other console POST."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.messages import utcnow
from bot.store import StaffRecord
from bot.web.auth import (
    LOGIN_COOKIE,
    LOGIN_COOKIE_PATH,
    LOGIN_FORM_MAX_AGE_S,
    LOGIN_PATH,
    SESSION_COOKIE,
    SESSION_COOKIE_PATH,
    SESSION_MAX_AGE_S,
    StaffPost,
    StaffUser,
    console_auth,
    console_labels,
    console_text,
    end_session,
    optional_staff,
    set_cookie,
    wants_json,
)
from bot.web.passwords import hash_password, needs_rehash, one_time_password, verify_password
from bot.web.state import services

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LOCK_AFTER = 5
LOCK_FOR_S = 900.0
HOME = "/console"

router = APIRouter(include_in_schema=False)


def render(
    request: Request, template: str, user: StaffUser | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """A console page with its labels, the user and the user's CSRF token."""
    root = request.scope.get("root_path", "").rstrip("/")
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"labels": console_labels(), "user": user, "static_base": f"{root}/static", **context},
        status_code=status,
    )


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> Response:
    """The login form (already logged in: straight to the console)."""
    if optional_staff(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, next, None, 200)


@router.post(LOGIN_PATH, response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=512)] = "",
) -> Response:
    auth = console_auth(request)
    if not auth.login_form_ok(request.cookies.get(LOGIN_COOKIE), csrf_token):
        return _login_form(request, next, console_text("err_csrf"), 403)
    store = services(request).store
    username, now = username.strip(), utcnow()
    admitted = (
        store.staff.admit_login(username, lock_after=LOCK_AFTER, lock_for_s=LOCK_FOR_S, now=now)
        if username
        else None
    )
    if admitted is not None and _locked(admitted, now):
        store.staff.audit(f"staff:{username}"[:128], "login_refused", "账号已锁定 / account locked")
        return _login_form(request, next, _locked_message(admitted, now), 429)
    ok = _check_password(admitted, password)
    recorded = store.staff.login_succeeded(username, now) if ok else None
    if recorded is None:
        store.staff.audit(f"staff:{username}"[:128], "login_failed", "密码错误 / wrong password")
        locked = store.staff.get(username) if admitted is not None else None
        if locked is not None and _locked(locked, now):
            return _login_form(request, next, _locked_message(locked, now), 429)
        return _login_form(request, next, console_text("err_login"), 401)
    if needs_rehash(recorded.password_hash):
        recorded = store.staff.set_password(recorded.username, hash_password(password))
    store.staff.audit(f"staff:{recorded.username}", "login", f"role={recorded.role}")
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(
        request, response, SESSION_COOKIE, auth.issue(recorded), SESSION_MAX_AGE_S, path=SESSION_COOKIE_PATH
    )
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_COOKIE_PATH)
    return response


@router.post("/console/logout")
def logout(request: Request, user: StaffPost) -> Response:
    end_session(request, user)
    services(request).store.staff.audit(user.actor, "logout", "")
    response: Response = (
        JSONResponse({"ok": True}) if wants_json(request) else RedirectResponse(LOGIN_PATH, status_code=303)
    )
    response.delete_cookie(SESSION_COOKIE, path=SESSION_COOKIE_PATH)
    return response


def _login_form(request: Request, next: str, error: str | None, status: int) -> HTMLResponse:
    cookie, token = console_auth(request).login_form()
    response = render(
        request, "login.html", None, status, error=error, login_token=token, next=_safe_next(next)
    )
    set_cookie(request, response, LOGIN_COOKIE, cookie, LOGIN_FORM_MAX_AGE_S, path=LOGIN_COOKIE_PATH)
    return response


def _locked(staff: StaffRecord, now: datetime) -> bool:
    return staff.locked_until is not None and staff.locked_until > now


def _locked_message(staff: StaffRecord, now: datetime) -> str:
    assert staff.locked_until is not None
    minutes = max(1, -(-int((staff.locked_until - now).total_seconds()) // 60))
    return console_text("err_locked", minutes=minutes)


def _check_password(staff: StaffRecord | None, password: str) -> bool:
    """argon2 verification; an unknown user costs the same time as a known one."""
    if staff is None:
        verify_password(_dummy_hash(), password)
        return False
    return bool(password) and verify_password(staff.password_hash, password)


@cache
def _dummy_hash() -> str:
    return hash_password(one_time_password())


def _safe_next(target: str) -> str:
    """Only a console or admin path of this site (no open redirects)."""
    if (
        target.startswith((HOME, "/admin"))
        and not target.startswith("//")
        and "\\" not in target
        and "\n" not in target
    ):
        return target
    return HOME
