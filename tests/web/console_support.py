"""Helpers for the console tests: accounts, logging in through the real form, CSRF tokens, handoffs."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from web.conftest import services_of

from bot.web.passwords import hash_password

PASSWORD = "correct horse battery"
_HIDDEN = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')


def add_account(app: FastAPI, username: str, role: str = "staff", password: str = PASSWORD) -> None:
    services_of(app).store.add_staff(username, hash_password(password), role)


def hidden(html: str, name: str) -> str:
    """The value of the first hidden field `name` in a page."""
    for field, value in _HIDDEN.findall(html):
        if field == name:
            return str(value)
    raise AssertionError(f"no hidden field {name!r} in the page")


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Log in through the form (GET for its token and cookie, then POST); the POST's response."""
    page = client.get("/console/login")
    assert page.status_code == 200
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": hidden(page.text, "csrf_token")},
        follow_redirects=False,
    )


def logged_in(client: TestClient, username: str) -> str:
    """Log in (must succeed) and return the session's CSRF token."""
    response = login(client, username)
    assert response.status_code == 303, response.text
    return hidden(client.get("/console").text, "csrf_token")


def chat_user_asks_for_person(
    client: TestClient, text: str = "企业标准需要公开吗？"
) -> tuple[dict[str, str], int]:
    """A web chat user asks a question and presses 转人工; (the chat session, the conversation id)."""
    session: dict[str, str] = client.post("/api/chat/sessions").json()
    assert client.post("/api/chat/messages", json={**session, "text": text}).status_code == 200
    handoff = client.post("/api/chat/handoff", json=session)
    assert handoff.status_code == 200
    app: FastAPI = client.app  # type: ignore[assignment]
    conversation = services_of(app).store.find_conversation(
        "webchat", session["session_id"], session["session_id"]
    )
    assert conversation is not None and conversation.state == "waiting"
    return session, conversation.id


def history(client: TestClient, session: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/chat/history", params=session)
    assert response.status_code == 200
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages
