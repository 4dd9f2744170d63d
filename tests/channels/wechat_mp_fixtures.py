"""Settings, apps and the platform double for the Official Account tests."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from support.web_app import app_settings
from support.wechat_platform import WechatPlatform

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
    wechat = {
        "token": TOKEN,
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "aes_key": AES_KEY,
        "api_base_url": api_base_url,
        "timeout_s": 5,
        "passive_budget_s": budget_s,
        "menu": menu or {},
    }
    return app_settings(kb_dir, database_url, wechat=wechat, **llm, **sections)


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
