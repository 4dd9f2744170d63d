"""The web chat API end to end: the real dispatcher, store, knowledge base, outbox and channel."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from support.processes import free_port
from support.web_app import LiveServer, services_of

from bot.channels.webchat import CHANNEL, ChatSignals
from bot.messages import Reply
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.store import ConversationRecord, Store
from bot.web.app import create_app
from config.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "bot" / "web" / "static"


def new_session(client: TestClient | httpx.Client) -> dict[str, str]:
    response = client.post("/api/chat/sessions")
    assert response.status_code == 201
    session: dict[str, str] = response.json()
    return session


def ask(client: TestClient | httpx.Client, session: dict[str, str], text: str, **extra: Any) -> Any:
    """POST a message; the response (TestClient's or httpx's)."""
    return client.post("/api/chat/messages", json={**session, "text": text, **extra})


def conversation(app: FastAPI, session: dict[str, str]) -> ConversationRecord:
    found = services_of(app).store.conversations.find(CHANNEL, session["session_id"], session["session_id"])
    assert found is not None
    return found


def test_question_gets_an_answer_with_citations(client: TestClient, app: FastAPI) -> None:
    session = new_session(client)
    response = ask(client, session, "企业标准需要自我声明公开吗", client_message_id="q1")
    assert response.status_code == 200
    body = response.json()
    reply = body["reply"]
    assert reply["author"] == "bot" and not reply["escalated"]
    assert reply["mode"] in ("faq", "extractive", "llm")
    assert any(c["label"].startswith("《") and c["clause"] for c in reply["citations"])
    assert {"label", "source", "clause", "standard"} <= set(reply["citations"][0])
    transcript = services_of(app).store.conversations.transcript(conversation(app, session).id)
    assert [(m.id, m.direction) for m in transcript] == [
        (body["message_id"], "in"),
        (reply["message_id"], "out"),
    ]


def test_catalogue_question_cites_the_standard(client: TestClient) -> None:
    reply = ask(client, new_session(client), "GB/T 19001-2016 还有效吗").json()["reply"]
    assert reply["mode"] == "catalog"
    assert [c["standard"] for c in reply["citations"]] == ["GB/T 19001-2016"]


def test_handoff_button_escalates_and_the_conversation_waits(client: TestClient, app: FastAPI) -> None:
    session = new_session(client)
    ask(client, session, "团体标准是谁制定的")
    response = client.post("/api/chat/handoff", json={**session, "client_message_id": "h1"})
    assert response.status_code == 200
    reply = response.json()["reply"]
    assert reply["escalated"] and reply["author"] == "system" and "工作人员" in reply["text"]
    record = conversation(app, session)
    assert record.state == "waiting"
    handoff = services_of(app).store.handoffs.active_for(record.id)
    assert handoff is not None and handoff.reason == "button"
    # inside staff hours (round the clock in these tests) the bot no longer answers: one notice, then quiet
    waiting = ask(client, session, "企业标准要公开吗").json()["reply"]
    assert waiting["author"] == "system" and waiting["mode"] == "waiting" and not waiting["citations"]
    assert ask(client, session, "还在吗").json()["reply"] is None
    assert conversation(app, session).state == "waiting"


def test_asking_for_a_person_in_words_escalates(client: TestClient, app: FastAPI) -> None:
    session = new_session(client)
    reply = ask(client, session, "我要转人工").json()["reply"]
    assert reply["escalated"]
    assert conversation(app, session).state == "waiting"


def test_thumbs_down_is_recorded_and_hands_over(client: TestClient, app: FastAPI) -> None:
    session = new_session(client)
    answer = ask(client, session, "团体标准是谁制定的").json()["reply"]
    response = client.post(
        "/api/chat/feedback", json={**session, "message_id": answer["message_id"], "value": -1}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["reply"]["escalated"]
    handoff = services_of(app).store.handoffs.active_for(conversation(app, session).id)
    assert handoff is not None and handoff.reason == "thumbs_down"


def test_thumbs_up_changes_nothing(client: TestClient, app: FastAPI) -> None:
    session = new_session(client)
    answer = ask(client, session, "团体标准是谁制定的").json()["reply"]
    response = client.post(
        "/api/chat/feedback", json={**session, "message_id": answer["message_id"], "value": 1}
    )
    assert response.json() == {"ok": True, "reply": None}
    assert conversation(app, session).state == "bot"


def test_feedback_on_another_chats_reply_is_refused(client: TestClient) -> None:
    first, second = new_session(client), new_session(client)
    answer = ask(client, first, "团体标准是谁制定的").json()["reply"]
    ask(client, second, "企业标准要公开吗")
    response = client.post(
        "/api/chat/feedback", json={**second, "message_id": answer["message_id"], "value": -1}
    )
    assert response.status_code == 404 and "/" in response.json()["error"]
    response = client.post(
        "/api/chat/feedback", json={**first, "message_id": answer["message_id"], "value": 5}
    )
    assert response.status_code == 422


def test_double_submitted_message_is_answered_once(client: TestClient, app: FastAPI) -> None:
    session = new_session(client)
    first = ask(client, session, "团体标准是谁制定的", client_message_id="same-1").json()
    again = ask(client, session, "团体标准是谁制定的", client_message_id="same-1").json()
    assert not first["duplicate"] and again["duplicate"]
    assert again["message_id"] == first["message_id"]
    assert again["reply"]["message_id"] == first["reply"]["message_id"]
    transcript = services_of(app).store.conversations.transcript(conversation(app, session).id)
    assert [m.direction for m in transcript] == ["in", "out"]


def test_concurrent_double_submit_is_one_message_and_one_answer(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        session = new_session(http)
        with ThreadPoolExecutor(2) as pool:
            responses = list(
                pool.map(lambda _: ask(http, session, "企业标准要公开吗", client_message_id="dbl"), range(2))
            )
    assert [r.status_code for r in responses] == [200, 200]
    assert sorted(r.json()["duplicate"] for r in responses) == [False, True]
    transcript = services_of(live_server.app).store.conversations.transcript(
        conversation(live_server.app, session).id
    )
    assert [m.direction for m in transcript] == ["in", "out"]


def test_same_client_id_in_two_sessions_are_two_messages(client: TestClient) -> None:
    first = ask(client, new_session(client), "团体标准是谁制定的", client_message_id="1").json()
    second = ask(client, new_session(client), "团体标准是谁制定的", client_message_id="1").json()
    assert not second["duplicate"] and second["message_id"] != first["message_id"]


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_message_is_a_clear_422(client: TestClient, text: str) -> None:
    response = ask(client, new_session(client), text)
    assert response.status_code == 422
    assert response.json() == {"error": "消息不能为空 / the message is empty"}


def test_oversized_message_is_a_clear_413(client: TestClient, app: FastAPI) -> None:
    limit = services_of(app).settings.web.max_message_chars
    session = new_session(client)
    response = ask(client, session, "标" * (limit + 1))
    assert response.status_code == 413
    assert "太长" in response.json()["error"] and str(limit) in response.json()["error"]
    assert (
        services_of(app).store.conversations.find(CHANNEL, session["session_id"], session["session_id"])
        is None
    )
    assert ask(client, session, "标" * limit).status_code == 200


def test_malformed_requests_are_json_errors(client: TestClient) -> None:
    session = new_session(client)
    missing = client.post("/api/chat/messages", json={"text": "你好"})
    assert missing.status_code == 422 and "session_id" in missing.json()["error"]
    bad_id = ask(client, session, "你好", client_message_id="<script>")
    assert bad_id.status_code == 422 and "client_message_id" in bad_id.json()["error"]
    not_json = client.post("/api/chat/messages", content=b"text=hi", headers={"content-type": "text/plain"})
    assert not_json.status_code == 422 and "error" in not_json.json()


def test_wrong_token_is_403_everywhere(client: TestClient) -> None:
    session = new_session(client)
    other = new_session(client)
    forged = {"session_id": session["session_id"], "token": other["token"]}
    assert ask(client, forged, "你好").status_code == 403
    assert client.post("/api/chat/handoff", json=forged).status_code == 403
    assert client.post("/api/chat/feedback", json={**forged, "message_id": 1, "value": 1}).status_code == 403
    assert client.get("/api/chat/history", params=forged).status_code == 403
    response = client.get("/api/chat/events", params=forged)
    assert response.status_code == 403 and "会话" in response.json()["error"]
    empty = client.get("/api/chat/history", params={"session_id": "", "token": ""})
    assert empty.status_code == 422 and "session_id" in empty.json()["error"]


def test_html_comes_back_as_plain_text(client: TestClient) -> None:
    session = new_session(client)
    text = '<script>alert("x")</script><img src=x onerror=alert(1)> 企业标准要公开吗'
    response = ask(client, session, text)
    assert response.headers["content-type"] == "application/json"
    history = client.get("/api/chat/history", params=session).json()["messages"]
    assert history[0] == {**history[0], "author": "user", "text": text}


def test_chat_script_never_parses_message_text_as_html() -> None:
    script = (STATIC / "chat.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    assert "textContent" in script


def test_history_restores_the_session_without_feedback_rows(client: TestClient) -> None:
    session = new_session(client)
    answer = ask(client, session, "团体标准是谁制定的").json()["reply"]
    client.post("/api/chat/feedback", json={**session, "message_id": answer["message_id"], "value": 1})
    messages = client.get("/api/chat/history", params=session).json()["messages"]
    assert [m["author"] for m in messages] == ["user", "bot"]
    assert messages[1]["citations"] == answer["citations"]
    assert client.get("/api/chat/history", params=new_session(client)).json() == {"messages": []}


def read_events(response: httpx.Response, count: int) -> list[tuple[int, dict[str, Any]]]:
    """The first `count` events of an open SSE response: (id, data)."""
    events: list[tuple[int, dict[str, Any]]] = []
    event_id: int | None = None
    for line in response.iter_lines():
        if line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: "):
            assert event_id is not None
            events.append((event_id, json.loads(line[6:])))
            if len(events) == count:
                break
    return events


def send_staff_reply(app: FastAPI, session: dict[str, str], text: str) -> int:
    """What the staff console does: store the reply and hand it to the outbox."""
    parts = services_of(app)
    record = conversation(app, session)
    stored = parts.store.conversations.record_outbound(record.id, text, author="staff:li")
    parts.outbox.enqueue(Reply(CHANNEL, session["session_id"], text, "staff", message_id=stored.id))
    return stored.id


def test_event_stream_delivers_a_staff_reply_sent_after_subscribing(live_server: LiveServer) -> None:
    app = live_server.app
    with httpx.Client(base_url=live_server.url, timeout=httpx.Timeout(10, read=8)) as http:
        session = new_session(http)
        answer = ask(http, session, "团体标准是谁制定的").json()["reply"]
        params = {**session, "after": str(answer["message_id"])}
        with http.stream("GET", "/api/chat/events", params=params) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            while services_of(app).signals.subscribers(session["session_id"]) == 0:
                time.sleep(0.01)
            sent_at = time.monotonic()
            staff_id = send_staff_reply(app, session, "您好，我是工作人员 <b>小李</b>")
            [(event_id, data)] = read_events(stream, 1)
            waited = time.monotonic() - sent_at
    assert event_id == staff_id
    assert data["author"] == "staff" and data["text"] == "您好，我是工作人员 <b>小李</b>"
    assert waited < 5
    metrics = httpx.get(f"{live_server.url}/metrics").text
    assert re.search(r'stdbot_messages_out_total\{channel="webchat",kind="staff"\} 1\.0', metrics)


def test_event_stream_resumes_after_last_event_id(live_server: LiveServer) -> None:
    app = live_server.app
    with httpx.Client(base_url=live_server.url, timeout=httpx.Timeout(10, read=8)) as http:
        session = new_session(http)
        first = ask(http, session, "团体标准是谁制定的").json()["reply"]
        second = ask(http, session, "企业标准要公开吗").json()["reply"]
        with http.stream("GET", "/api/chat/events", params=session) as stream:
            assert [i for i, _ in read_events(stream, 2)] == [first["message_id"], second["message_id"]]
        headers = {"Last-Event-ID": str(first["message_id"])}
        with http.stream("GET", "/api/chat/events", params=session, headers=headers) as stream:
            [(event_id, data)] = read_events(stream, 1)
    assert event_id == second["message_id"] and data["citations"] == second["citations"]
    deadline = time.monotonic() + 5  # a closed stream unsubscribes
    while services_of(app).signals.subscribers(session["session_id"]):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_signals_wake_a_subscriber_from_another_thread() -> None:
    import asyncio
    import threading

    async def scenario() -> float:
        signals = ChatSignals()
        signals.bind(asyncio.get_running_loop())
        with signals.subscribe("chat-1") as event:
            started = time.monotonic()
            threading.Timer(0.05, signals.notify, args=("chat-1",)).start()
            signals.notify("other-chat")
            await asyncio.wait_for(event.wait(), 2)
            return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0  # well under the 1 s polling fallback


def test_chat_page_is_chinese_escaped_and_framable_only_where_allowed(client: TestClient) -> None:
    response = client.get("/chat")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text and "转人工" in response.text
    assert "/static/chat.js" in response.text and "<script>" not in response.text
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://example.org" in policy and "script-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    script = client.get("/static/chat.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert client.get("/static/chat.css").status_code == 200


@pytest.mark.parametrize("source", ["https://a.example; script-src *", "https://a.example https://b", ""])
def test_frame_ancestors_cannot_smuggle_other_directives(source: str) -> None:
    with pytest.raises(ValidationError, match="allowed_frame_ancestors"):
        Settings(web={"allowed_frame_ancestors": [source]})


def test_openapi_documents_the_chat_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("sessions", "messages", "feedback", "handoff", "events", "history"):
        assert f"/api/chat/{path}" in paths
    message = paths["/api/chat/messages"]["post"]
    assert {"200", "403", "413", "422"} <= set(message["responses"])
    components = schema["components"]["schemas"]
    assert {"text", "client_message_id", "session_id", "token"} <= set(components["MessageIn"]["properties"])
    assert "citations" in components["ChatMessageOut"]["properties"]
    assert "text/event-stream" in paths["/api/chat/events"]["get"]["responses"]["200"]["content"]


def test_database_down_is_a_clear_503(settings: Settings, holder: KnowledgeBaseHolder) -> None:
    down = Store(f"postgresql+psycopg://stdbot:secret@127.0.0.1:{free_port()}/stdbot")
    with TestClient(create_app(settings, store=down, holder=holder)) as client:
        session = new_session(client)
        response = ask(client, session, "企业标准要公开吗")
        assert response.status_code == 503
        assert response.json() == {
            "error": "服务暂时不可用，请稍后再试 / service temporarily unavailable, try again later"
        }
        assert "secret" not in response.text
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] is False
