"""Sending replies to Telegram chats: plain text with its 依据 line, split at 4,096 characters, a reply to
the user's message in groups, 👍 / 👎 / 转人工 buttons under the bot's answers, the per-group budget, and
Bot API errors told apart into "try again later" and "cannot be delivered" (with the reason staff see)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.channels._text import chars_fit, plain_text, split_text
from bot.channels.telegram.api import BotClient
from bot.channels.telegram.budget import ChatBudget
from bot.channels.telegram.updates import CHANNEL, feedback_data, handoff_data, label
from bot.messages import DeliveryResult, Reply
from bot.service.sent_pieces import SentPieces
from bot.store import MessageRecord, Store

log = logging.getLogger(__name__)

MAX_CHARS = 4096
_HISTORY = 50


@dataclass(frozen=True)
class _Target:
    """Where and how a stored reply goes: its citations restored, whether the chat is a group, and the
    user's message it answers (replied to in groups)."""

    reply: Reply
    group: bool
    reply_to: int | None


class TelegramChannel:
    """The outbox's way into Telegram (sendMessage)."""

    name = CHANNEL

    def __init__(self, client: BotClient, store: Store, budget: ChatBudget) -> None:
        self.client = client
        self.sent = SentPieces(store, CHANNEL)
        self.store = store
        self.budget = budget

    def send(self, reply: Reply) -> DeliveryResult:
        target = self._target(reply)
        pieces = split_text(plain_text(target.reply), chars_fit(MAX_CHARS))
        if not pieces:
            return DeliveryResult(ok=False, error="回复为空，未发送 / the reply is empty", retryable=False)
        done = self.sent.count(reply.message_id)
        if done and done >= len(pieces):
            return DeliveryResult(ok=True)
        if target.group:
            wait_s = self.budget.take(reply.chat_id, len(pieces) - done)
            if wait_s > 0:
                return DeliveryResult(
                    ok=False,
                    error=f"本群每分钟最多 {self.budget.per_minute} 条消息，约 {wait_s:.0f} 秒后重发 / "
                    f"group limit of {self.budget.per_minute} messages a minute: retry in {wait_s:.0f}s",
                    retryable=True,
                )
        sent: Message | None = None
        for index in range(done, len(pieces)):
            last = index == len(pieces) - 1
            try:
                sent = self._send_piece(target, pieces[index], first=index == 0, last=last)
            except (TelegramError, TimeoutError) as exc:
                return undeliverable(exc, reply.chat_id)
            self.sent.note(reply.message_id, index + 1)
        return DeliveryResult(ok=True, platform_message_id=str(sent.message_id) if sent else None)

    def _send_piece(self, target: _Target, text: str, *, first: bool, last: bool) -> Message:
        reply = target.reply
        quote = None
        if first and target.group and target.reply_to is not None:
            quote = ReplyParameters(target.reply_to, allow_sending_without_reply=True)
        buttons = keyboard(reply.message_id) if last and reply.kind == "bot" and reply.message_id else None

        async def post(bot: Bot) -> Message:
            return await bot.send_message(reply.chat_id, text, reply_parameters=quote, reply_markup=buttons)

        return self.client.call(post)

    def _target(self, reply: Reply) -> _Target:
        """The reply as stored (the outbox hands over text and kind only) and its chat."""
        message_id = reply.message_id
        if message_id is None:
            return _Target(reply=reply, group=reply.chat_id.startswith("-"), reply_to=None)
        conversation_id = self.store.conversations.conversation_of_message(message_id)
        conversation = self.store.conversations.get(conversation_id)
        if not reply.citations:
            reply = replace(reply, citations=self.store.conversations.message(message_id).citations)
        earlier = [
            m
            for m in self.store.conversations.transcript(conversation_id, limit=_HISTORY)
            if m.id < message_id
        ]
        return _Target(
            reply=reply, group=conversation.chat_type == "group", reply_to=_answered(earlier, reply.chat_id)
        )


def keyboard(reply_id: int) -> InlineKeyboardMarkup:
    """👍 / 👎 / 转人工 under the stored reply `reply_id`."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label("like"), callback_data=feedback_data(1, reply_id)),
                InlineKeyboardButton(label("dislike"), callback_data=feedback_data(-1, reply_id)),
                InlineKeyboardButton(label("handoff"), callback_data=handoff_data(reply_id)),
            ]
        ]
    )


def undeliverable(exc: TelegramError | TimeoutError, chat_id: str) -> DeliveryResult:
    """A failed Bot API call as a DeliveryResult: retryable unless trying again cannot help."""
    detail = exc.message if isinstance(exc, TelegramError) else str(exc)
    if isinstance(exc, RetryAfter):
        value = exc.retry_after
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        return _retry(
            f"Telegram 限流，{seconds:.0f} 秒后重发 / rate limited by Telegram: retry in {seconds:.0f}s"
        )
    if isinstance(exc, Forbidden):
        return _final(
            f"无法送达：用户已屏蔽机器人，或机器人已被移出该群（{detail}）/ "
            f"undeliverable: the user blocked the bot or it was removed from chat {chat_id}"
        )
    if isinstance(exc, ChatMigrated):
        return _final(
            f"无法送达：该群已升级为超级群（新 ID {exc.new_chat_id}），请等用户在群里再次提问 / "
            f"undeliverable: group {chat_id} became supergroup {exc.new_chat_id}"
        )
    if isinstance(exc, InvalidToken):
        return _final(
            "无法送达：Bot Token 无效或已被撤销，请检查 telegram.token / the bot token was rejected"
        )
    if isinstance(exc, BadRequest) and "chat not found" in detail.lower():
        return _final(
            f"无法送达：找不到该聊天，用户可能从未与机器人对话或已删除对话（{detail}）/ "
            f"undeliverable: chat {chat_id} not found"
        )
    if isinstance(exc, BadRequest):
        return _final(f"Telegram 拒收这条消息（{detail}）/ Telegram refused the message: {detail}")
    return _retry(f"暂时无法连接 Telegram，稍后重发（{detail}）/ Telegram unreachable, will retry: {detail}")


def _retry(error: str) -> DeliveryResult:
    return DeliveryResult(ok=False, error=error, retryable=True)


def _final(error: str) -> DeliveryResult:
    return DeliveryResult(ok=False, error=error, retryable=False)


def _answered(earlier: list[MessageRecord], chat_id: str) -> int | None:
    """The Telegram message id of the user's latest message before the reply in this chat."""
    pattern = re.compile(rf"{re.escape(chat_id)}:(\d+)")
    for record in reversed(earlier):
        if record.direction == "in" and record.channel_message_id:
            match = pattern.fullmatch(record.channel_message_id)
            if match:
                return int(match[1])
    return None
