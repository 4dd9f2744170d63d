"""The WeCom callback cipher (WXBizMsgCrypt's scheme, JSON envelope) as the 智能机器人 uses it.

AES-256-CBC with the 32-byte key base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32-byte
blocks; the plaintext is 16 random bytes, the message length (4 bytes, big-endian), the message and the
receive id (empty for the AI bot). Signatures are sha1 of sorted(token, timestamp, nonce, ciphertext).
Every failure to open a ciphertext is an EdgeRejected (400), never a crash."""

from __future__ import annotations

import base64
import binascii
import os
import struct
import time
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels._edge import check_signature, sha1_signature
from config.errors import EdgeRejected, SettingsError

BLOCK_BITS = 256  # WeCom pads to 32-byte blocks, not AES's 16
_RANDOM_BYTES = 16
_LENGTH = struct.Struct(">I")


def aes_key_bytes(encoding_aes_key: str) -> bytes:
    """The AES key an EncodingAESKey (43 characters) stands for."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise SettingsError(
            "EncodingAESKey 应为 43 个 base64 字符 / EncodingAESKey must be 43 base64 characters"
        )
    return key


class WecomCipher:
    """Signs, encrypts and decrypts callbacks for one token, EncodingAESKey and receive id."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        self.token = token
        self.key = aes_key_bytes(encoding_aes_key)
        self.receive_id = receive_id.encode("utf-8")

    def signature(self, timestamp: str, nonce: str, ciphertext: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, ciphertext)

    def check(self, given: str | None, timestamp: str, nonce: str, ciphertext: str) -> None:
        """403 unless `given` signs this ciphertext (constant-time)."""
        check_signature(given, self.token, timestamp, nonce, ciphertext)

    def decrypt(self, ciphertext: str) -> bytes:
        """The message inside `ciphertext`; 400 when it is not ours or not well formed."""
        try:
            raw = base64.b64decode(ciphertext.replace(" ", "+"), validate=True)
        except (binascii.Error, ValueError):
            raise EdgeRejected(400, "ciphertext is not base64") from None
        if not raw or len(raw) % 16:
            raise EdgeRejected(400, f"ciphertext of {len(raw)} bytes is not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
        try:
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise EdgeRejected(400, "bad padding: wrong EncodingAESKey or a damaged message") from None
        if len(plain) < _RANDOM_BYTES + _LENGTH.size:
            raise EdgeRejected(400, "decrypted message too short")
        (length,) = _LENGTH.unpack_from(plain, _RANDOM_BYTES)
        start = _RANDOM_BYTES + _LENGTH.size
        message, receive_id = plain[start : start + length], plain[start + length :]
        if len(message) != length:
            raise EdgeRejected(400, f"decrypted message shorter than its declared {length} bytes")
        if receive_id != self.receive_id:
            raise EdgeRejected(400, f"message for another receiver {receive_id[:64]!r}")
        return message

    def encrypt(self, message: bytes, random_bytes: bytes | None = None) -> str:
        """`message` as base64 ciphertext for this receive id."""
        prefix = os.urandom(_RANDOM_BYTES) if random_bytes is None else random_bytes
        if len(prefix) != _RANDOM_BYTES:
            raise ValueError("the random prefix must be 16 bytes")
        plain = prefix + _LENGTH.pack(len(message)) + message + self.receive_id
        padder = padding.PKCS7(BLOCK_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def envelope(self, message: bytes, nonce: str, timestamp: int | None = None) -> dict[str, Any]:
        """The JSON a passive reply is sent in: ciphertext, its signature, timestamp and nonce."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        ciphertext = self.encrypt(message)
        return {
            "encrypt": ciphertext,
            "msgsignature": self.signature(stamp, nonce, ciphertext),
            "timestamp": stamp,
            "nonce": nonce,
        }
