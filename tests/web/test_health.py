"""Probes and metrics: /healthz, /readyz (database + knowledge base) and /metrics per app."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from fastapi.testclient import TestClient
from support.web_app import services_of, web_settings

from bot.messages import DeliveryResult, IncomingMessage, Reply
from bot.service.channels import ChannelRegistry
from bot.service.events import EventBus
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.service.metrics import Metrics
from bot.service.outbox import Outbox
from bot.store import Store
from bot.web.app import create_app


def metric(text: str, name: str, labels: str = "") -> float | None:
    """The value of one sample in the exposition text, None when absent."""
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match[1]) if match else None


def test_healthz_answers_with_security_headers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_readyz_reports_database_and_knowledge_base(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": True, "knowledge_base": 1, "error": None}


def test_readyz_waits_for_a_knowledge_base_then_turns_ready(tmp_path: Path, kb_dir: Path) -> None:
    data_dir = tmp_path / "var"
    app = create_app(web_settings(data_dir, tmp_path / "db.sqlite"))
    services_of(app).warmup.retry_s = 0.1
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["database"] is True and body["knowledge_base"] is None and "知识库" in body["error"]
        shutil.copytree(kb_dir, data_dir, dirs_exist_ok=True)  # a knowledge base appears (ingest elsewhere)
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.1)
        assert client.get("/readyz").json()["knowledge_base"] == 1


def test_metrics_count_messages_answers_escalations_and_deliveries(client: TestClient) -> None:
    session = client.post("/api/chat/sessions").json()
    answer = client.post("/api/chat/messages", json={**session, "text": "团体标准是谁制定的"}).json()["reply"]
    client.post("/api/chat/handoff", json=session)
    client.post("/api/chat/feedback", json={**session, "message_id": answer["message_id"], "value": 1})
    deadline = time.monotonic() + 10
    while (
        metric(
            text := client.get("/metrics").text,
            "stdbot_messages_out_total",
            'channel="webchat",kind="system"',
        )
        is None
    ):
        assert time.monotonic() < deadline, "the outbox did not deliver"
        time.sleep(0.05)
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    assert metric(text, "stdbot_messages_in_total", 'channel="webchat"') == 2  # 👍 is not a message
    assert metric(text, "stdbot_messages_out_total", 'channel="webchat",kind="bot"') == 1
    assert metric(text, "stdbot_escalations_total", 'reason="button"') == 1
    assert metric(text, "stdbot_answer_seconds_count") == 1
    assert (metric(text, "stdbot_answer_seconds_sum") or 0) > 0


def test_each_app_has_its_own_registry(
    client: TestClient, tmp_path: Path, kb_dir: Path, holder: KnowledgeBaseHolder
) -> None:
    session = client.post("/api/chat/sessions").json()
    client.post("/api/chat/messages", json={**session, "text": "团体标准是谁制定的"})
    other = create_app(web_settings(kb_dir, tmp_path / "other.sqlite"), holder=holder)
    with TestClient(other) as second:
        text = second.get("/metrics").text
    assert "stdbot_messages_in_total" in text
    assert metric(text, "stdbot_messages_in_total", 'channel="webchat"') is None
    assert metric(client.get("/metrics").text, "stdbot_messages_in_total", 'channel="webchat"') == 1


class RefusingChannel:
    """A channel whose platform always says no."""

    name = "refusing"

    def send(self, reply: Reply) -> DeliveryResult:
        return DeliveryResult(ok=False, error="platform said no", retryable=True)


def test_failed_deliveries_are_counted(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    events = EventBus()
    metrics = Metrics().listen(events)
    outbox = Outbox(store, ChannelRegistry([RefusingChannel()]), events=events)
    message = IncomingMessage(
        channel="refusing", chat_id="chat-1", user_id="u", message_id="m-1", text="你好"
    )
    conversation = store.conversations.record_inbound(message).conversation
    stored = store.conversations.record_outbound(conversation.id, "回复", author="bot")
    outbox.enqueue(Reply("refusing", "chat-1", "回复", "bot", message_id=stored.id))
    assert outbox.run_once() == 1
    text = metrics.render().decode()
    assert metric(text, "stdbot_delivery_failures_total", 'channel="refusing"') == 1
    assert metric(text, "stdbot_messages_out_total", 'channel="refusing",kind="bot"') is None
    store.close()
