"""What the WeCom 智能机器人 sends (decrypted callbacks) and what it accepts back (passive replies).

A callback is a user's message (text, mixed, voice, image, file), a stream refresh (`msgtype: stream`,
asking for the current content of a streamed reply) or an event. In a group the text carries the
@-mention of the bot; `question_of` checks for it and takes it out."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.channels._edge import parse_json
from bot.channels._text import split_text, utf8_fits
from bot.messages import ChatType
from config.errors import EdgeRejected

STREAM_CONTENT_BYTES = 20480  # the platform's limit for stream.content and markdown.content
CallbackKind = Literal["message", "refresh", "event"]
_MENTION_END = r"(?=[\s,，:：;；!！?？、]|$)"
_SPACES = re.compile(r"[^\S\n]+")
TRUNCATED = "\n\n……（内容过长，其余部分未能显示 / truncated）"


@dataclass(frozen=True)
class BotCallback:
    """One decrypted callback. `text` is what a message says (None for images and files); `stream_id`
    names the streamed reply a refresh asks about; `event` is an event's type."""

    kind: CallbackKind
    msgid: str
    msgtype: str
    user_id: str
    chat_id: str
    chat_type: ChatType
    response_url: str | None = None
    text: str | None = None
    stream_id: str | None = None
    event: str | None = None


def parse_callback(plain: bytes) -> BotCallback:
    """The decrypted callback as a BotCallback; 400 when it is not the platform's JSON."""
    data = parse_json(plain)
    msgtype = _text(data, "msgtype")
    user_id = _text(_object(data, "from"), "userid")
    if not msgtype or not user_id:
        raise EdgeRejected(400, "callback without msgtype or from.userid")
    group = data.get("chattype") == "group"
    chat_id = _text(data, "chatid") if group else user_id
    if not chat_id:
        raise EdgeRejected(400, "group callback without chatid")
    common: dict[str, Any] = {
        "msgid": _text(data, "msgid"),
        "msgtype": msgtype,
        "user_id": user_id,
        "chat_id": chat_id,
        "chat_type": "group" if group else "private",
        "response_url": _text(data, "response_url") or None,
    }
    if msgtype == "stream":
        stream_id = _text(_object(data, "stream"), "id")
        if not stream_id:
            raise EdgeRejected(400, "stream refresh without stream.id")
        return BotCallback(kind="refresh", stream_id=stream_id, **common)
    if msgtype == "event":
        return BotCallback(kind="event", event=_text(_object(data, "event"), "eventtype") or None, **common)
    if not common["msgid"]:
        raise EdgeRejected(400, "message callback without msgid")
    return BotCallback(kind="message", text=_message_text(data, msgtype), **common)


def stream_id_for(msgid: str) -> str:
    """The id of the streamed reply to message `msgid`: the same for every delivery of that message,
    on every worker."""
    return "stdbot-" + hashlib.sha256(msgid.encode("utf-8")).hexdigest()[:32]


def question_of(callback: BotCallback, bot_names: Sequence[str]) -> str | None:
    """The question a message asks: in a group, only when it @-mentions the bot, with every mention of
    the bot taken out (names may hold spaces; other people's mentions stay). Without configured names, a
    group message's first @mention is taken for the bot's. None when the bot is not addressed."""
    text = callback.text
    if text is None:
        return None
    if callback.chat_type != "group":
        return _tidy(text)
    names = sorted({n.strip() for n in bot_names if n.strip()}, key=len, reverse=True)
    if names:
        pattern = re.compile("@(?:" + "|".join(re.escape(n) for n in names) + ")" + _MENTION_END)
        if not pattern.search(text):
            return None
        return _tidy(pattern.sub(" ", text))
    first = re.search(r"@\S+", text)
    if first is None:
        return None
    return _tidy(text[: first.start()] + " " + text[first.end() :])


def stream_reply(stream_id: str, content: str, *, finish: bool) -> dict[str, Any]:
    """A passive reply carrying the current content of a streamed reply."""
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": finish, "content": content}}


def text_reply(content: str) -> dict[str, Any]:
    """A passive text reply (the platform accepts it for the enter-chat event only)."""
    return {"msgtype": "text", "text": {"content": content}}


def markdown_message(content: str) -> dict[str, Any]:
    """A message for the response_url."""
    return {"msgtype": "markdown", "markdown": {"content": content}}


def fit_content(text: str) -> str:
    """`text` within the platform's 20,480-byte content limit; what does not fit is cut, marked."""
    if utf8_fits(STREAM_CONTENT_BYTES)(text):
        return text
    room = STREAM_CONTENT_BYTES - len(TRUNCATED.encode("utf-8"))
    return split_text(text, utf8_fits(room))[0] + TRUNCATED


def _message_text(data: dict[str, Any], msgtype: str) -> str | None:
    if msgtype == "text":
        return _text(_object(data, "text"), "content")
    if msgtype == "voice":  # the platform's transcription of a voice message
        return _text(_object(data, "voice"), "content") or None
    if msgtype == "mixed":
        items = _object(data, "mixed").get("msg_item")
        parts = [
            _text(_object(item, "text"), "content")
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and item.get("msgtype") == "text"
        ]
        return "\n".join(p for p in parts if p) or None
    return None


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""
