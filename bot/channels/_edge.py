"""What every platform callback passes before anything reads it: a body size limit, constant-time
signature checks, a timestamp freshness window, a replay guard shared by every worker, and XML parsed
without DTDs or entity expansion. Each refusal is an EdgeRejected carrying its HTTP status (the app's
error handler logs it and answers with that status)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from starlette.requests import Request

from config.errors import EdgeRejected


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to be larger than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise EdgeRejected(400, f"bad Content-Length {declared!r}")
        if int(declared) > limit:
            raise EdgeRejected(413, f"body of {declared} bytes exceeds {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise EdgeRejected(413, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a signature the caller sent with the one we computed."""
    if not given:
        return False
    return hmac.compare_digest(given.strip().lower().encode("utf-8"), expected.lower().encode("utf-8"))


def sha1_signature(*parts: str) -> str:
    """The WeChat-family signature: sha1 of the sorted parts concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(given: str | None, *parts: str) -> None:
    """403 unless `given` is the sha1 signature of `parts`."""
    if not same(given, sha1_signature(*parts)):
        raise EdgeRejected(403, "bad signature")


def check_fresh(timestamp: str | None, window_s: int, now: float | None = None) -> int:
    """The timestamp as an int; 403 when missing, malformed, or more than `window_s` from now."""
    if not timestamp or not timestamp.strip().isdigit():
        raise EdgeRejected(403, f"bad timestamp {timestamp!r}")
    value = int(timestamp.strip())
    current = time.time() if now is None else now
    if abs(current - value) > window_s:
        raise EdgeRejected(403, f"stale timestamp {value} (now {int(current)}, window {window_s}s)")
    return value


def parse_xml(body: bytes) -> dict[str, str]:
    """The child elements of a platform message (`<xml>…</xml>`) as {tag: text}; 400 for malformed XML, a
    DTD, entities or external references (XXE, billion laughs), another root, an element given twice, or
    a text field (MsgType, Event, Content …) with elements inside it. Other elements may nest (a scan or
    location event's details)."""
    if not body.strip():
        raise EdgeRejected(400, "empty XML body")
    try:
        root: Element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise EdgeRejected(400, f"malformed or unsafe XML: {type(exc).__name__}: {exc}") from None
    if root.tag != "xml":
        raise EdgeRejected(400, f"the message root is <{str(root.tag)[:40]}>, not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        tag = str(child.tag)
        if tag in fields:
            raise EdgeRejected(400, f"element <{tag[:40]}> given twice")
        if tag in TEXT_FIELDS and len(child):
            raise EdgeRejected(400, f"element <{tag}> must hold text, not elements")
        fields[tag] = child.text or ""
    return fields


# Fields read as text, by stdbot or wechatpy, in WeChat and WeCom callbacks.
TEXT_FIELDS = frozenset(
    {
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "MsgId",
        "Content",
        "Event",
        "EventKey",
        "Encrypt",
        "AgentID",
        "Token",
        "OpenKfId",
        "MediaId",
        "PicUrl",
        "Format",
        "Recognition",
        "Ticket",
    }
)


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object; 400 for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise EdgeRejected(400, f"malformed JSON: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise EdgeRejected(400, "JSON body is not an object")
    return data


class NonceLedger(Protocol):
    """Where the replay guard records (timestamp, nonce) pairs: the store's channel state, shared by every
    worker."""

    def claim_nonce(
        self, channel: str, key: str, body_hash: str, expires_at: datetime, now: datetime
    ) -> bool: ...


class ReplayGuard:
    """One signed (timestamp, nonce) pair carries one body. The same pair with the same body is the
    platform delivering again (let through: message ids dedupe it); with another body it is a replay of
    a captured signature onto forged content, refused with 403."""

    def __init__(
        self, ledger: NonceLedger, window_s: int, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.ledger = ledger
        self.window_s = window_s
        self._clock = clock

    def check(self, channel: str, timestamp: str, nonce: str | None, body: bytes) -> None:
        if not nonce or len(nonce) > 128:
            raise EdgeRejected(403, f"bad nonce {nonce!r}")
        now = self._clock()
        digest = hashlib.sha256(body).hexdigest()
        expires = now + timedelta(seconds=2 * self.window_s)
        if not self.ledger.claim_nonce(channel, f"{timestamp}:{nonce}", digest, expires, now):
            raise EdgeRejected(403, f"replayed nonce {nonce!r} with a different body")
