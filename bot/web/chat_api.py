"""The web chat's JSON API under /api/chat/: sessions, messages, 转人工, 👍/👎, history and live events.

Routes that touch the store or the dispatcher are plain `def` (FastAPI runs them in a worker thread);
the event stream is async and does its store reads in the thread pool."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

import prompts
from bot.channels.webchat import CHANNEL, ChatSessions
from bot.messages import IncomingKind, IncomingMessage
from bot.service.dispatcher import HandleResult
from bot.store import ConversationRecord, MessageRecord
from bot.web.chat_models import (
    AnswerOut,
    ChatMessageOut,
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    HandoffIn,
    HistoryOut,
    MessageIn,
    SessionIn,
    SessionOut,
)
from bot.web.chat_page import page_labels
from bot.web.errors import ApiError
from bot.web.ids import AfterId, event_id
from bot.web.sse import KEEPALIVE_S, POLL_S, comment_frame, event_frame, retry_frame, wait_for
from bot.web.state import Services, services
from config.errors import StoreError

log = logging.getLogger(__name__)

STREAM_MAX_S = 600.0  # the browser reconnects (with Last-Event-ID) after this; keeps proxies happy
HISTORY_LIMIT = 200
_HIDDEN_KINDS = ("feedback", "event")

_errors: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut, "description": "会话令牌无效 / wrong session token"},
    422: {"model": ErrorOut, "description": "请求有误 / invalid request"},
    503: {"model": ErrorOut, "description": "暂时不可用 / temporarily unavailable"},
}
_message_errors: dict[int | str, dict[str, Any]] = {
    **_errors,
    413: {"model": ErrorOut, "description": "消息太长 / message too long"},
    429: {"model": ErrorOut, "description": "发送太快，请稍后再问 / too many messages: see Retry-After"},
}

router = APIRouter(prefix="/api/chat", tags=["网页咨询 / web chat"])


@router.post("/sessions", response_model=SessionOut, status_code=201)
def new_session(request: Request) -> SessionOut:
    """开始一次咨询 / start a chat session; keep `session_id` and `token` for the other calls."""
    session = services(request).sessions.new()
    return SessionOut(session_id=session.session_id, token=session.token)


@router.post("/messages", response_model=AnswerOut, responses=_message_errors)
def post_message(body: MessageIn, request: Request) -> AnswerOut:
    """发送问题并取得回答 / send a question and get the answer with its citations."""
    app = services(request)
    _authorise(app, body)
    text = _checked_text(app, body.text)
    message = _incoming(body.session_id, body.client_message_id, text, "text")
    result = app.dispatcher.handle(message)
    if result.flooded and result.reply is None:
        flood = app.dispatcher.flood
        wait_s = flood.retry_after_s(f"{CHANNEL}:{message.user_id}") if flood is not None else 60
        raise ApiError(429, prompts.load("flood_notice"), retry_after_s=max(wait_s, 1))
    return _answer(app, result, message.message_id)


@router.post("/handoff", response_model=AnswerOut, responses=_errors)
def request_handoff(body: HandoffIn, request: Request) -> AnswerOut:
    """转人工 / ask for a person: the conversation goes to the staff queue."""
    app = services(request)
    _authorise(app, body)
    text = page_labels().get("handoff", "转人工")
    message = _incoming(body.session_id, body.client_message_id, text, "handoff_request")
    return _answer(app, app.dispatcher.handle(message), message.message_id)


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    responses={**_errors, 404: {"model": ErrorOut, "description": "没有这条回复 / no such reply"}},
)
def post_feedback(body: FeedbackIn, request: Request) -> FeedbackOut:
    """👍 / 👎 on a reply; a 👎 may hand the conversation to staff."""
    app = services(request)
    _authorise(app, body)
    conversation = _conversation(app, body.session_id)
    if conversation is None or not _is_reply_in(app, conversation, body.message_id):
        raise ApiError(404, "找不到这条回复 / no such reply in this chat")
    message = IncomingMessage(
        channel=CHANNEL,
        chat_id=body.session_id,
        user_id=body.session_id,
        message_id=ChatSessions.message_id(body.session_id, f"feedback-{body.message_id}-{body.value}"),
        text="👍" if body.value > 0 else "👎",
        kind="feedback",
        payload=f"{body.value}:{body.message_id}",
    )
    result = app.dispatcher.handle(message)
    answer = _answer(app, result, message.message_id) if result.reply is not None else None
    return FeedbackOut(ok=True, reply=answer.reply if answer else None)


@router.get("/history", response_model=HistoryOut, responses=_errors)
def history(
    request: Request,
    session_id: Annotated[str, Query(min_length=1, max_length=64)],
    token: Annotated[str, Query(min_length=1, max_length=256)],
) -> HistoryOut:
    """本次咨询的全部消息 / the session's messages so far (after a page reload)."""
    app = services(request)
    _authorise(app, SessionIn(session_id=session_id, token=token))
    conversation = _conversation(app, session_id)
    if conversation is None:
        return HistoryOut(messages=[])
    records = app.store.conversations.with_suggestions(
        app.store.conversations.transcript(conversation.id, limit=HISTORY_LIMIT)
    )
    return HistoryOut(messages=[ChatMessageOut.of_record(m) for m in records if m.kind not in _HIDDEN_KINDS])


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "SSE：每条发给用户的消息一条 `data: {json}`（ChatMessageOut），带 `id:` / "
            "one `data:` event (a ChatMessageOut) per message to the user, with `id:` for resuming",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **_errors,
    },
)
async def events(
    request: Request,
    session_id: Annotated[str, Query(min_length=1, max_length=64)],
    token: Annotated[str, Query(min_length=1, max_length=256)],
    after: AfterId = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """实时消息流：机器人、人工客服与系统消息 / live stream of the bot's, staff's and system messages."""
    app = services(request)
    _authorise(app, SessionIn(session_id=session_id, token=token))
    after = max(after, event_id(last_event_id))
    return StreamingResponse(
        _stream(app, session_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(app: Services, chat_id: str, after: int) -> AsyncIterator[str]:
    """Outbound messages of the chat with id > after: at once when this process sends one (the
    channel's signal), within a second when another worker did (polling the store)."""
    started = last_write = time.monotonic()
    conversation_id: int | None = None
    yield retry_frame()
    with app.signals.subscribe(chat_id) as signal:
        while time.monotonic() - started < STREAM_MAX_S:
            try:
                if conversation_id is None:
                    found = await run_in_threadpool(_conversation, app, chat_id)
                    conversation_id = found.id if found is not None else None
                new: list[MessageRecord] = []
                if conversation_id is not None:
                    new = await run_in_threadpool(_messages_after, app, conversation_id, after)
            except StoreError as exc:
                log.warning("event stream for %s: store unavailable: %s", chat_id, exc)
                new = []
            for record in new:
                after = record.id
                if record.direction == "out":
                    yield event_frame(record.id, ChatMessageOut.of_record(record).model_dump(mode="json"))
                    last_write = time.monotonic()
            if time.monotonic() - last_write >= KEEPALIVE_S:
                yield comment_frame()
                last_write = time.monotonic()
            await wait_for(signal, POLL_S)


def _messages_after(app: Services, conversation_id: int, after: int) -> list[MessageRecord]:
    return app.store.conversations.with_suggestions(
        app.store.conversations.messages_after(conversation_id, after)
    )


def _authorise(app: Services, body: SessionIn) -> None:
    if not app.sessions.valid(body.session_id, body.token):
        raise ApiError(403, "会话无效，请刷新页面重新开始 / invalid session token: reload the page")


def _checked_text(app: Services, raw: str) -> str:
    text = raw.strip()
    if not text:
        raise ApiError(422, "消息不能为空 / the message is empty")
    limit = min(app.settings.web.max_message_chars, app.settings.answer.max_question_chars)
    if len(text) > limit:
        raise ApiError(
            413,
            f"消息太长（{len(text)} 字），请精简到 {limit} 字以内 / "
            f"message too long: {len(text)} characters, at most {limit}",
        )
    return text


def _incoming(session_id: str, client_id: str | None, text: str, kind: IncomingKind) -> IncomingMessage:
    return IncomingMessage(
        channel=CHANNEL,
        chat_id=session_id,
        user_id=session_id,
        message_id=ChatSessions.message_id(session_id, client_id or uuid.uuid4().hex),
        text=text,
        kind=kind,
    )


def _conversation(app: Services, session_id: str) -> ConversationRecord | None:
    return app.store.conversations.find(CHANNEL, session_id, session_id)


def _is_reply_in(app: Services, conversation: ConversationRecord, message_id: int) -> bool:
    return app.store.conversations.reply_in(conversation.id, message_id) is not None


def _answer(app: Services, result: HandleResult, channel_message_id: str) -> AnswerOut:
    """The response for a handled message: the user's stored message id and the reply (for a repeated
    submission, the reply the first one got, when it is there already)."""
    transcript = app.store.conversations.transcript(result.conversation_id, limit=100)
    inbound = next(
        (
            m
            for m in reversed(transcript)
            if m.direction == "in" and m.channel_message_id == channel_message_id
        ),
        None,
    )
    reply: ChatMessageOut | None = None
    if result.reply is not None:
        stored = next((m for m in transcript if m.id == result.reply.message_id), None)
        reply = ChatMessageOut.of_reply(result.reply, stored.mode if stored else None)
    elif result.duplicate and inbound is not None:
        first = next((m for m in transcript if m.id > inbound.id and m.author in ("bot", "system")), None)
        reply = (
            ChatMessageOut.of_record(app.store.conversations.with_suggestions([first])[0])
            if first is not None
            else None
        )
    return AnswerOut(
        message_id=inbound.id if inbound is not None else None, duplicate=result.duplicate, reply=reply
    )
