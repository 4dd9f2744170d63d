"""The JSON shapes of the web chat API (they document /openapi.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from bot.messages import Reply
from bot.service.dispatcher import HANDOFF_NOTICE_MODE, WAITING_NOTICE_MODE
from bot.store import MessageRecord
from bot.web.ids import MAX_ID
from knowledge.types import Citation

Author = Literal["user", "bot", "staff", "system"]
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


class ErrorOut(BaseModel):
    """Every refusal: a message in Chinese, then English."""

    error: str = Field(examples=["消息不能为空 / the message is empty"])


class SessionOut(BaseModel):
    """A new chat session; the browser sends both values with every request."""

    session_id: str
    token: str


class SessionIn(BaseModel):
    session_id: str = Field(min_length=1, max_length=64)
    token: str = Field(min_length=1, max_length=256)

    @field_validator("*")
    @classmethod
    def _valid_unicode(cls, value: object) -> object:
        """Text that cannot be stored (a lone UTF-16 surrogate such as "\\ud800") is a 422."""
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("含有无法识别的字符 / holds characters that are not valid Unicode") from None
        return value


class MessageIn(SessionIn):
    text: str = Field(description="the user's message; not empty, at most web.max_message_chars")
    client_message_id: str | None = Field(
        None,
        pattern=CLIENT_ID_PATTERN,
        description="chosen by the browser; sending the same id twice yields one message and one answer",
    )


class HandoffIn(SessionIn):
    client_message_id: str | None = Field(None, pattern=CLIENT_ID_PATTERN)


class FeedbackIn(SessionIn):
    message_id: int = Field(ge=1, le=MAX_ID, description="the reply the 👍/👎 is on")
    value: Literal[1, -1]


class CitationOut(BaseModel):
    label: str = Field(examples=["《中华人民共和国标准化法》第二十七条"])
    source: str
    clause: list[str]
    standard: str | None

    @classmethod
    def of(cls, citation: Citation) -> CitationOut:
        return cls(
            label=citation.label,
            source=citation.source,
            clause=list(citation.clause),
            standard=citation.standard,
        )


class ChatMessageOut(BaseModel):
    """One message of the chat as the page shows it; text is plain text, never HTML."""

    message_id: int | None
    author: Author
    text: str
    citations: list[CitationOut] = []
    suggestions: list[str] = Field(
        [], description="questions the reply offers (您是不是想问); sending one's text asks it"
    )
    mode: str | None = None
    escalated: bool = False
    created_at: datetime | None = None

    @classmethod
    def of_reply(cls, reply: Reply, mode: str | None) -> ChatMessageOut:
        return cls(
            message_id=reply.message_id,
            author=reply.kind,
            text=reply.text,
            citations=[CitationOut.of(c) for c in reply.citations],
            suggestions=list(reply.suggestions),
            mode=mode,
            escalated=reply.escalated,
        )

    @classmethod
    def of_record(cls, record: MessageRecord) -> ChatMessageOut:
        return cls(
            message_id=record.id,
            author=author_of(record.author),
            text=record.text,
            citations=[CitationOut.of(c) for c in record.citations],
            suggestions=list(record.suggestions),
            mode=record.mode,
            escalated=record.mode in (HANDOFF_NOTICE_MODE, WAITING_NOTICE_MODE),
            created_at=record.created_at,
        )


class AnswerOut(BaseModel):
    """The stored id of the user's message and what the user gets now (None: nothing yet, e.g. staff
    will reply, or a repeated submission still being answered)."""

    message_id: int | None
    duplicate: bool = False
    reply: ChatMessageOut | None


class FeedbackOut(BaseModel):
    ok: bool
    reply: ChatMessageOut | None = None


class HistoryOut(BaseModel):
    messages: list[ChatMessageOut]


def author_of(author: str) -> Author:
    """The page's author kinds; staff names stay in the console."""
    if author.startswith("staff"):
        return "staff"
    if author in ("user", "bot", "system"):
        return author  # type: ignore[return-value]
    return "system"
