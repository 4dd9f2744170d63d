"""Replies to Official Account users through the customer-service message API (`message/custom/send`)."""

from __future__ import annotations

from dataclasses import replace

from bot.channels._text import plain_text, split_text, utf8_fits
from bot.channels.wechat_mp.api import CustomMessages
from bot.messages import DeliveryResult, Reply
from bot.service.sent_pieces import SentPieces

CHANNEL = "wechat_mp"
MAX_TEXT_BYTES = 2048


def reply_pieces(reply: Reply) -> list[str]:
    """The reply as the platform's text messages: with its 依据 line, in pieces of at most 2,048 bytes."""
    return split_text(plain_text(reply), utf8_fits(MAX_TEXT_BYTES))


class WechatMpChannel:
    """Delivers replies through the customer-service message API, piece by piece; pieces already
    delivered (passively, or before a failed attempt) are not sent again."""

    name = CHANNEL

    def __init__(self, messages: CustomMessages, sent: SentPieces) -> None:
        self.messages = messages
        self.sent = sent

    def send(self, reply: Reply) -> DeliveryResult:
        pieces = reply_pieces(reply)
        first = self.sent.count(reply.message_id)
        for index in range(first, len(pieces)):
            result = self.messages.send_text(reply.chat_id, pieces[index])
            if not result.ok:
                if len(pieces) > 1:
                    where = f"第 {index + 1}/{len(pieces)} 段 / piece {index + 1} of {len(pieces)}: "
                    return replace(result, error=where + (result.error or ""))
                return result
            self.sent.note(reply.message_id, index + 1)
        return DeliveryResult(ok=True, platform_message_id=f"custom:{len(pieces)}")
