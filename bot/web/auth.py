"""Staff sessions for the console: a signed cookie (username, role, nonce), CSRF tokens derived from the
nonce, and the route dependencies that let only the right people in.

Anonymous page requests are sent to the login page; fetch/JSON requests get 401; staff on admin-only
routes get 403. Every POST must carry the session's CSRF token (form field or X-CSRF-Token header)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

import prompts
from bot.messages import utcnow
from bot.store import StaffRecord
from bot.web.state import services

SESSION_COOKIE = "stdbot_console"
LOGIN_COOKIE = "stdbot_login"
SESSION_MAX_AGE_S = 12 * 3600
LOGIN_FORM_MAX_AGE_S = 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_PATH = "/console/login"
SESSION_COOKIE_PATH = "/"
"""The session cookie reaches /console and /admin (HttpOnly, so the web chat's scripts never see it)."""
LOGIN_COOKIE_PATH = "/console"
_SESSION_SALT = "stdbot.console.session"
_CSRF_SALT = "stdbot.console.csrf"
_LOGIN_SALT = "stdbot.console.login"


def console_labels() -> dict[str, str]:
    """The `key = text` lines of prompts/console_labels.md."""
    return prompts.labels("console_labels")


def console_text(key: str, **values: object) -> str:
    """One console text with its $placeholders filled in."""
    return prompts.label("console_labels", key, **values)


@dataclass(frozen=True)
class StaffUser:
    """The person behind a console request."""

    username: str
    role: str
    nonce: str
    csrf_token: str

    @property
    def actor(self) -> str:
        """How messages and the audit log name this person."""
        return f"staff:{self.username}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class ConsoleDenied(Exception):
    """A console request refused: `status` 401 (not logged in), 403 (role or CSRF) or another refusal."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConsoleAuth:
    """Signs and reads session cookies and login-form tokens with the server's secret key."""

    def __init__(self, secret_key: str) -> None:
        self._sessions = URLSafeTimedSerializer(secret_key, salt=_SESSION_SALT)
        self._logins = URLSafeTimedSerializer(secret_key, salt=_LOGIN_SALT)
        self._csrf = Signer(secret_key, salt=_CSRF_SALT)

    def issue(self, staff: StaffRecord) -> str:
        """A session cookie value for `staff`; it stops working when the password or role changes."""
        payload = {"u": staff.username, "r": staff.role, "n": secrets.token_urlsafe(16), "p": _stamp(staff)}
        return self._sessions.dumps(payload)

    def read(self, cookie: str | None, find: Callable[[str], StaffRecord | None]) -> StaffUser | None:
        """The user of a session cookie; None if missing, forged, expired, or the account changed.
        `find(username)` looks the account up (store.staff.get)."""
        if not cookie:
            return None
        try:
            payload = self._sessions.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in "urnp"):
            return None
        staff = find(payload["u"])
        if (
            staff is None
            or staff.role != payload["r"]
            or not hmac.compare_digest(_stamp(staff), payload["p"])
        ):
            return None
        token = self._csrf.get_signature(payload["n"]).decode("ascii")
        return StaffUser(username=staff.username, role=staff.role, nonce=payload["n"], csrf_token=token)

    def login_form(self) -> tuple[str, str]:
        """(cookie value, hidden-field token) for the login form: a double-submitted signed nonce."""
        nonce = secrets.token_urlsafe(16)
        return nonce, self._logins.dumps(nonce)

    def login_form_ok(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        try:
            nonce = self._logins.loads(token, max_age=LOGIN_FORM_MAX_AGE_S)
        except BadSignature:
            return False
        return isinstance(nonce, str) and hmac.compare_digest(nonce, cookie)


def _stamp(staff: StaffRecord) -> str:
    return hashlib.sha256(staff.password_hash.encode("utf-8")).hexdigest()[:16]


def console_auth(request: Request) -> ConsoleAuth:
    found: ConsoleAuth = request.app.state.console_auth
    return found


def wants_json(request: Request) -> bool:
    """Whether the caller is a script (fetch) rather than a page load."""
    accept = request.headers.get("accept", "")
    return (
        request.url.path.startswith(("/console/api/", "/admin/api/"))
        or "x-requested-with" in request.headers
        or ("application/json" in accept and "text/html" not in accept)
    )


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int, *, path: str
) -> None:
    """An HttpOnly, SameSite=Lax cookie, Secure when the request came over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def optional_staff(request: Request) -> StaffUser | None:
    """The logged-in user, or None (also for a session ended by logging out)."""
    store = services(request).store
    user = console_auth(request).read(request.cookies.get(SESSION_COOKIE), store.staff.get)
    if user is None or store.channel_state.get(_revoked_key(user.nonce)) is not None:
        return None
    return user


def end_session(request: Request, user: StaffUser) -> None:
    """Log this session out on the server: its cookie opens nothing any more, in every worker, until it
    would have expired anyway."""
    expires = utcnow() + timedelta(seconds=SESSION_MAX_AGE_S)
    services(request).store.channel_state.put(_revoked_key(user.nonce), "logged out", expires)


def _revoked_key(nonce: str) -> str:
    return f"console:revoked:{nonce}"


def require_staff(request: Request) -> StaffUser:
    """Any logged-in staff member (staff or admin); 401 / login redirect otherwise."""
    user = optional_staff(request)
    if user is None:
        raise ConsoleDenied(401, console_text("err_login_required"))
    return user


def require_admin(user: Annotated[StaffUser, Depends(require_staff)]) -> StaffUser:
    """Administrators only; 403 for staff."""
    if not user.is_admin:
        raise ConsoleDenied(403, console_text("err_admin_only"))
    return user


async def require_csrf(request: Request, user: Annotated[StaffUser, Depends(require_staff)]) -> StaffUser:
    """A logged-in user whose POST carries the session's CSRF token; 403 otherwise."""
    token = request.headers.get(CSRF_HEADER)
    if token is None and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not token or not hmac.compare_digest(token, user.csrf_token):
        raise ConsoleDenied(403, console_text("err_csrf"))
    return user


def require_admin_csrf(user: Annotated[StaffUser, Depends(require_csrf)]) -> StaffUser:
    """An administrator's POST with the session's CSRF token."""
    return require_admin(user)


Staff = Annotated[StaffUser, Depends(require_staff)]
Admin = Annotated[StaffUser, Depends(require_admin)]
StaffPost = Annotated[StaffUser, Depends(require_csrf)]
AdminPost = Annotated[StaffUser, Depends(require_admin_csrf)]
