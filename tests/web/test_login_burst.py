"""The lockout holds under parallel guesses: every attempt is counted before its password is checked."""

from __future__ import annotations

import httpx
from support.races import together
from support.web_app import LiveServer, services_of
from web.console_support import PASSWORD, add_account, hidden

from bot.web.login import LOCK_AFTER


def guess(url: str, password: str) -> int:
    with httpx.Client(base_url=url, timeout=60) as client:
        form = client.get("/console/login")
        token = hidden(form.text, "csrf_token")
        data = {"username": "alice", "password": password, "csrf_token": token}
        return client.post("/console/login", data=data, follow_redirects=False).status_code


def test_forty_parallel_guesses_check_at_most_lock_after_passwords(live_server: LiveServer) -> None:
    add_account(live_server.app, "alice")
    passwords = [f"wrong {n}" for n in range(39)] + [PASSWORD]
    statuses = together(len(passwords), lambda n: guess(live_server.url, passwords[n]))
    store = services_of(live_server.app).store
    actions = [entry.action for entry in store.staff.audit_log(500)]
    checked = actions.count("login_failed") + actions.count("login")
    assert checked <= LOCK_AFTER
    assert statuses.count(429) >= len(passwords) - LOCK_AFTER
    record = store.staff.get("alice")
    assert record is not None and record.locked_until is not None
    assert guess(live_server.url, PASSWORD) == 429  # even the right password waits for the lock to end
