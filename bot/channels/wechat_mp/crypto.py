"""The Official Account's callback envelope: URL verification, the signed POST in plaintext, compatible
or safe (AES) mode, and sealing a passive reply the way the platform expects.

Every check runs before wechatpy sees a byte: the freshness window, constant-time signatures, XML parsed
without DTDs or entities. wechatpy then only decrypts an `Encrypt` value whose signature we checked and
parses XML defusedxml already accepted."""

from __future__ import annotations

import binascii
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.channels._edge import check_fresh, check_signature, parse_xml
from config.errors import EdgeRejected
from config.settings import WechatSettings

SAFE_MODE = "aes"
PLAIN_MODES = ("", "raw")
MAX_ECHO_CHARS = 128


@dataclass(frozen=True)
class CallbackQuery:
    """The query string the platform signs each callback with."""

    signature: str | None = None
    timestamp: str | None = None
    nonce: str | None = None
    echostr: str | None = None
    encrypt_type: str | None = None
    msg_signature: str | None = None

    @classmethod
    def of(cls, params: dict[str, str]) -> CallbackQuery:
        return cls(
            signature=params.get("signature"),
            timestamp=params.get("timestamp"),
            nonce=params.get("nonce"),
            echostr=params.get("echostr"),
            encrypt_type=params.get("encrypt_type"),
            msg_signature=params.get("msg_signature"),
        )


@dataclass(frozen=True)
class OpenedCallback:
    """A verified callback: the message XML in plaintext, its fields, and whether the reply is sealed."""

    xml: str
    fields: dict[str, str]
    encrypted: bool
    timestamp: str
    nonce: str


class MpEnvelope:
    """Opens the platform's callbacks and seals passive replies for one Official Account."""

    def __init__(self, settings: WechatSettings, clock: Callable[[], float] = time.time) -> None:
        if settings.token is None:
            raise ValueError("the Official Account has no token")
        self.token = settings.token.get_secret_value()
        self.window_s = settings.edge.freshness_s
        self._clock = clock
        aes_key = settings.aes_key.get_secret_value() if settings.aes_key is not None else ""
        self._crypto = WeChatCrypto(self.token, aes_key, settings.app_id) if aes_key else None

    def verify_url(self, query: CallbackQuery) -> str:
        """The `echostr` to echo when the platform checks the callback URL (403 otherwise)."""
        timestamp, nonce = self._signed(query)
        check_signature(query.signature, self.token, timestamp, nonce)
        echo = query.echostr or ""
        if not echo or len(echo) > MAX_ECHO_CHARS or not echo.isprintable():
            raise EdgeRejected(400, "bad echostr")
        return echo

    def open(self, query: CallbackQuery, body: bytes) -> OpenedCallback:
        """The message of a callback POST: signature and freshness checked, decrypted in safe mode."""
        timestamp, nonce = self._signed(query)
        check_signature(query.signature, self.token, timestamp, nonce)
        outer = parse_xml(body)
        mode = (query.encrypt_type or "").strip().lower()
        if mode in PLAIN_MODES:
            try:
                xml = body.decode("utf-8")
            except UnicodeDecodeError:
                raise EdgeRejected(400, "callback body is not UTF-8") from None
            return OpenedCallback(
                xml=xml, fields=_checked(outer), encrypted=False, timestamp=timestamp, nonce=nonce
            )
        if mode != SAFE_MODE:
            raise EdgeRejected(400, f"unknown encrypt_type {query.encrypt_type!r}")
        encrypt = outer.get("Encrypt", "").strip()
        if not encrypt:
            raise EdgeRejected(400, "safe-mode callback without Encrypt")
        check_signature(query.msg_signature, self.token, timestamp, nonce, encrypt)
        xml = self._decrypt(encrypt, query.msg_signature or "", timestamp, nonce)
        return OpenedCallback(
            xml=xml,
            fields=_checked(parse_xml(xml.encode("utf-8"))),
            encrypted=True,
            timestamp=timestamp,
            nonce=nonce,
        )

    def seal(self, reply_xml: str, opened: OpenedCallback) -> str:
        """The reply body: as is in plaintext mode, else encrypted and signed for the platform."""
        if not opened.encrypted:
            return reply_xml
        assert self._crypto is not None
        sealed: str = self._crypto.encrypt_message(reply_xml, opened.nonce, str(int(self._clock())))
        return sealed

    def _signed(self, query: CallbackQuery) -> tuple[str, str]:
        check_fresh(query.timestamp, self.window_s, now=self._clock())
        if not query.nonce or len(query.nonce) > 128:
            raise EdgeRejected(403, f"bad nonce {query.nonce!r}")
        assert query.timestamp is not None
        return query.timestamp.strip(), query.nonce

    def _decrypt(self, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        if self._crypto is None:
            raise EdgeRejected(400, "safe-mode callback but no EncodingAESKey is configured")
        try:
            xml: str = self._crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise EdgeRejected(403, "bad msg_signature") from None
        except InvalidAppIdException:
            raise EdgeRejected(403, "message encrypted for another AppID") from None
        except (binascii.Error, ValueError, struct.error, IndexError, UnicodeDecodeError) as exc:
            raise EdgeRejected(400, f"cannot decrypt: {type(exc).__name__}") from None
        return xml


def _checked(fields: dict[str, str]) -> dict[str, str]:
    """The message fields; 400 unless it names its type and sender."""
    for name in ("MsgType", "FromUserName"):
        if not fields.get(name, "").strip():
            raise EdgeRejected(400, f"message without {name}")
    return fields
