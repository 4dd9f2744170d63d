"""The web chat channel: browser sessions signed with the server's key, delivery by waking live streams.

A web chat session is its own chat: the session id is the chat id and the user id. Replies are already in
the store when the outbox hands them here, so `send` stores nothing; it wakes the page's event stream."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer

from bot.messages import DeliveryResult, Reply
from bot.web.sse import ChatSignals

CHANNEL = "webchat"
_SALT = "stdbot.webchat.session"


@dataclass(frozen=True)
class ChatSession:
    """A web chat session as the browser keeps it."""

    session_id: str
    token: str


class ChatSessions:
    """Creates sessions and checks their tokens: the token is a signature of the session id."""

    def __init__(self, secret_key: str) -> None:
        self._signer = Signer(secret_key, salt=_SALT)

    def new(self) -> ChatSession:
        session_id = secrets.token_urlsafe(18)
        return ChatSession(session_id, self._signer.get_signature(session_id).decode("ascii"))

    def valid(self, session_id: str, token: str) -> bool:
        """True when `token` was issued by this server for `session_id`."""
        try:
            return self._signer.verify_signature(session_id, token)
        except BadSignature:
            return False

    @staticmethod
    def message_id(session_id: str, client_message_id: str) -> str:
        """The channel message id of a browser message: unique per session, so retries dedupe."""
        return f"{session_id}:{client_message_id}"


class WebchatChannel:
    """Delivers to web chat pages by waking their event streams (in this process; others poll)."""

    name = CHANNEL

    def __init__(self, signals: ChatSignals) -> None:
        self._signals = signals

    def send(self, reply: Reply) -> DeliveryResult:
        self._signals.notify(reply.chat_id)
        message_id = str(reply.message_id) if reply.message_id is not None else None
        return DeliveryResult(ok=True, platform_message_id=message_id)
