"""The `/wecom/app` callback routes: URL verification, and members' messages answered with an empty 200
at once and handed to the dispatcher in the background."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from wechatpy.enterprise import parse_message

from bot.channels._workers import BackgroundWork
from bot.channels.base import MessageSink
from bot.channels.wecom.app.sender import CHANNEL
from bot.channels.wecom.callback import OpenedCallback, WecomXmlCallback
from bot.messages import IncomingMessage
from config.errors import EdgeRejected

log = logging.getLogger(__name__)

ROUTE = "/wecom/app"
_MEDIA_TYPES = ("image", "voice", "video", "shortvideo", "location", "link")


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
    return IncomingMessage(
        channel=CHANNEL, chat_id=user_id, user_id=user_id, message_id=message_id, text=text.strip()
    )


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
