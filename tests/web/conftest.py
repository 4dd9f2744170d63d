"""Fixtures for the web tests: the sample knowledge base built once, a fresh SQLite store per test, the
app under its lifespan (TestClient) and, where streaming matters, the app on a real uvicorn server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.processes import SAMPLE, free_port

from bot.service.kb_holder import KnowledgeBaseHolder
from bot.web.app import create_app
from bot.web.state import Services
from config.settings import Settings
from ingest.build import build_knowledge_base

SECRET = "test-secret-key-0123456789abcdef"
ALWAYS_OPEN = {"hours": "00:00-24:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]}


@pytest.fixture(scope="session")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the sample knowledge base (version 1, active)."""
    data_dir = tmp_path_factory.mktemp("web-kb") / "var"
    report = build_knowledge_base([SAMPLE], Settings(data_dir=data_dir), activate=True)
    assert report.activated and not report.failed
    return data_dir


@pytest.fixture(scope="session")
def holder(kb_dir: Path) -> KnowledgeBaseHolder:
    """The sample knowledge base opened once for every test (opening it is the slow part)."""
    loaded = KnowledgeBaseHolder(Settings(data_dir=kb_dir))
    assert loaded.check() == 1
    return loaded


def web_settings(data_dir: Path, database: Path, **web: Any) -> Settings:
    """Settings with their own SQLite file, a fixed key, and staff hours round the clock (so handoff
    notices do not depend on when the tests run)."""
    return Settings(
        data_dir=data_dir,
        database={"url": f"sqlite:///{database}"},
        web={"secret_key": SECRET, **web},
        handoff=ALWAYS_OPEN,
    )


@pytest.fixture
def settings(kb_dir: Path, tmp_path: Path) -> Settings:
    return web_settings(
        kb_dir, tmp_path / "stdbot.db", allowed_frame_ancestors=["'self'", "https://example.org"]
    )


@pytest.fixture
def app(settings: Settings, holder: KnowledgeBaseHolder) -> FastAPI:
    return create_app(settings, holder=holder)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The app with its lifespan running (outbox thread started, stopped afterwards)."""
    with TestClient(app) as test_client:
        yield test_client


def services_of(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


@dataclass
class LiveServer:
    url: str
    app: FastAPI


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """The app on a real uvicorn server in a thread, for streams and concurrent requests."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    assert httpx.get(f"{url}/healthz").status_code == 200
    yield LiveServer(url, app)
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive(), "server did not stop"
