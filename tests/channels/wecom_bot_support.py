"""Shared pieces of the WeCom 智能机器人 tests: settings with the channel on, the app under its lifespan
with the platform double in front of it, and what the store shows of a chat."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.web_app import app_settings, services_of
from support.wecom_platform import WecomBotPlatform

from bot.service.kb_holder import KnowledgeBaseHolder
from bot.store import ConversationRecord, MessageRecord, Store
from bot.web.app import create_app
from config.settings import Settings

TOKEN = "stdbot-wecom-bot-token"
AES_KEY = base64.b64encode(bytes(range(7, 39))).decode().rstrip("=")
BOT_NAME = "标准 小助手"  # a name with a space, as the group shows it after @
OTHER_USER = "李四"


def bot_settings(data_dir: Path, database_url: str, api_base_url: str, **wecom: Any) -> Settings:
    """Settings with the 智能机器人 on, its API (response_url) at `api_base_url`, staff always in."""
    bot = {"token": TOKEN, "aes_key": AES_KEY, "api_base_url": api_base_url, "bot_names": [BOT_NAME]}
    return app_settings(data_dir, database_url, wecom_bot={**bot, **wecom})


@dataclass
class BotApp:
    """One running app instance and the platform double calling it."""

    app: FastAPI
    client: TestClient
    wecom: WecomBotPlatform

    @property
    def store(self) -> Store:
        return services_of(self.app).store


@contextmanager
def running(settings: Settings, holder: KnowledgeBaseHolder) -> Iterator[BotApp]:
    """The app with its lifespan (outbox, answering threads) and the platform double in front."""
    app = create_app(settings, holder=holder)
    with TestClient(app) as client:
        yield BotApp(app, client, WecomBotPlatform(client, TOKEN, AES_KEY))


def conversation_of(store: Store, chat: str, user: str) -> ConversationRecord | None:
    return store.conversations.find("wecom_bot", chat, user)


def transcript(store: Store, chat: str, user: str) -> list[MessageRecord]:
    found = conversation_of(store, chat, user)
    return store.conversations.transcript(found.id) if found is not None else []
