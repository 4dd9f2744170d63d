"""Settings, apps and a real server for the Official Account tests."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI
from support.processes import free_port
from support.wechat_platform import WechatPlatform
from web.conftest import ALWAYS_OPEN, SECRET

from bot.service.kb_holder import KnowledgeBaseHolder
from bot.web.app import create_app
from config.settings import Settings

TOKEN = "MpCallbackToken3"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "mp-secret-0123456789abcdef01234567"
AES_KEY = base64.b64encode(bytes(range(50, 82))).decode().rstrip("=")
ROUTE = "/wechat/mp"
QUESTION = "企业标准需要公开吗？"
USER = "oUser_0123456789abcdefghijklm"
T = TypeVar("T")


def mp_settings(
    kb_dir: Path,
    database_url: str,
    api_base_url: str,
    *,
    budget_s: float = 4.0,
    llm_url: str | None = None,
    menu: dict[str, str] | None = None,
    **sections: Any,
) -> Settings:
    """The sample knowledge base, its own database, staff round the clock, the Official Account on (safe
    mode possible: the EncodingAESKey is set), its API played by a local server."""
    llm = {"llm": {"base_url": llm_url, "timeout_s": 30}} if llm_url else {}
    return Settings(
        data_dir=kb_dir,
        database={"url": database_url},
        web={"secret_key": SECRET},
        handoff=ALWAYS_OPEN,
        wechat={
            "token": TOKEN,
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "aes_key": AES_KEY,
            "api_base_url": api_base_url,
            "timeout_s": 5,
            "passive_budget_s": budget_s,
            "menu": menu or {},
        },
        **llm,
        **sections,
    )


def mp_app(settings: Settings, holder: KnowledgeBaseHolder) -> FastAPI:
    """The app on the shared sample knowledge base (its embeddings reused when the LLM is on)."""
    if settings.llm.enabled:
        holder = KnowledgeBaseHolder(settings, embeddings=holder.embeddings)
    app: FastAPI = create_app(settings, holder=holder)
    return app


def warmed(holder: KnowledgeBaseHolder) -> KnowledgeBaseHolder:
    """The holder after one answer (the first one loads models and dictionaries)."""
    holder.current()[1].ask(QUESTION)
    return holder


def platform_for(url: str) -> WechatPlatform:
    return WechatPlatform(url, TOKEN, APP_ID, AES_KEY)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server in a thread; its base URL."""
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


def eventually(probe: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    """The first truthy value `probe` returns, polling; fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)
