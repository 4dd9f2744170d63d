"""What the console shows, as plain typed views built from store records (times in the hotline's zone).

Texts stay raw here: the templates escape them (Jinja2 autoescape) and console.js sets textContent."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages import utcnow
from bot.service.desk import TAKEOVER_REASON
from bot.service.handoff import reason_label
from bot.store import ConversationRecord, DeliveryRecord, HandoffRecord, MessageRecord, Store
from bot.web.auth import console_labels, console_text


@dataclass(frozen=True)
class QueueItem:
    """One waiting (or claimed) conversation in the queue."""

    conversation_id: int
    handoff_id: int
    waiting: str
    waiting_s: int
    channel: str
    user: str
    reason: str
    claimed_by: str | None
    since: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CitationView:
    label: str
    text: str


@dataclass(frozen=True)
class DeliveryView:
    """Whether an outbound message reached the user's channel."""

    id: int
    state: str  # pending | sent | failed
    label: str
    error: str | None


@dataclass(frozen=True)
class MessageView:
    """One message of a transcript."""

    id: int
    direction: str
    author: str
    author_kind: str  # user | bot | staff | system
    text: str
    time: str
    confidence: str | None
    mode: str | None
    citations: tuple[CitationView, ...]
    staff_reply: bool
    delivery: DeliveryView | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        return data


@dataclass(frozen=True)
class ConversationView:
    """A conversation in a list (search results)."""

    id: int
    channel: str
    user: str
    state: str
    updated: str


def handoff_reason(reason: str) -> str:
    if reason == TAKEOVER_REASON:
        return console_text("reason_staff_takeover")
    return reason_label(reason)


def describe_wait(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return console_text("just_now")
    if minutes < 60:
        return console_text("minutes", n=minutes)
    return console_text("hours", h=minutes // 60, m=minutes % 60)


def user_of(conversation: ConversationRecord) -> str:
    return conversation.user_name or conversation.user_id


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def queue(store: Store, zone: ZoneInfo, now: datetime | None = None) -> list[QueueItem]:
    """The waiting handoffs, oldest first."""
    now = now or utcnow()
    items = []
    for handoff in store.handoffs.waiting():
        conversation = store.conversations.get(handoff.conversation_id)
        waited = max((now - handoff.created_at).total_seconds(), 0.0)
        items.append(
            QueueItem(
                conversation_id=conversation.id,
                handoff_id=handoff.id,
                waiting=describe_wait(waited),
                waiting_s=int(waited),
                channel=conversation.channel,
                user=user_of(conversation),
                reason=handoff_reason(handoff.reason),
                claimed_by=handoff.staff if handoff.state == "claimed" else None,
                since=local_time(handoff.created_at, zone),
            )
        )
    return items


def conversations(records: list[ConversationRecord], zone: ZoneInfo) -> list[ConversationView]:
    return [
        ConversationView(
            id=c.id,
            channel=c.channel,
            user=user_of(c),
            state=state_label(c.state),
            updated=local_time(c.updated_at, zone),
        )
        for c in records
    ]


def state_label(state: str) -> str:
    return console_text(f"state_{state}")


def delivery_view(delivery: DeliveryRecord | None) -> DeliveryView | None:
    if delivery is None:
        return None
    return DeliveryView(
        id=delivery.id,
        state=delivery.state,
        label=console_text(f"delivery_{delivery.state}"),
        error=delivery.last_error,
    )


def message_view(
    record: MessageRecord, zone: ZoneInfo, delivery: DeliveryRecord | None = None
) -> MessageView:
    kind, author = _author(record.author)
    return MessageView(
        id=record.id,
        direction=record.direction,
        author=author,
        author_kind=kind,
        text=record.text,
        time=local_time(record.created_at, zone),
        confidence=f"{record.confidence:.2f}" if record.confidence is not None else None,
        mode=mode_label(record.mode),
        citations=tuple(CitationView(label=c.label, text=c.text) for c in record.citations),
        staff_reply=kind == "staff",
        delivery=delivery_view(delivery),
    )


def mode_label(mode: str | None) -> str | None:
    """How an answer was made, in words (an unknown mode is shown as it is)."""
    if mode is None:
        return None
    key = f"mode_{mode}"
    return console_labels().get(key, mode)


def _author(author: str) -> tuple[str, str]:
    if author.startswith("staff:"):
        return "staff", f"{console_text('author_staff')} {author.removeprefix('staff:')}"
    kind = author if author in ("user", "bot", "system") else "system"
    return kind, console_text(f"author_{kind}")


def handoff_summary(handoff: HandoffRecord | None) -> str | None:
    """E.g. "用户点击“转人工” · 已由 alice 接手"; None without an active handoff."""
    if handoff is None:
        return None
    holder = handoff.staff if handoff.state == "claimed" else console_text("unclaimed")
    return f"{handoff_reason(handoff.reason)} · {console_text('claimed_by')}: {holder}"
