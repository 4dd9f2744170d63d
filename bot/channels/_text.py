"""Replies as plain text for channels that cannot show a citation list beside the text (WeChat, WeCom,
Telegram), and splitting long text into the pieces a platform accepts, at paragraph or sentence ends
where possible."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.messages import Reply

BASIS = "依据"
_BREAKS = (re.compile(r"(?<=\n)\n*"), re.compile(r"(?<=[。！？；!?;])"), re.compile(r"(?<=[，、,\s])"))


def plain_text(reply: Reply, *, max_citations: int = 3) -> str:
    """The reply's text, followed by a 依据 line naming the sources it rests on that the text does not
    already name (a bot answer only; FAQ sheets are not cited as sources)."""
    if reply.kind != "bot":
        return reply.text
    labels: list[str] = []
    for citation in reply.citations:
        label = citation.label
        if citation.kind != "faq" and label not in labels and label not in reply.text:
            labels.append(label)
    if not labels:
        return reply.text
    return f"{reply.text}\n\n{BASIS}：{'；'.join(labels[:max_citations])}"


def utf8_fits(max_bytes: int) -> Callable[[str], bool]:
    return lambda piece: len(piece.encode("utf-8")) <= max_bytes


def chars_fit(max_chars: int) -> Callable[[str], bool]:
    return lambda piece: len(piece) <= max_chars


def split_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """`text` in pieces that each `fit`, cut at paragraph ends, else sentence ends, else commas or
    spaces, else between characters; nothing is lost and no piece is empty."""
    if fits(text):
        return [text] if text else []
    pieces: list[str] = []
    rest = text
    while rest:
        if fits(rest):
            pieces.append(rest)
            break
        cut = _longest_prefix(rest, fits)
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [piece for piece in (p.strip("\n") for p in pieces) if piece]


def _longest_prefix(text: str, fits: Callable[[str], bool]) -> int:
    """Where to cut `text`: the last natural break whose prefix fits, else the most characters that fit."""
    low, high = 1, len(text)
    while low < high:  # the most characters that fit (at least one)
        middle = (low + high + 1) // 2
        if fits(text[:middle]):
            low = middle
        else:
            high = middle - 1
    limit = low
    for pattern in _BREAKS:
        ends = [m.start() for m in pattern.finditer(text, 0, limit + 1) if 0 < m.start() <= limit]
        if ends and ends[-1] > limit // 3:
            return ends[-1]
    return limit
