"""The LLM fixture (a plugin of tests/conftest.py): a local OpenAI-compatible endpoint per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.openai_server import FakeOpenAIServer


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A local OpenAI-compatible chat endpoint with canned replies, stopped after the test."""
    with FakeOpenAIServer() as server:
        yield server
