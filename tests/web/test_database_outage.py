"""The database going away and coming back while the web chat is in use, on a real uvicorn server with a
PostgreSQL database of its own.

The shared PostgreSQL server is never stopped: the app reaches its database through a TCP proxy of the
test's own (STDBOT_DATABASE__URL points at it), and `cut()` closes every connection and refuses new
ones, which is what a database restart looks like to the app. Staff in another worker process reach the
database directly, so they can queue a reply while this server cannot see the database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url
from support.store_fixtures import PostgresServer
from support.tcp_proxy import TcpProxy
from support.waiting import wait_until
from support.web_app import ALWAYS_OPEN, SECRET, LiveServer, services_of
from web.test_chat_api import ask, new_session, read_events

from bot.channels.webchat import CHANNEL
from bot.messages import Reply
from bot.service.locks import ConversationLocks
from bot.service.outbox import Outbox
from bot.store import Store
from config.errors import StoreUnavailable
from config.settings import Settings

REQUEST_BOUND_S = 30.0  # a request still unanswered by then hangs, and fails the test
WAIT_S = 30.0
UNAVAILABLE = {"error": "服务暂时不可用，请稍后再试 / service temporarily unavailable, try again later"}
STAFF = "outage-test"
STAFF_TEXT = "您好，我是工作人员：企业标准应在实施前自我声明公开。"


@dataclass(frozen=True)
class ProxiedDatabase:
    """A migrated-on-start PostgreSQL database, reached by the app through `proxy`."""

    direct_url: str  # straight to PostgreSQL: another process whose connection is fine
    proxied_url: str
    proxy: TcpProxy


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[ProxiedDatabase]:
    direct_url = postgres_server.create_database()
    target = make_url(direct_url)
    try:
        with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
            proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            yield ProxiedDatabase(direct_url, proxied, proxy)
    finally:
        postgres_server.drop_database(direct_url)


@pytest.fixture
def settings(kb_dir: Path, database: ProxiedDatabase, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The server's settings (overriding the SQLite ones of web/conftest.py): its database is the proxy."""
    monkeypatch.setenv("STDBOT_DATABASE__URL", database.proxied_url)
    return Settings(data_dir=kb_dir, web={"secret_key": SECRET}, handoff=ALWAYS_OPEN)


def outbox_failures(caplog: pytest.LogCaptureFixture) -> int:
    failed = "stdbot-outbox: round failed"
    return sum(1 for r in caplog.records if r.name == "bot.service.worker" and r.message == failed)


