"""Fixtures of the app under test (a plugin of tests/conftest.py): the sample knowledge base built and
opened once per run, and the app built from the `settings` fixture of the test's package or module, under
its lifespan (TestClient) or on a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.service.kb_holder import KnowledgeBaseHolder
from bot.web.app import create_app
from config.settings import Settings
from ingest.build import build_knowledge_base
from support.processes import SAMPLE
from support.web_app import LiveServer, served


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


@pytest.fixture
def app(settings: Settings, holder: KnowledgeBaseHolder) -> FastAPI:
    return create_app(settings, holder=holder)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The app with its lifespan running (outbox thread started, stopped afterwards)."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """The app on a real uvicorn server in a thread, for streams and concurrent requests."""
    with served(app) as url:
        yield LiveServer(url, app)
