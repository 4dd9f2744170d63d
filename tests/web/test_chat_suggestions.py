"""您是不是想问 through the web chat: the real dispatcher, store, sample knowledge base and event stream. A
question close to FAQ questions that ask something else gets them offered, numbered in the text and as a
list; replying "2" answers the second; the offer is stored with the message, so history and the event
stream carry it too; an offer is neither an answer nor a failure for the low-confidence streak."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.web_app import LiveServer, services_of
from web.test_chat_api import ask, conversation, new_session, read_events

import prompts
from bot.service.dispatcher import conversation_key
from bot.service.kb_holder import KnowledgeBaseHolder

SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "data" / "sample" / "faq.csv"
# Close to the FAQ about making an enterprise standard, but it asks about filing one (备案 is not 制定).
CLOSE_QUESTION = "企业标准要备案吗"


@pytest.fixture(autouse=True)
def fresh_memory(holder: KnowledgeBaseHolder) -> None:
    """Each test has its own database, so conversation ids start again at 1: forget what the shared
    knowledge base remembers of earlier tests' conversations with those ids."""
    for conversation_id in range(1, 100):
        holder.memory.forget(conversation_key(conversation_id))


def faq_answer(question: str) -> str:
    with SAMPLE_FAQ.open(encoding="utf-8") as handle:
        return next(row["答案"] for row in csv.DictReader(handle) if row["问题"] == question)


def offered(client: TestClient, session: dict[str, str]) -> dict[str, Any]:
    reply: dict[str, Any] = ask(client, session, CLOSE_QUESTION).json()["reply"]
    assert reply["mode"] == "faq_suggest", reply
    assert not reply["escalated"] and not reply["citations"]
    assert 2 <= len(reply["suggestions"]) <= 3
    assert reply["text"].startswith("您是不是想问")
    for number, question in enumerate(reply["suggestions"], start=1):
        assert f"{number}. {question}" in reply["text"]  # numbered for text-only channels
    return reply


def test_a_close_question_offers_faq_questions_and_2_answers_the_second(
    client: TestClient, app: FastAPI
) -> None:
    session = new_session(client)
    reply = offered(client, session)
    second = reply["suggestions"][1]
    picked = ask(client, session, "2").json()["reply"]
    assert picked["mode"] == "faq"
    assert faq_answer(second)[:30] in picked["text"]
    assert picked["suggestions"] == []
    store = services_of(app).store
    transcript = store.conversations.with_suggestions(
        store.conversations.transcript(conversation(app, session).id)
    )
    assert [m.suggestions for m in transcript if m.direction == "out"] == [tuple(reply["suggestions"]), ()]


def test_tapping_a_suggestion_sends_its_text_and_gets_its_answer(client: TestClient) -> None:
    session = new_session(client)
    first = offered(client, session)["suggestions"][0]
    picked = ask(client, session, first).json()["reply"]
    assert picked["mode"] == "faq"
    assert faq_answer(first)[:30] in picked["text"]


def test_a_number_with_nothing_offered_is_a_friendly_prompt(client: TestClient, app: FastAPI) -> None:
    session = new_session(client)
    reply = ask(client, session, "2").json()["reply"]
    assert reply["text"] == prompts.load("suggestion_none").strip()
    assert not reply["escalated"]
    assert conversation(app, session).state == "bot"


def test_an_offer_keeps_the_low_confidence_streak_as_it_was(client: TestClient, app: FastAPI) -> None:
    session = new_session(client)
    ask(client, session, "团体标准是强制执行的吗")
    record = conversation(app, session)
    store = services_of(app).store
    store.conversations.set_low_confidence_streak(record.id, 1)  # one low-confidence answer before
    offered(client, session)
    after = conversation(app, session)
    assert (after.low_confidence_streak, after.state) == (1, "bot")  # not a second failure: no handoff


def test_history_and_the_event_stream_carry_the_suggestions(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        session = new_session(http)
        reply = ask(http, session, CLOSE_QUESTION).json()["reply"]
        assert reply["suggestions"]
        history = http.get("/api/chat/history", params=session).json()["messages"]
        assert [m["suggestions"] for m in history if m["author"] == "bot"] == [reply["suggestions"]]
        with http.stream("GET", "/api/chat/events", params=session) as stream:
            [(event_id, data)] = read_events(stream, 1)
        assert event_id == reply["message_id"]
        assert data["suggestions"] == reply["suggestions"]
