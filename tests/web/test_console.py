"""The staff console end to end: queue, transcript, claim / release / reply / resolve, save as FAQ,
escaping — with the real dispatcher, outbox, web chat channel and knowledge base."""

from __future__ import annotations

import html
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.web_app import services_of
from web.console_support import (
    add_account,
    chat_user_asks_for_person,
    hidden,
    history,
    logged_in,
    staff_delivery,
)


def page(client: TestClient, conversation_id: int) -> str:
    response = client.get(f"/console/conversations/{conversation_id}")
    assert response.status_code == 200
    return response.text


def post(client: TestClient, conversation_id: int, action: str, token: str, **data: Any) -> Any:
    return client.post(
        f"/console/conversations/{conversation_id}/{action}",
        data={"csrf_token": token, **data},
        follow_redirects=False,
    )


@pytest.fixture
def token(app: FastAPI, client: TestClient) -> str:
    """Staff member alice, logged in on the client: the session's CSRF token."""
    add_account(app, "alice")
    return logged_in(client, "alice")


def staff_messages(client: TestClient, session: dict[str, str]) -> list[dict[str, Any]]:
    return [m for m in history(client, session) if m["author"] == "staff"]


@pytest.mark.usefixtures("token")
def test_queue_shows_waiting_conversations_and_its_json_refreshes(app: FastAPI, client: TestClient) -> None:
    empty = client.get("/console/api/queue", headers={"Accept": "application/json"})
    assert empty.status_code == 200 and empty.json() == {"items": []}
    session, conversation_id = chat_user_asks_for_person(client)
    queue = client.get("/console").text
    assert f"/console/conversations/{conversation_id}" in queue and "用户点击“转人工”" in queue
    items = client.get("/console/api/queue").json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["conversation_id"] == conversation_id and item["channel"] == "webchat"
    assert item["user"] == session["session_id"] and item["claimed_by"] is None
    assert "转人工" in item["reason"] and item["waiting"] == "不到 1 分钟"


@pytest.mark.usefixtures("token")
def test_search_finds_a_conversation_by_message_text(app: FastAPI, client: TestClient) -> None:
    _, conversation_id = chat_user_asks_for_person(client, "团体标准由谁制定？")
    found = client.get("/console", params={"q": "团体标准"}).text
    assert "搜索结果" in found and f'/console/conversations/{conversation_id}"' in found
    assert "没有找到匹配的会话" in client.get("/console", params={"q": "不存在的内容xyz"}).text


@pytest.mark.usefixtures("token")
def test_transcript_shows_bot_answers_with_citations_and_confidence(app: FastAPI, client: TestClient) -> None:
    _, conversation_id = chat_user_asks_for_person(client)
    text = page(client, conversation_id)
    transcript = services_of(app).store.conversations.transcript(conversation_id)
    answer = next(m for m in transcript if m.author == "bot" and m.citations)
    assert "企业标准需要公开吗？" in text
    assert html.escape(answer.citations[0].label, quote=False) in text
    assert f"置信度 {answer.confidence:.2f}" in text
    live = client.get(f"/console/api/conversations/{conversation_id}/messages", params={"after": 0}).json()
    assert [m["id"] for m in live["messages"]] == [m.id for m in transcript]
    assert live["state"] == "等待人工"


