"""The analytics page end to end: traffic made through the real web chat API, the dispatcher, the sample
knowledge base and the console, then the figures an administrator sees on /admin/analytics."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from support.web_app import services_of, web_settings
from web.console_support import add_account, chat_user_asks_for_person, logged_in

from bot.store.models import MessageRow
from config.settings import Settings

THRESHOLD = 0.35  # the sample knowledge base answers "量子计算机的标准化怎么做" with a confidence below 0.1
MARKUP = "我要找人工客服 <b>急</b>"


@pytest.fixture
def settings(kb_dir: Path, tmp_path: Path) -> Settings:
    base = web_settings(kb_dir, tmp_path / "stdbot.db")
    return base.model_copy(update={"answer": base.answer.model_copy(update={"escalate_below": THRESHOLD})})


class _ById(HTMLParser):
    """The text inside the element with one id, tags dropped and whitespace collapsed."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id, self.depth, self.parts = element_id, 0, list[str]()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth or dict(attrs).get("id") == self.element_id:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_of(page: str, element_id: str) -> str:
    parser = _ById(element_id)
    parser.feed(page)
    assert parser.parts, f"no element #{element_id} in the page"
    return " ".join(" ".join(parser.parts).split())


def ask(client: TestClient, text: str, session: dict[str, str] | None = None) -> tuple[dict[str, str], int]:
    """A question on the web chat (a new chat unless `session`); the chat session and the reply's id."""
    session = session or client.post("/api/chat/sessions").json()
    response = client.post("/api/chat/messages", json={**session, "text": text})
    assert response.status_code == 200, response.text
    return session, int(response.json()["reply"]["message_id"])


def vote(client: TestClient, session: dict[str, str], message_id: int, value: int) -> None:
    response = client.post("/api/chat/feedback", json={**session, "message_id": message_id, "value": value})
    assert response.status_code == 200, response.text


def conversation_of(app: FastAPI, session: dict[str, str]) -> int:
    found = services_of(app).store.conversations.find("webchat", session["session_id"], session["session_id"])
    assert found is not None
    return found.id


def move_back(settings: Settings, conversation_id: int, by: timedelta) -> None:
    """Make a conversation's messages older, through the database."""
    assert settings.database.url
    engine = create_engine(settings.database.url, poolclass=NullPool)
    with Session(engine) as session, session.begin():
        for message in session.scalars(
            select(MessageRow).where(MessageRow.conversation_id == conversation_id)
        ):
            message.created_at -= by
    engine.dispose()


