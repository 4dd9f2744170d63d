"""The stdbot app with the Telegram channel on, its Bot API played offline (PTB's HTTP layer replaced
by OfflineBotRequest); shared by the Telegram tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from support.telegram_platform import TOKEN, BotApi, OfflineBotRequest
from support.web_app import app_settings, services_of

from bot.channels import telegram
from bot.channels.base import Platform, PlatformContext
from bot.channels.platforms import PlatformFactory
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.web.app import create_app
from bot.web.state import Services
from config.settings import Settings

SECRET_TOKEN = "s3cret-Token_for-webhook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def telegram_settings(kb_dir: Path, database: Path, **telegram_fields: Any) -> Settings:
    """The tests' settings with their own SQLite file and [telegram] filled in."""
    telegram = {"token": TOKEN, "secret_token": SECRET_TOKEN, **telegram_fields}
    return app_settings(kb_dir, f"sqlite:///{database}", telegram=telegram)


def offline_telegram(api: BotApi, made: list[Platform]) -> PlatformFactory:
    """A factory of the Telegram platform talking to `api`; `made` collects what it builds."""

    def factory(context: PlatformContext) -> Platform | None:
        found = telegram.platform(context, request=OfflineBotRequest(api))
        if found is not None:
            made.append(found)
        return found

    return factory


@dataclass
class TelegramApp:
    api: BotApi
    app: FastAPI
    client: TestClient

    @property
    def services(self) -> Services:
        return services_of(self.app)

    def post(self, update: Any, secret: str | None = SECRET_TOKEN, **kwargs: Any) -> Response:
        headers = {HEADER: secret} if secret is not None else {}
        if "content" in kwargs:
            return self.client.post("/telegram/webhook", headers=headers, **kwargs)
        return self.client.post("/telegram/webhook", json=update, headers=headers)

    def deliver(self) -> int:
        """Run the outbox once (the app's lifespan is not running in these tests)."""
        return self.services.outbox.run_once()


def telegram_app(settings: Settings, holder: KnowledgeBaseHolder) -> Iterator[TelegramApp]:
    api = BotApi()
    made: list[Platform] = []
    app = create_app(settings, holder=holder, platform_factories=(offline_telegram(api, made),))
    assert len(made) == 1
    yield TelegramApp(api, app, TestClient(app))
    for platform in made:
        platform.stop()
    services_of(app).store.close()
