"""Word .docx files read with python-docx: heading styles become headings, table rows become lines."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from config.errors import LoaderError
from ingest.documents import Block, SourceDocument, make_document
from ingest.loaders.zip_limits import check_zip

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"^(?:title|标题)$", re.IGNORECASE)


def load_docx(path: Path) -> SourceDocument:
    """A .docx in reading order; the title is the core title, else the first Title or Heading paragraph."""
    check_zip(path)
    try:
        document = docx.Document(str(path))
        blocks = tuple(_blocks(document))
        core_title = (document.core_properties.title or "").strip()
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        reason = (
            f"无法读取 Word 文档（文件损坏或不是 .docx） / cannot read DOCX (corrupt or not .docx): {exc}"
        )
        raise LoaderError(str(path), reason) from None
    except OSError as exc:
        raise LoaderError(str(path), f"无法读取文件 / cannot read file: {exc.strerror or exc}") from None
    heading = next((block.text for block in blocks if block.level > 0), None)
    return make_document(path, blocks, title=core_title or heading)


def _blocks(document: Any) -> Iterator[Block]:
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.replace("\u3000", " ").strip()
            if text:
                yield Block(text, _level(item))
        elif isinstance(item, Table):
            yield from _table_rows(item)


def _level(paragraph: Paragraph) -> int:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if _TITLE_STYLE.match(name.strip()):
        return 1
    match = _HEADING_STYLE.match(name.strip())
    return min(int(match.group(1)), 6) if match else 0


def _table_rows(table: Table) -> Iterator[Block]:
    """Each row as `cell | cell`, merged cells counted once."""
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            yield Block(" | ".join(cells))