@pytest.fixture
def traffic(app: FastAPI, client: TestClient, settings: Settings) -> dict[str, Any]:
    """A morning on the hotline, made through the chat API and the console."""
    add_account(app, "boss", role="admin")
    add_account(app, "alice")
    a, answered = ask(client, "企业标准需要公开吗？")  # answered (FAQ)
    vote(client, a, answered, 1)
    ask(client, "你好", a)  # greeting: other
    b, weak = ask(client, "量子计算机的标准化怎么做")  # low confidence
    vote(client, b, weak, -1)  # a 👎 hands the conversation to staff: a handoff, after the answer
    ask(client, "量子计算机的  标准化怎么做")  # the same question, other spacing: low confidence
    c, _ = ask(client, "我要投诉")  # a staff topic: escalated
    d, markup_reply = ask(client, MARKUP)  # asks for a person: escalated
    vote(client, d, markup_reply, -1)
    chat_user_asks_for_person(client)  # answered (FAQ), then the 转人工 button: a handoff, no question
    old, _ = ask(client, "团体标准由谁制定？")  # answered (FAQ), ten days ago
    move_back(settings, conversation_of(app, old), timedelta(days=10))

    token = logged_in(client, "boss")
    complaint = conversation_of(app, c)
    reply = client.post(
        f"/console/conversations/{complaint}/reply",
        data={"csrf_token": token, "text": "您好，请说明投诉的具体情况。", "form_token": "analytics-test-1"},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    return {"markup_conversation": conversation_of(app, d)}


def test_an_admin_sees_the_figures_of_the_period(client: TestClient, traffic: dict[str, Any]) -> None:
    response = client.get("/admin/analytics")
    assert response.status_code == 200
    page = response.text
    assert text_of(page, "tile-questions") == "问题 8"
    assert text_of(page, "share-answered") == "机器人回答 3 37.5%"
    assert text_of(page, "share-low_confidence") == "低置信度回答 2 25.0%"
    assert text_of(page, "share-escalated") == "转人工 2 25.0%"
    assert text_of(page, "share-other") == "其他 1 12.5%"
    assert f"置信度不低于转人工阈值 {THRESHOLD:g}" in page
    assert text_of(page, "handoffs") == "4"  # two escalated questions, a 👎 and the 转人工 button
    replies = (text_of(page, "replied"), text_of(page, "unreplied"), text_of(page, "unreplied-open"))
    assert replies == ("1", "3", "3")
    assert text_of(page, "median-reply").endswith("秒")
    assert (text_of(page, "up"), text_of(page, "down"), text_of(page, "satisfaction")) == ("1", "2", "33.3%")

    unanswered = text_of(page, "unanswered")
    latest_wording = unanswered.index("量子计算机的 标准化怎么做 2 0")
    assert latest_wording < unanswered.index("我要投诉 1 1")
    assert "企业标准需要公开吗" not in unanswered and "你好" not in unanswered
    assert "&lt;b&gt;急&lt;/b&gt;" in page and "<b>急</b>" not in page

    downvotes = text_of(page, "downvotes")
    assert downvotes.count("查看会话") == 2
    assert f'href="/console/conversations/{traffic["markup_conversation"]}"' in page
    assert MARKUP in downvotes and "量子计算机的标准化怎么做" in downvotes  # each with its question

    assert page.count('role="img"') == 3
    assert 'data-category="' in page and 'data-value="7"' in text_of_chart(page, "chart-questions")


def text_of_chart(page: str, chart_id: str) -> str:
    start = page.index(f'id="{chart_id}"')
    return page[start : page.index("</figure>", start)]


def test_the_period_can_be_chosen(client: TestClient, traffic: dict[str, Any]) -> None:
    week = client.get("/admin/analytics", params={"days": 7}).text
    assert text_of(week, "tile-questions") == "问题 7"  # the ten-day-old question is out
    assert 'href="/admin/analytics?days=7" aria-current="page"' in week
    assert week.count("<tr><td>20") == 7  # one row per day in the table behind the charts
    quarter = client.get("/admin/analytics", params={"days": 90}).text
    assert text_of(quarter, "tile-questions") == "问题 8" and quarter.count("<tr><td>20") == 90
    odd = client.get("/admin/analytics", params={"days": "14"}).text
    assert 'href="/admin/analytics?days=30" aria-current="page"' in odd


def test_an_empty_hotline_shows_dashes_not_errors(app: FastAPI, client: TestClient) -> None:
    add_account(app, "boss", role="admin")
    logged_in(client, "boss")
    page = client.get("/admin/analytics").text
    assert text_of(page, "tile-questions") == "问题 0"
    assert text_of(page, "share-answered") == "机器人回答 0 —"
    assert text_of(page, "median-reply") == "—" and text_of(page, "satisfaction") == "—"
    assert "统计期内没有未能回答的问题" in page and "统计期内没有 👎" in page
    assert "暂无数据" in page


def test_staff_are_refused_and_anonymous_callers_sent_to_login(app: FastAPI, client: TestClient) -> None:
    _, conversation_id = chat_user_asks_for_person(client, "机密问题-analytics")
    anonymous = client.get("/admin/analytics", headers={"Accept": "text/html"}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/console/login")
    add_account(app, "alice")
    logged_in(client, "alice")
    refused = client.get("/admin/analytics")
    assert refused.status_code == 403 and "机密问题-analytics" not in refused.text
    assert services_of(app).store.handoffs.active_for(conversation_id) is not None
