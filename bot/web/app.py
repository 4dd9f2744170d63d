"""The web application: `create_app(settings)` builds the service (bot.service.hotline), adds the web chat
and the enabled platforms to it, and serves their routes, the console, admin pages, probes and metrics.
`create_app_from_env` is the factory uvicorn's worker processes import (settings from STDBOT_CONFIG and
STDBOT_* variables)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from bot.channels.base import PlatformContext
from bot.channels.platforms import PLATFORM_FACTORIES, PlatformFactory, enabled_platforms
from bot.channels.webchat import ChatSessions, ChatSignals, WebchatChannel
from bot.service.hotline import build_hotline
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.service.privacy import mask_log_records
from bot.store import Store
from bot.web import admin, chat_api, chat_page, console, health
from bot.web.bootstrap import ensure_secret_key
from bot.web.errors import install_error_handlers
from bot.web.security import SecurityHeaders
from bot.web.state import Services
from bot.web.warmup import KnowledgeBaseWarmup
from config.settings import Settings, load_settings
from knowledge.embeddings import limit_blas_threads

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    holder: KnowledgeBaseHolder | None = None,
    platform_factories: Sequence[PlatformFactory] = PLATFORM_FACTORIES,
) -> FastAPI:
    """The stdbot web app over the service (bot.service.hotline): the platforms' routes and channels, the
    web chat, console, admin pages, probes and metrics. A store or holder passed in is the caller's to
    migrate and close; `platform_factories` are the platforms that may be enabled."""
    secret_key, _ = ensure_secret_key(settings)
    mask_log_records()
    hotline = build_hotline(settings, store=store, holder=holder)
    signals = ChatSignals()
    hotline.channels.register(WebchatChannel(signals))
    context = PlatformContext(
        settings=settings,
        store=hotline.store,
        locks=hotline.locks,
        sink=hotline.dispatcher,
        outbox=hotline.outbox,
    )
    platforms = enabled_platforms(context, platform_factories)
    for platform in platforms:
        hotline.channels.register(platform.channel)
    services = Services(
        settings=settings,
        store=hotline.store,
        holder=hotline.holder,
        dispatcher=hotline.dispatcher,
        outbox=hotline.outbox,
        channels=hotline.channels,
        events=hotline.events,
        signals=signals,
        sessions=ChatSessions(secret_key),
        metrics=hotline.metrics,
        warmup=KnowledgeBaseWarmup(hotline.holder),
        jobs=hotline.jobs,
        desk=hotline.desk,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        signals.bind(asyncio.get_running_loop())
        limit_blas_threads(settings.web.blas_threads)
        services.warmup.start()
        for platform in platforms:
            platform.start()
        hotline.start()
        try:
            yield
        finally:
            services.warmup.stop()
            for platform in platforms:
                platform.stop()
            hotline.stop()

    app = FastAPI(
        title="stdbot",
        summary="标准化咨询热线 / standards-consulting hotline",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.settings = settings
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.web.allowed_frame_ancestors)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(chat_api.router)
    app.include_router(chat_page.router)
    console.install(app, secret_key)
    admin.install(app)
    for platform in platforms:
        if platform.router is not None:
            app.include_router(platform.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/chat")

    return app


def create_app_from_env() -> FastAPI:
    """For `uvicorn --factory bot.web.app:create_app_from_env` (what `stdbot serve --workers N` runs)."""
    return create_app(load_settings())