def test_staff_reply_reaches_the_chat_user_once_even_when_posted_twice(
    app: FastAPI, client: TestClient, token: str
) -> None:
    session, conversation_id = chat_user_asks_for_person(client)
    form_token = hidden(page(client, conversation_id), "form_token")
    reply = {"text": "您好，企业标准需要在公共服务平台上自我声明公开。", "form_token": form_token}
    first = post(client, conversation_id, "reply", token, **reply)
    second = post(client, conversation_id, "reply", token, **reply)
    assert first.status_code == 303 and first.headers["location"].endswith("done=replied")
    assert second.status_code == 303 and second.headers["location"].endswith("done=reply_repeat")
    mine = staff_messages(client, session)
    assert [m["text"] for m in mine] == [reply["text"]]
    delivery = staff_delivery(app, mine[0]["message_id"])
    assert delivery.state == "sent" and delivery.kind == "staff" and delivery.chat_id == session["session_id"]
    store = services_of(app).store
    handoff = store.handoffs.active_for(conversation_id)
    assert handoff is not None and handoff.state == "claimed" and handoff.staff == "alice"  # reply claims
    assert handoff.first_reply_at is not None
    assert "回复已发送" in client.get(first.headers["location"]).text
    # a fresh form (new token) sends a second reply
    again = post(client, conversation_id, "reply", token, text="还有问题吗？", form_token="another-token-123")
    assert again.status_code == 303 and len(staff_messages(client, session)) == 2
    assert [e.action for e in store.staff.audit_log()][:2] == ["reply", "reply"]


def test_resolve_returns_the_conversation_to_the_bot_and_tells_the_user(
    app: FastAPI, client: TestClient, token: str
) -> None:
    session, conversation_id = chat_user_asks_for_person(client)
    resolved = post(client, conversation_id, "resolve", token)
    assert resolved.status_code == 303 and resolved.headers["location"].endswith("done=resolved")
    store = services_of(app).store
    assert (
        store.conversations.get(conversation_id).state == "bot"
        and store.handoffs.active_for(conversation_id) is None
    )
    notice = history(client, session)[-1]
    assert notice["author"] == "system" and "咨询助手继续为您解答" in notice["text"]
    assert client.get("/console/api/queue").json() == {"items": []}
    # the bot answers the next question again
    answer = client.post("/api/chat/messages", json={**session, "text": "企业标准需要公开吗？"}).json()
    assert answer["reply"]["author"] == "bot"
    again = post(client, conversation_id, "resolve", token)
    assert again.status_code == 409 and "已经解决" in again.text


def test_reply_after_resolve_is_refused_and_nothing_is_sent(
    app: FastAPI, client: TestClient, token: str
) -> None:
    session, conversation_id = chat_user_asks_for_person(client)
    form_token = hidden(page(client, conversation_id), "form_token")  # the page was open before resolving
    assert post(client, conversation_id, "resolve", token).status_code == 303
    late = post(client, conversation_id, "reply", token, text="迟到的回复", form_token=form_token)
    assert late.status_code == 409 and "人工服务已结束" in late.text and "回复未发送" in late.text
    assert "迟到的回复" in late.text  # the draft is kept in the box
    assert staff_messages(client, session) == []
    fetch = client.post(
        f"/console/conversations/{conversation_id}/reply",
        data={"text": "迟到的回复", "form_token": "fetch-token-123"},
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )
    assert fetch.status_code == 409 and "回复未发送" in fetch.json()["error"]
    assert staff_messages(client, session) == []


def test_claim_conflicts_release_and_empty_replies(app: FastAPI, client: TestClient) -> None:
    add_account(app, "alice")
    add_account(app, "bob")
    session, conversation_id = chat_user_asks_for_person(client)
    alice_token = logged_in(client, "alice")
    alice_cookies = dict(client.cookies)
    assert post(client, conversation_id, "claim", alice_token).headers["location"].endswith("done=claimed")
    client.cookies.clear()
    bob_token = logged_in(client, "bob")
    for action, data in (
        ("claim", {}),
        ("reply", {"text": "我来", "form_token": "bob-token-123"}),
        ("release", {}),
    ):
        refused = post(client, conversation_id, action, bob_token, **data)
        assert refused.status_code == 409 and "已由 alice 接手" in refused.text, action
    assert staff_messages(client, session) == []
    empty = post(client, conversation_id, "reply", bob_token, text="   ", form_token="bob-token-456")
    assert empty.status_code in (409, 422)
    client.cookies.clear()
    client.cookies.update(alice_cookies)
    assert post(client, conversation_id, "release", alice_token).headers["location"].endswith("done=released")
    handoff = services_of(app).store.handoffs.active_for(conversation_id)
    assert handoff is not None and handoff.state == "open" and handoff.staff is None
    assert services_of(app).store.conversations.get(conversation_id).state == "waiting"
    actions = [e.action for e in services_of(app).store.staff.audit_log()]
    assert "claim" in actions and "release" in actions


