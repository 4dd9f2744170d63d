"""What the web app keeps for its requests: one typed bundle on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from bot.channels.webchat import ChatSessions, ChatSignals
from bot.service.channels import ChannelRegistry
from bot.service.desk import StaffDesk
from bot.service.events import EventBus
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.service.kb_jobs import KnowledgeJobs
from bot.service.metrics import Metrics
from bot.store import Store
from bot.web.warmup import KnowledgeBaseWarmup
from config.settings import Settings

if TYPE_CHECKING:
    from bot.service.dispatcher import Dispatcher
    from bot.service.outbox import Outbox


@dataclass
class Services:
    """The parts every route uses (the outbox is the dispatcher's)."""

    settings: Settings
    store: Store
    holder: KnowledgeBaseHolder
    dispatcher: Dispatcher
    outbox: Outbox
    channels: ChannelRegistry
    events: EventBus
    signals: ChatSignals
    sessions: ChatSessions
    metrics: Metrics
    warmup: KnowledgeBaseWarmup
    jobs: KnowledgeJobs
    desk: StaffDesk


def services(request: Request) -> Services:
    """The app's Services, from a route."""
    found: Services = request.app.state.services
    return found
