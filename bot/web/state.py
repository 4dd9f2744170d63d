"""What the web app keeps for its requests: one typed bundle on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from bot.channels.base import ChannelRegistry
from bot.channels.webchat import ChatSessions
from bot.kb_holder import KnowledgeBaseHolder
from bot.kb_jobs import KnowledgeJobs
from bot.store import Store
from bot.web.metrics import Metrics
from bot.web.sse import ChatSignals
from bot.web.warmup import KnowledgeBaseWarmup
from config.settings import Settings

if TYPE_CHECKING:
    from bot.dispatcher import Dispatcher
    from bot.outbox import Outbox


@dataclass
class Services:
    """The parts every route uses (the outbox is the dispatcher's)."""

    settings: Settings
    store: Store
    holder: KnowledgeBaseHolder
    dispatcher: Dispatcher
    outbox: Outbox
    channels: ChannelRegistry
    signals: ChatSignals
    sessions: ChatSessions
    metrics: Metrics
    warmup: KnowledgeBaseWarmup
    jobs: KnowledgeJobs


def services(request: Request) -> Services:
    """The app's Services, from a route."""
    found: Services = request.app.state.services
    return found
