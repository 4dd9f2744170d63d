"""Every route of the app, walked: nothing under /console or /admin shows a transcript, a staff page or
performs an action without the right login, and the public routes stay public.

A new route must be classified here (public, login, or protected); a protected one must depend on the
console's auth dependency and refuse anonymous callers, or this file fails."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from support.web_app import services_of
from web.console_support import add_account, chat_user_asks_for_person, logged_in

from bot.web.auth import require_admin, require_staff

SECRET = "机密标记-transcript-7Q"
PROTECTED = ("/console", "/admin")
LOGIN = {("/console/login", "GET"), ("/console/login", "POST")}
PUBLIC_EXACT = {
    "/",
    "/chat",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/wechat/mp",  # platform callbacks: public, signed (and encrypted in safe mode)
    "/wecom/app",  # platform callbacks: public, signed and encrypted
    "/wechat/kf",
    "/wecom/bot",
    "/telegram/webhook",  # public, carries the secret-token header
}
PUBLIC_PREFIXES = ("/api/chat/", "/static")
PUBLIC_PAGES = ("/chat", "/healthz", "/metrics", "/openapi.json", "/docs", "/redoc", "/static/chat.js")
FORM = {"text": "越权回复", "form_token": "perm-token-123456", "message_id": "1", "csrf_token": "guess"}
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    route: RouteContext

    def url(self, conversation_id: int) -> str:
        return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(conversation_id), self.path)

    @property
    def admin_only(self) -> bool:
        return self.path.startswith("/admin") or _depends_on(self.route, require_admin)


def endpoints(app: FastAPI) -> Iterator[Endpoint]:
    """Every (path, method) the app answers, included routers flattened; mounts have no methods."""
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                yield Endpoint(route.path or "", method, route)


def mounts(app: FastAPI) -> list[str]:
    return [r.path or "" for r in iter_route_contexts(app.routes) if r.methods is None]


def is_protected(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PROTECTED)


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)


def _depends_on(route: RouteContext, dependency: Callable[..., Any]) -> bool:
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return False

    def walk(dependant: Dependant) -> bool:
        return any(d.call is dependency or walk(d) for d in dependant.dependencies)

    return walk(dependant)


def call(client: TestClient, endpoint: Endpoint, url: str, headers: dict[str, str], **extra: Any) -> Any:
    if endpoint.method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    return client.request(endpoint.method, url, data=FORM, headers=headers, follow_redirects=False, **extra)


@pytest.fixture
def world(app: FastAPI, client: TestClient) -> tuple[dict[str, str], int]:
    """Accounts, and a waiting conversation whose transcript holds a secret marker."""
    add_account(app, "staffer")
    add_account(app, "boss", role="admin")
    return chat_user_asks_for_person(client, f"企业标准需要公开吗？{SECRET}")


def test_every_route_is_classified(app: FastAPI) -> None:
    unknown = [
        f"{e.method} {e.path}"
        for e in endpoints(app)
        if not (is_protected(e.path) or is_public(e.path) or (e.path, e.method) in LOGIN)
    ]
    assert unknown == [], f"classify these routes in {__file__}: {unknown}"
    assert all(is_public(path) for path in mounts(app)), mounts(app)
    assert any(is_protected(e.path) for e in endpoints(app)), "the console routes are not installed"


def test_protected_routes_depend_on_the_login(app: FastAPI) -> None:
    unguarded = [
        f"{e.method} {e.path}"
        for e in endpoints(app)
        if is_protected(e.path)
        and (e.path, e.method) not in LOGIN
        and not _depends_on(e.route, require_staff)
    ]
    assert unguarded == []


def test_anonymous_callers_see_and_do_nothing(
    app: FastAPI, client: TestClient, world: tuple[dict[str, str], int]
) -> None:
    _, conversation_id = world
    store = services_of(app).store
    before = (
        len(store.conversations.transcript(conversation_id)),
        store.handoffs.active_for(conversation_id),
    )
    audit_before = len(store.staff.audit_log())
    checked = 0
    for endpoint in endpoints(app):
        if not is_protected(endpoint.path) or (endpoint.path, endpoint.method) in LOGIN:
            continue
        url = endpoint.url(conversation_id)
        page = call(client, endpoint, url, HTML)
        if endpoint.path.startswith(("/console/api/", "/admin/api/")):  # JSON-only endpoints: always 401
            assert page.status_code == 401, f"{endpoint.method} {url}: {page.status_code}"
        else:
            assert page.status_code == 303, f"{endpoint.method} {url}: {page.status_code}"
            assert page.headers["location"].startswith("/console/login"), url
        fetch = call(client, endpoint, url, JSON)
        assert fetch.status_code == 401, f"{endpoint.method} {url} (fetch): {fetch.status_code}"
        for response in (page, fetch):
            assert SECRET not in response.text and "越权回复" not in response.text
        checked += 1
    assert checked >= 8
    assert (
        len(store.conversations.transcript(conversation_id)),
        store.handoffs.active_for(conversation_id),
    ) == before
    assert len(store.staff.audit_log()) == audit_before and store.admin.faq_drafts() == []
    login_page = client.get("/console/login")
    assert login_page.status_code == 200 and SECRET not in login_page.text


def test_staff_are_refused_on_admin_routes_and_admins_get_in(
    app: FastAPI, client: TestClient, world: tuple[dict[str, str], int]
) -> None:
    _, conversation_id = world
    admin_routes = [e for e in endpoints(app) if is_protected(e.path) and e.admin_only]
    assert admin_routes, "no admin-only route to check"
    token = logged_in(client, "staffer")
    for endpoint in admin_routes:
        url = endpoint.url(conversation_id)
        response = call(client, endpoint, url, {**HTML, "X-CSRF-Token": token})
        assert response.status_code == 403, f"{endpoint.method} {url}: {response.status_code}"
        assert SECRET not in response.text
    staff_pages = [
        e
        for e in endpoints(app)
        if is_protected(e.path) and e.method == "GET" and (e.path, e.method) not in LOGIN
    ]
    for endpoint in staff_pages:
        expected = 403 if endpoint.admin_only else 200
        assert client.get(endpoint.url(conversation_id)).status_code == expected, endpoint.path
    client.cookies.clear()
    logged_in(client, "boss")
    for endpoint in staff_pages:
        assert client.get(endpoint.url(conversation_id)).status_code == 200, endpoint.path


def test_public_routes_stay_public(app: FastAPI, client: TestClient) -> None:
    for path in PUBLIC_PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 200, path
    assert client.get("/readyz").status_code in (200, 503)
    schema = client.get("/openapi.json").json()
    assert not [p for p in schema["paths"] if is_protected(p)], "console routes must stay out of the API docs"
    for endpoint in endpoints(app):
        if endpoint.path.startswith("/api/chat/"):
            response = client.request(endpoint.method, endpoint.path, json={}, follow_redirects=False)
            assert response.status_code not in (401, 303), endpoint.path
