"""The composition root of the service: store → events → channels → outbox → dispatcher and the staff
desk, with the listeners (metrics, the staff notifier) and the knowledge base beside them. No web
framework: the web app adds its platforms' channels to `channels` and serves routes over this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.service.channels import ChannelRegistry
from bot.service.desk import StaffDesk
from bot.service.dispatcher import Dispatcher
from bot.service.events import EventBus, HandoffOpened
from bot.service.flood import FloodGuard
from bot.service.handoff import HandoffPolicy
from bot.service.kb_holder import KnowledgeAnswerSource, KnowledgeBaseHolder
from bot.service.kb_jobs import KnowledgeJobs
from bot.service.locks import ConversationLocks
from bot.service.metrics import Metrics
from bot.service.notify import StaffNotifier
from bot.service.outbox import Outbox
from bot.service.recovery import Recovery
from bot.store import Store
from config.settings import Settings


@dataclass
class Hotline:
    """The running parts of one worker process."""

    settings: Settings
    store: Store
    locks: ConversationLocks
    events: EventBus
    channels: ChannelRegistry
    outbox: Outbox
    dispatcher: Dispatcher
    holder: KnowledgeBaseHolder
    metrics: Metrics
    jobs: KnowledgeJobs
    desk: StaffDesk
    recovery: Recovery
    notifier: StaffNotifier | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        """Start the background workers: the outbox, recovery of cut-short turns, the staff notifier."""
        self.outbox.start()
        self.recovery.start()
        if self.notifier is not None:
            self.notifier.start()

    def stop(self) -> None:
        """Stop the workers, then close what this hotline opened (not the parts passed in)."""
        self.recovery.stop()
        self.outbox.stop()
        if self.notifier is not None:
            self.notifier.stop()
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def build_hotline(
    settings: Settings, *, store: Store | None = None, holder: KnowledgeBaseHolder | None = None
) -> Hotline:
    """Build the service; a store or holder passed in is the caller's to migrate and close."""
    closers: list[Callable[[], None]] = []
    if store is None:
        store = Store.from_settings(settings)
        store.migrate()
        closers.append(store.close)
    holder = holder or KnowledgeBaseHolder(settings)
    locks = ConversationLocks(store.url.render_as_string(hide_password=False))
    closers.append(locks.close)
    events = EventBus()
    metrics = Metrics().listen(events)
    notifier = StaffNotifier.from_settings(settings, store)
    if notifier is not None:
        events.subscribe(HandoffOpened, notifier.on_handoff_opened)
    channels = ChannelRegistry()
    outbox = Outbox(store, channels, events=events)
    answers = KnowledgeAnswerSource(holder)
    flood = FloodGuard(settings.answer.messages_per_minute)
    dispatcher = Dispatcher(
        store, answers, HandoffPolicy(settings.handoff), outbox, locks, events=events, flood=flood
    )
    jobs = KnowledgeJobs(settings, store, lambda: holder.embeddings, on_activated=holder.check)
    desk = StaffDesk(store, locks, outbox, events)
    recovery = Recovery(store, dispatcher)
    return Hotline(
        settings=settings,
        store=store,
        locks=locks,
        events=events,
        channels=channels,
        outbox=outbox,
        dispatcher=dispatcher,
        holder=holder,
        metrics=metrics,
        jobs=jobs,
        desk=desk,
        recovery=recovery,
        notifier=notifier,
        _closers=closers,
    )
