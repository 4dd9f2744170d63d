"""The stdbot app as the tests build and run it: settings with their own SQLite file, a fixed key and
staff round the clock, the app's services, and the app on a real uvicorn server in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from bot.web.state import Services
from config.settings import Settings
from knowledge.types import Answer
from support.processes import free_port

SECRET = "test-secret-key-0123456789abcdef"
ALWAYS_OPEN = {"hours": "00:00-24:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]}


def app_settings(data_dir: Path, database_url: str, **sections: Any) -> Settings:
    """Settings on `database_url` with a fixed key and staff hours round the clock (so handoff notices
    do not depend on when the tests run), and the given sections (a channel, the LLM…)."""
    defaults: dict[str, Any] = {"web": {"secret_key": SECRET}, "handoff": ALWAYS_OPEN}
    return Settings(data_dir=data_dir, database={"url": database_url}, **(defaults | sections))


def web_settings(data_dir: Path, database: Path, **web: Any) -> Settings:
    """Settings with their own SQLite file, web settings added to the fixed key."""
    return app_settings(data_dir, f"sqlite:///{database}", web={"secret_key": SECRET, **web})


def services_of(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


def hold_answers(app: FastAPI, gate: threading.Event) -> None:
    """The app's dispatcher answers from its knowledge base only once the test sets `gate`."""
    dispatcher = services_of(app).dispatcher
    knowledge = dispatcher.answers

    class HeldAnswers:
        def answer(self, question: str, conversation_key: str) -> Answer:
            gate.wait(30)
            return knowledge.answer(question, conversation_key)

    dispatcher.answers = HeldAnswers()


@dataclass
class LiveServer:
    url: str
    app: FastAPI


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server in a thread (for streams, concurrent requests and platform
    retries); its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{url}/healthz").status_code == 200
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(30)
    assert not thread.is_alive(), "server did not stop"
