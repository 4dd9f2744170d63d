"""Prometheus metrics of one app, counted from the service's events: their own registry, so several apps
(tests) never share counters.

With several worker processes, `stdbot serve` sets PROMETHEUS_MULTIPROC_DIR and /metrics then adds up
the values every worker wrote there."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from bot.service.events import (
    Answered,
    Delivered,
    DeliveryFailed,
    EventBus,
    HandoffOpened,
    MessageReceived,
    StaffReplied,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0)
COUNTED_KINDS = ("text", "handoff_request")  # what people write; 👍/👎 and platform events are not messages


class Metrics:
    """The counters and the latency histogram stdbot exports at /metrics."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "stdbot_messages_in", "用户发来的消息 / messages received", ["channel"], registry=self.registry
        )
        self.messages_out = Counter(
            "stdbot_messages_out",
            "送达的回复 / replies delivered",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.escalations = Counter(
            "stdbot_escalations", "转人工次数 / handoffs opened", ["reason"], registry=self.registry
        )
        self.answer_seconds = Histogram(
            "stdbot_answer_seconds",
            "从收到消息到得出回复的时间 / time from message to reply",
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.delivery_failures = Counter(
            "stdbot_delivery_failures",
            "发送失败 / failed delivery attempts",
            ["channel"],
            registry=self.registry,
        )
        self.staff_replies = Counter(
            "stdbot_staff_replies", "工作人员的回复 / staff replies", ["channel"], registry=self.registry
        )

    def listen(self, events: EventBus) -> Metrics:
        """Count what the service publishes from now on."""
        events.subscribe(MessageReceived, self._received)
        events.subscribe(Answered, lambda event: self.answered(event.seconds))
        events.subscribe(HandoffOpened, lambda event: self.escalation(event.reason))
        events.subscribe(StaffReplied, lambda event: self.staff_replies.labels(channel=event.channel).inc())
        events.subscribe(Delivered, lambda event: self.message_out(event.channel, event.kind))
        events.subscribe(DeliveryFailed, lambda event: self.delivery_failed(event.channel))
        return self

    def _received(self, event: MessageReceived) -> None:
        if event.kind in COUNTED_KINDS:
            self.message_in(event.channel)

    def message_in(self, channel: str) -> None:
        self.messages_in.labels(channel=channel).inc()

    def message_out(self, channel: str, kind: str) -> None:
        self.messages_out.labels(channel=channel, kind=kind).inc()

    def escalation(self, reason: str) -> None:
        self.escalations.labels(reason=reason).inc()

    def answered(self, seconds: float) -> None:
        self.answer_seconds.observe(seconds)

    def delivery_failed(self, channel: str) -> None:
        self.delivery_failures.labels(channel=channel).inc()

    def render(self) -> bytes:
        """The text exposition format: this process's values, or every worker's when multiprocess."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
