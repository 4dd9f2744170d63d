"""The console served by two app instances over one database, as `stdbot serve --workers 2` runs it: a form
posted to both at once (a double-click landing on two workers) does its work once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.races import together
from support.web_app import services_of
from web.console_support import (
    add_account,
    chat_user_asks_for_person,
    hidden,
    history,
    logged_in,
    staff_delivery,
)

from bot.service.kb_holder import KnowledgeBaseHolder
from bot.web.app import create_app
from config.settings import Settings

ANSWER = "您好，企业标准需要在企业标准信息公共服务平台上自我声明公开。"


class Worker:
    """One app instance with a logged-in staff client."""

    def __init__(self, app: FastAPI, client: TestClient, csrf_token: str) -> None:
        self.app = app
        self.client = client
        self.csrf_token = csrf_token

    def post(self, conversation_id: int, action: str, **data: str) -> Any:
        return self.client.post(
            f"/console/conversations/{conversation_id}/{action}",
            data={"csrf_token": self.csrf_token, **data},
            follow_redirects=False,
        )


@pytest.fixture
def workers(settings: Settings, holder: KnowledgeBaseHolder) -> Iterator[list[Worker]]:
    apps = [create_app(settings, holder=holder) for _ in range(2)]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        add_account(apps[0], "alice")
        yield [
            Worker(app, client, logged_in(client, "alice"))
            for app, client in zip(apps, (first, second), strict=True)
        ]


def test_a_reply_form_posted_to_two_workers_reaches_the_user_once(workers: list[Worker]) -> None:
    session, conversation_id = chat_user_asks_for_person(workers[0].client)
    page = workers[0].client.get(f"/console/conversations/{conversation_id}").text
    reply = {"text": ANSWER, "form_token": hidden(page, "form_token")}

    responses = together(2, lambda i: workers[i].post(conversation_id, "reply", **reply))

    assert [r.status_code for r in responses] == [303, 303]
    assert sorted(r.headers["location"].rsplit("done=", 1)[1] for r in responses) == [
        "replied",
        "reply_repeat",
    ]
    staff = [m for m in history(workers[1].client, session) if m["author"] == "staff"]
    assert [m["text"] for m in staff] == [ANSWER]
    delivery = staff_delivery(workers[1].app, staff[0]["message_id"])
    assert (delivery.state, delivery.attempts, delivery.chat_id) == ("sent", 1, session["session_id"])
    store = services_of(workers[0].app).store
    assert [e.action for e in store.staff.audit_log()].count("reply") == 1


def test_an_faq_form_posted_to_two_workers_saves_one_draft(workers: list[Worker]) -> None:
    session, conversation_id = chat_user_asks_for_person(workers[0].client, "团体标准可以收费吗？")
    posted = workers[0].post(conversation_id, "reply", text=ANSWER, form_token="reply-token-123")
    assert posted.status_code == 303
    page = workers[1].client.get(f"/console/conversations/{conversation_id}").text
    message_id = next(m for m in history(workers[1].client, session) if m["author"] == "staff")["message_id"]
    faq = {"message_id": str(message_id), "form_token": hidden(page.split("/faq")[1], "form_token")}

    responses = together(2, lambda i: workers[i].post(conversation_id, "faq", **faq))

    assert [r.status_code for r in responses] == [200, 200]
    drafts = services_of(workers[1].app).store.admin.faq_drafts()
    assert [(d.question, d.answer, d.conversation_id) for d in drafts] == [
        ("团体标准可以收费吗？", ANSWER, conversation_id)
    ]
