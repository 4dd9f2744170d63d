"""Telegram updates as stdbot messages: whom the bot answers (everyone in a private chat; in a group only
an @mention of the bot, a reply to one of its messages or `/ask`), the question without the mention or
command, and the callbacks of the inline buttons under its answers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache
from string import Template

from telegram import CallbackQuery, Chat, Message, MessageEntity, Update

import prompts
from bot.channels.telegram.api import BotIdentity
from bot.messages import ChatType, IncomingKind, IncomingMessage
from config.errors import SettingsError

CHANNEL = "telegram"
GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)
WELCOME_COMMANDS = ("start", "help")
ASK_COMMAND = "ask"
_CALLBACK = re.compile(r"(?:fb:(1|-1)|ho):(\d{1,18})")
_LEADING = " \t\n,，:：、"


@dataclass(frozen=True)
class Inbound:
    """What one update asks of the bot. `message` is recorded by the dispatcher (and answered when it
    is a question); `notice` is a text the bot sends instead of an answer (the welcome, a hint); a button
    press is acknowledged with `toast`."""

    message: IncomingMessage | None
    notice: str | None = None
    callback_query_id: str | None = None
    toast: str | None = None


@cache
def labels() -> dict[str, str]:
    """The `key = text` lines of prompts/telegram_labels.md."""
    found: dict[str, str] = {}
    for number, line in enumerate(prompts.load("telegram_labels").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, text = line.partition("=")
        if not equals or not key.strip().isidentifier():
            raise SettingsError(f"prompts/telegram_labels.md 第 {number} 行有误 / bad line {number}: {line}")
        found[key.strip()] = text.strip()
    return found


def label(key: str, **values: object) -> str:
    return Template(labels()[key]).safe_substitute({k: str(v) for k, v in values.items()})


def feedback_data(value: int, reply_id: int) -> str:
    """callback_data of 👍 (1) or 👎 (-1) under the stored reply `reply_id`."""
    return f"fb:{value}:{reply_id}"


def handoff_data(reply_id: int) -> str:
    return f"ho:{reply_id}"


def read_update(update: Update, identity: Callable[[], BotIdentity], *, max_chars: int) -> Inbound | None:
    """What `update` asks for; None when the bot should stay silent (a group message not addressed to
    it, another bot's command, a message without text, a kind of update the bot does not handle).
    `identity` (getMe) is only asked for when the answer depends on it."""
    if update.callback_query is not None:
        return _button(update.callback_query)
    message = update.message
    if message is None or message.from_user is None or message.text is None:
        return None
    if message.chat.type != Chat.PRIVATE and message.chat.type not in GROUP_TYPES:
        return None
    return _message(message, message.text, identity, max_chars)


def _message(
    message: Message, text: str, identity: Callable[[], BotIdentity], max_chars: int
) -> Inbound | None:
    group = message.chat.type in GROUP_TYPES
    command = _command(message)
    if command is not None and command.target and command.target != identity().username.lower():
        return None  # `/cmd@otherbot`: for another bot in the chat
    mentions = _mentions_of_bot(message, identity) if _has_mentions(message) else []
    if command is not None and command.name != ASK_COMMAND:
        if group and not command.target and command.name not in WELCOME_COMMANDS:
            return None  # a bare command in a group may be for any bot there
        return Inbound(message=_incoming(message, text, "event"), notice=prompts.load("telegram_welcome"))
    addressed = not group or command is not None or bool(mentions) or _replies_to_bot(message, identity)
    if not addressed:
        return None
    question = _without(text, [*mentions, *([command.entity] if command else [])]).lstrip(_LEADING).strip()
    if not question:
        return Inbound(message=_incoming(message, text, "event"), notice=label("ask_empty"))
    if len(question) > max_chars:
        notice = label("too_long", n=len(question), max=max_chars)
        return Inbound(message=_incoming(message, text, "event"), notice=notice)
    return Inbound(message=_incoming(message, question, "text"))


def _button(query: CallbackQuery) -> Inbound:
    match = _CALLBACK.fullmatch(query.data or "")
    if match is None:
        return Inbound(message=None, callback_query_id=query.id, toast=label("toast_expired"))
    chat = query.message.chat if query.message is not None else None
    chat_id = str(chat.id if chat is not None else query.from_user.id)
    user_id = str(query.from_user.id)
    chat_type: ChatType = "group" if chat is not None and chat.type in GROUP_TYPES else "private"
    reply_id = int(match[2])
    base = IncomingMessage(
        channel=CHANNEL,
        chat_id=chat_id,
        user_id=user_id,
        message_id="",
        text="",
        chat_type=chat_type,
        user_name=_name(query.from_user.full_name, query.from_user.username),
    )
    if match[1] is None:
        handoff = replace(
            base, message_id=f"callback:{query.id}", text=label("handoff"), kind="handoff_request"
        )
        return Inbound(message=handoff, callback_query_id=query.id, toast=label("toast_handoff"))
    value = int(match[1])
    message = replace(
        base,
        message_id=f"{chat_id}:{user_id}:feedback:{reply_id}:{value}",
        text=label("like" if value > 0 else "dislike"),
        kind="feedback",
        payload=f"{value}:{reply_id}",
    )
    toast = label("toast_like" if value > 0 else "toast_dislike")
    return Inbound(message=message, callback_query_id=query.id, toast=toast)


def _incoming(message: Message, text: str, kind: IncomingKind) -> IncomingMessage:
    user = message.from_user
    assert user is not None
    group = message.chat.type in GROUP_TYPES
    return IncomingMessage(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        user_id=str(user.id),
        message_id=f"{message.chat.id}:{message.message_id}",
        text=text,
        chat_type="group" if group else "private",
        user_name=_name(user.full_name, user.username),
        kind=kind,
    )


def _name(full_name: str, username: str | None) -> str:
    return f"{full_name} (@{username})" if username else full_name


@dataclass(frozen=True)
class _Command:
    name: str  # lower case, without the slash
    target: str  # the @botname it names, lower case; "" when none
    entity: MessageEntity


def _command(message: Message) -> _Command | None:
    """The bot command the message starts with, if any."""
    for entity, text in message.parse_entities([MessageEntity.BOT_COMMAND]).items():
        if entity.offset == 0:
            name, _, target = text[1:].partition("@")
            return _Command(name=name.lower(), target=target.lower(), entity=entity)
    return None


def _has_mentions(message: Message) -> bool:
    return any(e.type in (MessageEntity.MENTION, MessageEntity.TEXT_MENTION) for e in message.entities)


def _mentions_of_bot(message: Message, identity: Callable[[], BotIdentity]) -> list[MessageEntity]:
    """The @mentions of this bot in the message (by @username, any case, or a text mention of its id)."""
    me = identity()
    found = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    return [
        entity
        for entity, text in found.items()
        if (entity.type == MessageEntity.MENTION and text[1:].lower() == me.username.lower())
        or (entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == me.id)
    ]


def _replies_to_bot(message: Message, identity: Callable[[], BotIdentity]) -> bool:
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return False
    return replied.from_user.id == identity().id


def _without(text: str, entities: Iterable[MessageEntity]) -> str:
    """`text` with the entities' spans removed (entity offsets count UTF-16 code units)."""
    data = text.encode("utf-16-le")
    kept = bytearray()
    position = 0
    for entity in sorted(entities, key=lambda e: e.offset):
        start = entity.offset * 2
        if start >= position:
            kept += data[position:start]
        position = max(position, (entity.offset + entity.length) * 2)
    kept += data[position:]
    return kept.decode("utf-16-le")
