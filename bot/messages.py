"""What channels hand to the dispatcher and what the dispatcher hands back: platform-neutral."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

from knowledge.types import Citation

ChatType = Literal["private", "group"]
IncomingKind = Literal["text", "handoff_request", "feedback", "event"]
ReplyKind = Literal["bot", "staff", "system"]
REPLY_KINDS: tuple[ReplyKind, ...] = get_args(ReplyKind)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IncomingMessage:
    """One message a user sent on some channel, already verified and parsed."""

    channel: str
    chat_id: str
    user_id: str
    message_id: str
    text: str
    chat_type: ChatType = "private"
    user_name: str | None = None
    kind: IncomingKind = "text"
    payload: str | None = None
    received_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class Reply:
    """One message to deliver to a chat: the bot's answer, a staff reply or a system notice."""

    channel: str
    chat_id: str
    text: str
    kind: ReplyKind = "bot"
    citations: tuple[Citation, ...] = ()
    message_id: int | None = None
    in_reply_to: str | None = None
    escalated: bool = False
    suggestions: tuple[str, ...] = ()  # questions offered to pick from by number (the text numbers them)


@dataclass(frozen=True)
class DeliveryResult:
    """What a channel says after trying to send a Reply."""

    ok: bool
    platform_message_id: str | None = None
    error: str | None = None
    retryable: bool = True
