"""Console login, sessions, lockout, CSRF and roles, against the real app and a SQLite store."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.web_app import services_of
from typer.testing import CliRunner
from web.console_support import PASSWORD, add_account, hidden, logged_in, login

from bot.cli import app as cli
from bot.messages import utcnow
from bot.store import StaffRecord
from bot.web.auth import SESSION_COOKIE, SESSION_MAX_AGE_S, ConsoleAuth
from config.settings import Settings


def test_login_sets_a_signed_http_only_session_and_opens_the_console(
    app: FastAPI, client: TestClient
) -> None:
    add_account(app, "alice")
    response = login(client, "alice")
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and f"Max-Age={SESSION_MAX_AGE_S}" in cookie
    assert "Secure" not in cookie  # plain http in the test; https requests get Secure
    page = client.get("/console")
    assert page.status_code == 200 and "alice" in page.text and "待处理会话" in page.text
    assert [e.action for e in services_of(app).store.staff.audit_log()][:1] == ["login"]


def test_session_cookie_is_secure_over_https(app: FastAPI, settings: Settings) -> None:
    add_account(app, "alice")
    with TestClient(app, base_url="https://testserver") as client:
        response = login(client, "alice")
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
    assert "Secure" in cookie


def test_wrong_password_and_unknown_user_are_refused(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    for username, password in (("alice", "wrong password"), ("nobody", PASSWORD), ("alice", "")):
        response = login(client, username, password)
        assert response.status_code == 401
        assert "用户名或密码错误" in response.text
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert SESSION_COOKIE not in client.cookies


def test_five_failures_lock_the_account_with_a_clear_message(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    for _ in range(4):
        assert login(client, "alice", "wrong password").status_code == 401
    locked = login(client, "alice", "wrong password")
    assert locked.status_code == 429 and "账号已锁定" in locked.text and "15 分钟" in locked.text
    still = login(client, "alice")  # the right password does not help while locked
    assert still.status_code == 429 and "账号已锁定" in still.text
    store = services_of(app).store
    record = store.staff.get("alice")
    assert record is not None and record.locked_until is not None
    assert record.locked_until > utcnow() + timedelta(minutes=14)


def test_forged_or_tampered_session_cookie_is_not_a_login(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    logged_in(client, "alice")
    value = client.cookies[SESSION_COOKIE]
    assert client.get("/console").status_code == 200
    forged = ConsoleAuth("another-secret-key-0123456789").issue(_record(app, "alice"))
    for bad in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"), forged, "garbage"):
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, bad)
        assert client.get("/console", follow_redirects=False).status_code == 303


def _record(app: FastAPI, username: str) -> StaffRecord:
    record = services_of(app).store.staff.get(username)
    assert record is not None
    return record


def test_password_change_ends_existing_sessions(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    logged_in(client, "alice")
    assert client.get("/console").status_code == 200
    services_of(app).store.staff.set_password("alice", "$argon2id$v=19$m=65536,t=3,p=4$new$hash")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_login_form_without_its_token_is_refused(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    response = client.post("/console/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403 and "安全校验失败" in response.text
    assert SESSION_COOKIE not in client.cookies


def test_post_without_or_with_a_wrong_csrf_token_is_403(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    token = logged_in(client, "alice")
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
        response = client.post("/console/logout", data=data, follow_redirects=False)
        assert response.status_code == 403 and "安全校验失败" in response.text
    fetch = client.post("/console/logout", headers={"Accept": "application/json", "X-CSRF-Token": "bad"})
    assert fetch.status_code == 403 and "安全校验失败" in fetch.json()["error"]
    assert client.get("/console").status_code == 200  # still logged in: nothing happened
    ok = client.post("/console/logout", headers={"Accept": "application/json", "X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.json() == {"ok": True}
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_logout_form_ends_the_session(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    token = logged_in(client, "alice")
    old_cookie = client.cookies.get(SESSION_COOKIE)
    assert old_cookie is not None
    response = client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert client.get("/console", follow_redirects=False).status_code == 303
    client.cookies.set(SESSION_COOKIE, old_cookie)  # a copy of the cookie kept from before logging out
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert client.get("/console/api/queue").status_code == 401
    logged_in(client, "alice")  # a new login works
    assert client.get("/console", follow_redirects=False).status_code == 200


def test_anonymous_pages_redirect_to_login_and_fetches_get_401(client: TestClient) -> None:
    page = client.get("/console/conversations/1", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=%2Fconsole%2Fconversations%2F1"
    fetch = client.get("/console/api/queue")
    assert fetch.status_code == 401 and "请先登录" in fetch.json()["error"]


def test_login_returns_to_the_requested_console_page_only(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    page = client.get("/console/login", params={"next": "/console/audit"})
    form = {"username": "alice", "password": PASSWORD, "csrf_token": hidden(page.text, "csrf_token")}
    response = client.post("/console/login", data={**form, "next": "/console/audit"}, follow_redirects=False)
    assert response.headers["location"] == "/console/audit"
    client.cookies.clear()
    page = client.get("/console/login")
    form["csrf_token"] = hidden(page.text, "csrf_token")
    response = client.post(
        "/console/login", data={**form, "next": "https://evil.example/"}, follow_redirects=False
    )
    assert response.headers["location"] == "/console"


def test_staff_get_403_on_admin_pages_and_admins_get_in(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    add_account(app, "root", role="admin")
    logged_in(client, "alice")
    denied = client.get("/console/audit")
    assert denied.status_code == 403 and "仅管理员" in denied.text
    client.cookies.clear()
    logged_in(client, "root")
    audit = client.get("/console/audit")
    assert audit.status_code == 200 and "staff:root" in audit.text and "login" in audit.text


def test_cli_user_add_creates_a_working_login(app: FastAPI, client: TestClient, settings: Settings) -> None:
    runner = CliRunner()
    url = settings.database.url
    assert url is not None
    env = {"STDBOT_DATABASE__URL": url, "STDBOT_DATA_DIR": str(settings.data_dir)}
    result = runner.invoke(
        cli, ["user", "add", "carol", "--role", "admin", "--password-stdin"], input=f"{PASSWORD}\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "carol" in result.output
    assert login(client, "carol").status_code == 303
    assert client.get("/console/audit").status_code == 200  # an admin
    again = runner.invoke(cli, ["user", "add", "carol", "--password-stdin"], input=f"{PASSWORD}\n", env=env)
    assert again.exit_code != 0 and "已存在" in again.output
    short = runner.invoke(cli, ["user", "add", "dave", "--password-stdin"], input="short\n", env=env)
    assert short.exit_code != 0 and "至少 8 个字符" in short.output
    prompted = runner.invoke(cli, ["user", "add", "erin"], input=f"{PASSWORD}\n{PASSWORD}\n", env=env)
    assert prompted.exit_code == 0, prompted.output
    client.cookies.clear()
    assert login(client, "erin").status_code == 303
    assert client.get("/console/audit").status_code == 403  # staff by default
