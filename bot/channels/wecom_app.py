"""The WeCom self-built app (企业微信自建应用): members write to the app, the bot answers through
`message/send`.

Callbacks at /wecom/app: URL verification echoes the decrypted echostr; a message is decrypted, answered
with an empty 200 at once, and handed to the dispatcher in the background; its answer (and any staff reply)
goes out through the outbox and `send`. The chat is the member's UserID."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from wechatpy.enterprise import parse_message
from wechatpy.exceptions import WeChatClientException

from bot.channels.background import BackgroundWork
from bot.channels.base import MessageSink, Platform, PlatformContext
from bot.channels.qyapi import QyapiClient, deliver_pieces
from bot.channels.text_reply import plain_text, split_text, utf8_fits
from bot.channels.wecom_callback import OpenedCallback, WecomXmlCallback
from bot.messages import DeliveryResult, IncomingMessage, Reply
from bot.service.sent_pieces import SentPieces
from config.errors import EdgeRejected

log = logging.getLogger(__name__)

CHANNEL = "wecom_app"
ROUTE = "/wecom/app"
TEXT_LIMIT_BYTES = 2000  # message/send takes at most 2048 bytes of text
_MEDIA_TYPES = ("image", "voice", "video", "shortvideo", "location", "link")


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


def incoming(callback: OpenedCallback, agent_id: int) -> IncomingMessage | None:
    """The member's message in a callback; None for events and for another app's messages. Pictures,
    voice and the like arrive without text, which gets the request to ask in words."""
    if not callback.fields.get("MsgType"):
        raise EdgeRejected(400, "callback without MsgType")
    if callback.fields.get("Event") == "kf_msg_or_event":
        log.warning("wecom_app: 微信客服 event at %s ignored; give the kf app the URL /wechat/kf", ROUTE)
        return None
    message = parse_message(callback.xml)
    kind = str(getattr(message, "type", ""))
    if kind != "text" and kind not in _MEDIA_TYPES:
        return None
    if int(getattr(message, "agent", 0) or 0) not in (0, agent_id):
        log.warning("wecom_app: message for agent %s ignored (configured %s)", message.agent, agent_id)
        return None
    user_id = str(message.source or "")
    message_id = str(message.id or "")
    if not user_id or not message_id or message_id == "0":
        return None
    text = str(getattr(message, "content", "") or "") if kind == "text" else ""
    return IncomingMessage(CHANNEL, user_id, user_id, message_id, text.strip())


def build_router(
    callback: WecomXmlCallback, agent_id: int, work: BackgroundWork, sink: MessageSink
) -> APIRouter:
    router = APIRouter(tags=["企业微信自建应用 / WeCom app"], include_in_schema=False)

    @router.get(ROUTE, response_class=PlainTextResponse)
    def verify(request: Request) -> PlainTextResponse:
        """URL verification: the decrypted echostr."""
        return PlainTextResponse(callback.verify_url(request.query_params))

    @router.post(ROUTE, response_class=PlainTextResponse)
    async def receive(request: Request) -> PlainTextResponse:
        """A member's message: an empty 200 now, the answer later through message/send."""
        message = incoming(await callback.open(request), agent_id)
        if message is not None:
            work.submit(sink.handle, message)
        return PlainTextResponse("")

    return router


def platform(context: PlatformContext) -> Platform | None:
    """The self-built app, when [wecom_app] is filled in."""
    settings = context.settings.wecom_app
    if not settings.enabled:
        return None
    settings.require(CHANNEL, "app_id", "app_secret", "aes_key", "agent_id")
    assert settings.agent_id is not None
    client = QyapiClient(settings, context.store, context.locks, CHANNEL)
    channel = WecomAppChannel(client, settings.agent_id, SentPieces(context.store, CHANNEL))
    work = BackgroundWork(CHANNEL)
    callback = WecomXmlCallback(CHANNEL, settings, context.store)
    router = build_router(callback, settings.agent_id, work, context.sink)
    return Platform(channel, router, stop=work.stop)