def test_claiming_a_bot_conversation_takes_it_over(app: FastAPI, client: TestClient, token: str) -> None:
    session: dict[str, str] = client.post("/api/chat/sessions").json()
    client.post("/api/chat/messages", json={**session, "text": "企业标准需要公开吗？"})
    store = services_of(app).store
    conversation = store.conversations.find("webchat", session["session_id"], session["session_id"])
    assert conversation is not None and conversation.state == "bot"
    refused = post(client, conversation.id, "reply", token, text="你好", form_token="early-token-123")
    assert refused.status_code == 409 and staff_messages(client, session) == []
    assert post(client, conversation.id, "claim", token).status_code == 303
    handoff = store.handoffs.active_for(conversation.id)
    assert handoff is not None and handoff.state == "claimed" and handoff.reason == "staff_takeover"
    assert "工作人员主动接手" in client.get("/console/api/queue").json()["items"][0]["reason"]


def test_save_as_faq_creates_a_draft_from_the_question_and_the_staff_reply(
    app: FastAPI, client: TestClient, token: str
) -> None:
    session, conversation_id = chat_user_asks_for_person(client, "团体标准可以收费吗？")
    answer = "团体标准是否收费由制定团体自行决定。"
    post(client, conversation_id, "reply", token, text=answer, form_token="reply-token-123")
    message_id = staff_messages(client, session)[0]["message_id"]
    text = page(client, conversation_id)
    assert "存为 FAQ 草稿" in text
    faq = {"message_id": str(message_id), "form_token": hidden(text.split("/faq")[1], "form_token")}
    saved = post(client, conversation_id, "faq", token, **faq)
    repeated = post(client, conversation_id, "faq", token, **faq)
    assert saved.status_code == 200 and "已存为 FAQ 草稿" in saved.text and repeated.status_code == 200
    drafts = services_of(app).store.admin.faq_drafts()
    assert [(d.question, d.answer, d.author, d.conversation_id) for d in drafts] == [
        ("团体标准可以收费吗？", answer, "staff:alice", conversation_id)
    ]
    bot_reply = next(m for m in history(client, session) if m["author"] == "bot")
    wrong = post(
        client, conversation_id, "faq", token, message_id=str(bot_reply["message_id"]), form_token="x" * 10
    )
    assert wrong.status_code == 404 and "找不到这条人工回复" in wrong.text
    assert "save_faq" in [e.action for e in services_of(app).store.staff.audit_log()]


def test_html_in_user_messages_is_escaped_in_the_console(
    app: FastAPI, client: TestClient, token: str
) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    session, conversation_id = chat_user_asks_for_person(client, f"企业标准{attack}需要公开吗？")
    post(client, conversation_id, "reply", token, text=f"回复{attack}", form_token="reply-token-123")
    for text in (page(client, conversation_id), client.get("/console", params={"q": "script"}).text):
        assert "<script>alert" not in text and "<img src=x" not in text
    text = page(client, conversation_id)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert text.count("&lt;img src=x onerror=alert(1)&gt;") >= 2
    assert client.get("/console/api/queue").json()["items"][0]["user"] == session["session_id"]


def test_missing_conversation_is_a_clear_404(app: FastAPI, client: TestClient, token: str) -> None:
    assert client.get("/console/conversations/999").status_code == 404
    missing = post(client, 999, "claim", token)
    assert missing.status_code == 404 and "找不到该会话" in missing.text
