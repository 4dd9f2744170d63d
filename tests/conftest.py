"""Shared pytest fixtures; each is small and self-contained."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from support.openai_server import FakeOpenAIServer
from support.store_fixtures import (
    backend,
    empty_database_url,
    migrated_postgres_url,
    migrated_sqlite_file,
    postgres_server,
    store,
    store_url,
)

# Knowledge bases built by the tests share one embedding cache per run, so the sample is embedded once.
os.environ.setdefault("STDBOT_EMBEDDING__CACHE_DIR", tempfile.mkdtemp(prefix="stdbot-test-embeddings-"))

__all__ = [
    "backend",
    "empty_database_url",
    "migrated_postgres_url",
    "migrated_sqlite_file",
    "postgres_server",
    "store",
    "store_url",
]


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A local OpenAI-compatible chat endpoint with canned replies, stopped after the test."""
    with FakeOpenAIServer() as server:
        yield server
