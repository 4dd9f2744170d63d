"""The signed, encrypted XML callbacks of WeCom (企业微信): a self-built app's and 微信客服's.

The platform signs sha1(sorted(Token, timestamp, nonce, Encrypt)) into `msg_signature` and encrypts with
AES-256-CBC (wechatpy.enterprise's WeChatCrypto, receive id = CorpID). URL verification (GET) carries an
encrypted `echostr` to decrypt and echo back. Message callbacks (POST) first pass our edge: body limit,
freshness window, constant-time signature, the replay guard shared by workers, and XML without DTDs or
entities, outside and inside the envelope."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatException

from bot.channels._edge import ReplayGuard, check_fresh, check_signature, parse_xml, read_body
from bot.store import Store
from config.errors import EdgeRejected, SettingsError
from config.settings import PlatformSettings

_MAX_FIELD = 4096  # a signature, timestamp, nonce or echostr is far shorter
_UNDECRYPTABLE = (ValueError, TypeError, IndexError, struct.error)


@dataclass(frozen=True)
class OpenedCallback:
    """A callback that passed every check: its plaintext XML and the root's children as {tag: text}."""

    xml: str
    fields: dict[str, str]


class WecomXmlCallback:
    """Opens one channel's callbacks; every refusal is an EdgeRejected with its HTTP status."""

    def __init__(self, channel: str, settings: PlatformSettings, store: Store) -> None:
        if not (settings.token and settings.aes_key and settings.app_id):
            raise SettingsError(f"{channel}: 需要 token、aes_key、app_id / token, aes_key, app_id required")
        self.channel = channel
        self.token = settings.token.get_secret_value()
        try:
            self.crypto = WeChatCrypto(self.token, settings.aes_key.get_secret_value(), settings.app_id)
        except (ValueError, AssertionError):
            raise SettingsError(f"{channel}: EncodingAESKey 无效 / invalid EncodingAESKey") from None
        self.max_body_bytes = settings.edge.max_body_bytes
        self.freshness_s = settings.edge.freshness_s
        self.replays = ReplayGuard(store.channel_state, settings.edge.freshness_s)

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The decrypted echostr of a URL verification (GET). It changes nothing, so no freshness window
        applies: a replayed verification only shows the platform what it sent."""
        signature, timestamp, nonce, echostr = (_field(query, name) for name in _VERIFY_FIELDS)
        check_signature(signature, self.token, timestamp, nonce, echostr)
        try:
            plain = self.crypto.check_signature(signature, timestamp, nonce, echostr)
        except (WeChatException, *_UNDECRYPTABLE) as exc:
            raise EdgeRejected(400, f"echostr does not decrypt: {type(exc).__name__}") from None
        return str(plain)

    async def open(self, request: Request) -> OpenedCallback:
        """The decrypted callback of a POST, after every edge check."""
        body = await read_body(request, self.max_body_bytes)
        query = request.query_params
        timestamp = _field(query, "timestamp")
        check_fresh(timestamp, self.freshness_s)
        envelope = parse_xml(body)
        encrypted = envelope.get("Encrypt", "").strip()
        if not encrypted:
            raise EdgeRejected(400, "callback without Encrypt")
        signature, nonce = _field(query, "msg_signature"), _field(query, "nonce")
        check_signature(signature, self.token, timestamp, nonce, encrypted)
        await run_in_threadpool(self.replays.check, self.channel, timestamp, nonce, body)
        xml = self.decrypt(encrypted, signature, timestamp, nonce)
        return OpenedCallback(xml=xml, fields=parse_xml(xml.encode("utf-8")))

    def decrypt(self, encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext XML inside a signed envelope; 403 when it was sealed for another CorpID."""
        try:
            plain = self.crypto.decrypt_message({"Encrypt": encrypted}, signature, timestamp, nonce)
        except WeChatException as exc:
            raise EdgeRejected(403, f"envelope refused: {exc.errmsg}") from None
        except _UNDECRYPTABLE as exc:
            raise EdgeRejected(400, f"envelope does not decrypt: {type(exc).__name__}") from None
        return str(plain)


_VERIFY_FIELDS = ("msg_signature", "timestamp", "nonce", "echostr")


def _field(query: Mapping[str, str], name: str) -> str:
    value = query.get(name) or ""
    if not value or len(value) > _MAX_FIELD:
        raise EdgeRejected(400 if name == "echostr" else 403, f"missing or oversized {name}")
    return value
