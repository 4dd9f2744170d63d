"""The web application: `create_app(settings)` wires the store, knowledge base, dispatcher, outbox and
channels, and serves the web chat, probes and metrics. `create_app_from_env` is the factory uvicorn's
worker processes import (settings from STDBOT_CONFIG and STDBOT_* variables)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from bot.channels.base import ChannelRegistry
from bot.channels.platforms import PlatformContext, enabled_platforms
from bot.channels.webchat import ChatSessions, WebchatChannel
from bot.dispatcher import Dispatcher
from bot.handoff import HandoffPolicy
from bot.kb_holder import KnowledgeAnswerSource, KnowledgeBaseHolder
from bot.kb_jobs import KnowledgeJobs
from bot.locks import ConversationLocks
from bot.notify import StaffNotifier
from bot.outbox import Outbox
from bot.store import Store
from bot.web import admin, chat_api, chat_page, console, health
from bot.web.bootstrap import ensure_secret_key
from bot.web.errors import install_error_handlers
from bot.web.metrics import MeteredChannel, Metrics
from bot.web.security import SecurityHeaders
from bot.web.sse import ChatSignals
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
    dispatcher: Dispatcher | None = None,
    holder: KnowledgeBaseHolder | None = None,
) -> FastAPI:
    """The stdbot web app. Parts passed in are the caller's to migrate and close; a dispatcher passed in
    brings its own store and outbox (the caller runs that outbox, with this app's channels if it wants live
    delivery)."""
    secret_key, _ = ensure_secret_key(settings)
    owned: list[Store | ConversationLocks] = []
    if dispatcher is not None:
        store = dispatcher.store
    elif store is None:
        store = Store.from_settings(settings)
        store.migrate()
        owned.append(store)
    holder = holder or KnowledgeBaseHolder(settings)
    metrics = Metrics()
    signals = ChatSignals()
    if dispatcher is not None:
        locks = dispatcher.locks
    else:
        locks = ConversationLocks(store.url.render_as_string(hide_password=False))
        owned.append(locks)
    platforms = enabled_platforms(PlatformContext(settings, store, locks))
    channels = ChannelRegistry(
        MeteredChannel(channel, metrics)
        for channel in (WebchatChannel(signals), *(platform.channel for platform in platforms))
    )
    own_outbox: Outbox | None = None
    notifier: StaffNotifier | None = None
    if dispatcher is None:
        outbox = own_outbox = Outbox(store, channels)
        notifier = StaffNotifier.from_settings(settings, store)
        dispatcher = Dispatcher(
            store, KnowledgeAnswerSource(holder), HandoffPolicy(settings.handoff), outbox, locks, notifier
        )
    services = Services(
        settings=settings,
        store=store,
        holder=holder,
        dispatcher=dispatcher,
        outbox=dispatcher.outbox,
        channels=channels,
        signals=signals,
        sessions=ChatSessions(secret_key),
        metrics=metrics,
        warmup=KnowledgeBaseWarmup(holder),
        jobs=KnowledgeJobs(settings, store, lambda: holder.embeddings, on_activated=holder.check),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        signals.bind(asyncio.get_running_loop())
        limit_blas_threads(settings.web.blas_threads)
        services.warmup.start()
        for platform in platforms:
            platform.start()
        if own_outbox is not None:
            own_outbox.start()
        if notifier is not None:
            notifier.start()
        try:
            yield
        finally:
            services.warmup.stop()
            for platform in platforms:
                platform.stop()
            if own_outbox is not None:
                own_outbox.stop()
            if notifier is not None:
                notifier.stop()
            for part in owned:
                part.close()

    app = FastAPI(
        title="stdbot",
        summary="标准化咨询热线 / standards-consulting hotline",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.settings = settings
    app.state.store = store
    app.state.holder = holder
    app.state.dispatcher = dispatcher
    app.state.outbox = dispatcher.outbox
    app.state.channels = channels
    app.state.metrics = metrics
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