def test_a_database_restart_during_traffic_fails_cleanly_and_loses_nothing(
    live_server: LiveServer, database: ProxiedDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    assert services_of(live_server.app).store.url.port == database.proxy.port  # through the proxy
    staff = Store(database.direct_url)
    try:
        transcript = _traffic_through_an_outage(live_server, database, staff, caplog)
    finally:
        staff.close()
    assert "GB/T 19001-2016 还有效吗" not in transcript  # refused with 503: not accepted, not half-stored
    assert transcript.count(STAFF_TEXT) == 1 and "还需要备案吗？" in transcript


def _traffic_through_an_outage(
    live_server: LiveServer, database: ProxiedDatabase, staff: Store, caplog: pytest.LogCaptureFixture
) -> list[str]:
    """The user asks, asks for a person, the database goes away and comes back; the conversation's
    stored texts afterwards."""
    app = services_of(live_server.app)
    timeout = httpx.Timeout(REQUEST_BOUND_S)
    with httpx.Client(base_url=live_server.url, timeout=timeout) as http:
        wait_until(lambda: http.get("/readyz").status_code == 200, WAIT_S, "the server is ready")
        session = new_session(http)
        answered = ask(http, session, "企业标准需要公开吗？")
        assert answered.status_code == 200 and answered.json()["reply"]["citations"]
        handed = http.post("/api/chat/handoff", json=session)
        assert handed.status_code == 200
        conversation = staff.conversations.find(CHANNEL, session["session_id"], session["session_id"])
        assert conversation is not None and conversation.state == "waiting"
        params = {**session, "after": str(handed.json()["reply"]["message_id"])}
        with http.stream("GET", "/api/chat/events", params=params) as stream:  # the user's page listens on
            assert stream.status_code == 200
            wait_until(
                lambda: app.signals.subscribers(session["session_id"]) == 1, WAIT_S, "the page subscribed"
            )

            database.proxy.cut()
            # (a) requests fail cleanly: a JSON 503 in Chinese and English within the time bound, no trace
            for refused in (
                ask(http, session, "GB/T 19001-2016 还有效吗"),
                http.get("/api/chat/history", params=session),
                http.post("/api/chat/handoff", json=session),
            ):
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"] == "application/json"
                assert refused.json() == UNAVAILABLE
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["database"] is False and "数据库" in ready.json()["error"]
            assert http.get("/healthz").json() == {"status": "ok"}

            # (b) a staff reply stored and queued by another process cannot be delivered by this one yet
            failures = outbox_failures(caplog)
            handoff = staff.handoffs.active_for(conversation.id)
            assert handoff is not None
            staff.handoffs.claim(handoff.id, STAFF)
            stored = staff.conversations.record_outbound(conversation.id, STAFF_TEXT, author=f"staff:{STAFF}")
            reply = Reply(CHANNEL, conversation.chat_id, STAFF_TEXT, "staff", message_id=stored.id)
            delivery = Outbox(staff, {}).enqueue(reply)  # queues only: no channels, no thread
            wait_until(lambda: outbox_failures(caplog) > failures + 1, WAIT_S, "the outbox fails a run")
            assert app.outbox.running  # it keeps polling through the outage
            assert staff.deliveries.get(delivery.id).state == "pending"

            database.proxy.restore()
            [(event_id, data)] = read_events(stream, 1)  # the same stream: no reload
            assert event_id == stored.id and data["author"] == "staff" and data["text"] == STAFF_TEXT
        wait_until(lambda: staff.deliveries.get(delivery.id).state == "sent", WAIT_S, "the delivery is sent")
        assert staff.deliveries.get(delivery.id).platform_message_id == str(stored.id)
        assert app.outbox.running

        # (c) the same server serves again, without a restart
        assert http.get("/readyz").status_code == 200
        shown = http.get("/api/chat/history", params=session)
        assert shown.status_code == 200
        assert [m["text"] for m in shown.json()["messages"] if m["author"] == "staff"] == [STAFF_TEXT]
        queued = ask(http, session, "还需要备案吗？")  # the conversation is with staff now: no bot answer
        assert queued.status_code == 200 and queued.json()["reply"] is None
        newcomer = new_session(http)
        again = ask(http, newcomer, "企业标准需要公开吗？")
        assert again.status_code == 200
        assert again.json()["reply"]["author"] == "bot" and again.json()["reply"]["citations"]
    return [m.text for m in staff.conversations.transcript(conversation.id)]


def take(locks: ConversationLocks) -> bool:
    with locks.hold("conversation:1"):
        return True


def test_a_conversation_lock_without_its_database_is_unavailable_then_works_again(
    database: ProxiedDatabase,
) -> None:
    locks = ConversationLocks(database.proxied_url)
    try:
        assert take(locks)
        database.proxy.cut()
        with pytest.raises(StoreUnavailable, match="数据库不可用 / database unavailable"):
            take(locks)
        database.proxy.restore()
        assert take(locks)
    finally:
        locks.close()


def test_the_proxy_refuses_while_cut_and_forwards_after_restore(database: ProxiedDatabase) -> None:
    store = Store(database.proxied_url)
    try:
        assert store.ping() and database.proxy.open_connections == 1
        database.proxy.cut()
        assert database.proxy.open_connections == 0
        assert not store.ping()
        with pytest.raises(StoreUnavailable):
            store.conversations.find(CHANNEL, "chat", "user")
        database.proxy.restore()
        assert store.ping()
    finally:
        store.close()


@pytest.fixture(autouse=True)
def _outbox_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.service.outbox")
