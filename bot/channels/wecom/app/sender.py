"""Replies to members of the WeCom self-built app: text messages of the app through `message/send`, split
under the platform's limit."""

from __future__ import annotations

from wechatpy.exceptions import WeChatClientException

from bot.channels._text import plain_text, split_text, utf8_fits
from bot.channels.wecom.api import QyapiClient, deliver_pieces
from bot.messages import DeliveryResult, Reply
from bot.service.sent_pieces import SentPieces

CHANNEL = "wecom_app"
TEXT_LIMIT_BYTES = 2000  # message/send takes at most 2048 bytes of text


class WecomAppChannel:
    """Sends replies to members as text messages of the app, split under the platform's limit."""

    name = CHANNEL

    def __init__(self, client: QyapiClient, agent_id: int, sent: SentPieces) -> None:
        self.client = client
        self.agent_id = agent_id
        self.sent = sent

    def send(self, reply: Reply) -> DeliveryResult:
        pieces = split_text(plain_text(reply), utf8_fits(TEXT_LIMIT_BYTES))
        to_member = lambda piece: self._send_one(reply.chat_id, piece)  # noqa: E731
        return deliver_pieces(reply.message_id, pieces, to_member, self.sent)

    def _send_one(self, user_id: str, text: str) -> str | None:
        result = self.client.message.send_text(self.agent_id, user_id, text)
        invalid = str(result.get("invaliduser") or "")
        if invalid:  # accepted for nobody: the member is unknown or outside the app's visible range
            raise WeChatClientException(81013, f"invaliduser {invalid}")
        msgid = result.get("msgid")
        return str(msgid) if msgid else None
