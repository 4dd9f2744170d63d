"""The platform's side of the WeChat message envelope, one double for every channel that uses it: the
Official Account's safe mode, the WeCom self-built app, 微信客服 and the WeCom 智能机器人 (WXBizMsgCrypt).

Written from the protocol with `cryptography` alone, independently of the app's ciphers: key =
base64(EncodingAESKey + "="), AES-256-CBC with IV = key[:16], plaintext = 16 random bytes + 4-byte
big-endian length + message + receive id (the AppID or CorpID; empty for the 智能机器人), PKCS#7 padded
to 32-byte blocks, base64; signatures are the sha1 of the sorted parts (token, timestamp, nonce and, for
sealed messages, the ciphertext). `OFFICIAL` is the URL-verification sample shipped with WXBizMsgCrypt,
which the double reproduces byte for byte. `xml_of` and `fields_of` write and read the XML documents the
platforms send."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


def signature(*parts: str) -> str:
    """sha1 of the parts sorted and joined: the platform's signature."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OfficialSample:
    """The URL-verification sample of WXBizMsgCrypt (echostr URL-decoded)."""

    token: str = "QDG6eK"
    receive_id: str = "wx5823bf96d3bd56c7"
    aes_key: str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
    msg_signature: str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    timestamp: str = "1409659589"
    nonce: str = "263014780"
    echostr: str = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    echo_plain: str = "1616140317555161061"

    def query(self) -> dict[str, str]:
        return {
            "msg_signature": self.msg_signature,
            "timestamp": self.timestamp,
            "nonce": self.nonce,
            "echostr": self.echostr,
        }


OFFICIAL = OfficialSample()


class PlatformCipher:
    """The platform's message cipher for one token, EncodingAESKey and receive id."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        self.token = token
        self.receive_id = receive_id
        self.key = base64.b64decode(encoding_aes_key + "=")
        assert len(self.key) == 32

    def sign(self, *parts: str) -> str:
        return signature(self.token, *parts)

    def encrypt(self, message: str | bytes, random16: bytes | None = None) -> str:
        body = message.encode("utf-8") if isinstance(message, str) else message
        prefix = random16 if random16 is not None else os.urandom(16)
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> tuple[str, str]:
        """(the message, the receive id it was encrypted for)."""
        plain = self._plaintext(encrypted)
        pad = plain[-1]
        assert 1 <= pad <= BLOCK and plain.endswith(bytes([pad]) * pad), "bad PKCS#7 padding"
        body = plain[16:-pad]
        (length,) = struct.unpack(">I", body[:4])
        return body[4 : 4 + length].decode("utf-8"), body[4 + length :].decode("utf-8")

    def random_prefix(self, encrypted: str) -> bytes:
        """The 16 random bytes a ciphertext starts with (to encrypt the same text to the same bytes)."""
        return self._plaintext(encrypted)[:16]

    def _plaintext(self, encrypted: str) -> bytes:
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        return decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()


def xml_of(fields: dict[str, str | int]) -> str:
    """A callback document as the platform writes it (strings in CDATA, numbers bare)."""
    parts = []
    for name, value in fields.items():
        cdata = str(value).replace("]]>", "]]]]><![CDATA[>")
        text = str(value) if isinstance(value, int) else f"<![CDATA[{cdata}]]>"
        parts.append(f"<{name}>{text}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def fields_of(xml: str) -> dict[str, str]:
    root = ElementTree.fromstring(xml)
    assert root.tag == "xml", xml
    return {child.tag: child.text or "" for child in root}
