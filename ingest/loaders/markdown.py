"""Markdown and plain-text files: `#` headings become heading blocks, every other line a paragraph."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ingest.documents import Block, SourceDocument, make_document, read_text, split_front_matter

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_FENCE = re.compile(r"^\s*(```|~~~)")
_QUOTE = re.compile(r"^(>\s*)+")


def load_markdown(path: Path) -> SourceDocument:
    """A Markdown or text file; the title is its first `# ` heading, else the file name."""
    meta, body = split_front_matter(read_text(path))
    blocks = tuple(text_blocks(body, markdown=path.suffix.lower() != ".txt"))
    title = next((block.text for block in blocks if block.level == 1), None)
    return make_document(path, blocks, title=title, meta=meta)


def text_blocks(body: str, *, markdown: bool = True) -> Iterator[Block]:
    """One block per non-empty line; Markdown headings keep their level, inline markup is dropped."""
    for raw in body.split("\n"):
        line = raw.strip().replace("\u3000", " ").strip()
        if markdown:
            line = _QUOTE.sub("", line)
        if not line or (markdown and (_TABLE_RULE.match(line) or _FENCE.match(line))):
            continue
        heading = _HEADING.match(line) if markdown else None
        if heading:
            yield Block(_inline(heading.group(2)), len(heading.group(1)))
        else:
            yield Block(_inline(line) if markdown else line)


def _inline(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    return _EMPHASIS.sub(r"\2", text).strip()
