"""A sender over the message budget: one request to slow down, then 429 with Retry-After; others go on."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from support.web_app import services_of, web_settings

from bot.channels.webchat import CHANNEL
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.web.app import create_app


def test_a_flooding_session_is_told_once_then_refused_with_429(
    kb_dir: Path, holder: KnowledgeBaseHolder, tmp_path: Path
) -> None:
    settings = web_settings(kb_dir, tmp_path / "stdbot.db").model_copy(deep=True)
    settings.answer.messages_per_minute = 2
    app = create_app(settings, holder=holder)
    with TestClient(app) as client:
        flooder = client.post("/api/chat/sessions").json()
        other = client.post("/api/chat/sessions").json()

        def ask(session: dict[str, str], text: str) -> tuple[int, dict[str, object], str | None]:
            response = client.post("/api/chat/messages", json={**session, "text": text})
            return response.status_code, response.json(), response.headers.get("retry-after")

        for question in ("企业标准要公开吗", "团体标准是谁制定的"):
            status, body, _ = ask(flooder, question)
            assert status == 200 and body["reply"]["author"] == "bot"  # type: ignore[index]
        status, body, _ = ask(flooder, "强制性标准必须执行吗")
        assert status == 200
        assert "太快" in body["reply"]["text"] and body["reply"]["author"] == "system"  # type: ignore[index]
        status, body, retry_after = ask(flooder, "推荐性标准呢")
        assert status == 429 and "太快" in str(body["error"])
        assert retry_after is not None and 1 <= int(retry_after) <= 61
        status, body, _ = ask(other, "企业标准要公开吗")
        assert status == 200 and body["reply"]["author"] == "bot"  # type: ignore[index]
    store = services_of(app).store
    conversation = store.conversations.find(CHANNEL, flooder["session_id"], flooder["session_id"])
    assert conversation is not None
    transcript = store.conversations.transcript(conversation.id)
    assert [m.direction for m in transcript].count("in") == 4  # every message is kept
    assert [m.author for m in transcript if m.direction == "out"] == ["bot", "bot", "system"]
