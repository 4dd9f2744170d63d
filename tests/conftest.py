"""Shared pytest fixtures; each is small and self-contained."""

from __future__ import annotations

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
