"""Helpers for the console tests: accounts, logging in through the real form, CSRF tokens, handoffs."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.waiting import settled
from support.web_app import services_of

from bot.messages import IncomingMessage
from bot.store import DeliveryRecord, FormUse
from bot.web.passwords import hash_password

PASSWORD = "correct horse battery"
_HIDDEN = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')


def add_account(app: FastAPI, username: str, role: str = "staff", password: str = PASSWORD) -> None:
    services_of(app).store.staff.add(username, hash_password(password), role)


def faq_draft(app: FastAPI, question: str, answer: str, author: str = "staff:amy") -> int:
    """An FAQ draft as staff save one from a conversation in the console; its id."""
    store = services_of(app).store
    asked = IncomingMessage("webchat", "draft-chat", "draft-user", "", question)
    conversation_id = store.conversations.record_inbound(asked).conversation.id
    form = FormUse("faq", conversation_id, secrets.token_hex(8))
    return store.admin.add_faq_draft_once(form, question, answer, author).result_id


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


def staff_replies(client: Any, conversation_id: int, text: str, username: str = "staffer") -> Any:
    """Staff member `username` (an account already added) logs in, claims the conversation in the console
    and replies with `text`; the reply form's response. `client` is a TestClient or an httpx.Client on
    a live server."""
    csrf = logged_in(client, username)
    page = f"/console/conversations/{conversation_id}"
    claimed = client.post(f"{page}/claim", data={"csrf_token": csrf}, follow_redirects=False)
    assert claimed.status_code == 303, claimed.text
    form = {"csrf_token": csrf, "form_token": hidden(client.get(page).text, "form_token"), "text": text}
    replied = client.post(f"{page}/reply", data=form, follow_redirects=False)
    assert replied.status_code == 303, replied.text
    return replied


def chat_user_asks_for_person(
    client: TestClient, text: str = "企业标准需要公开吗？"
) -> tuple[dict[str, str], int]:
    """A web chat user asks a question and presses 转人工; (the chat session, the conversation id)."""
    session: dict[str, str] = client.post("/api/chat/sessions").json()
    assert client.post("/api/chat/messages", json={**session, "text": text}).status_code == 200
    handoff = client.post("/api/chat/handoff", json=session)
    assert handoff.status_code == 200
    app: FastAPI = client.app  # type: ignore[assignment]
    conversation = services_of(app).store.conversations.find(
        "webchat", session["session_id"], session["session_id"]
    )
    assert conversation is not None and conversation.state == "waiting"
    return session, conversation.id


def staff_delivery(app: FastAPI, message_id: int, timeout_s: float = 10.0) -> DeliveryRecord:
    """The outbox entry of a staff message, once the outbox has sent it (or as it stands when time is up)."""
    store = services_of(app).store

    def current() -> DeliveryRecord:
        conversation_id = store.conversations.conversation_of_message(message_id)
        return store.deliveries.of_conversation(conversation_id)[message_id]

    return settled(current, lambda delivery: delivery.state == "sent", timeout_s)


def history(client: TestClient, session: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/chat/history", params=session)
    assert response.status_code == 200
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages
