"""PDF files with a text layer, read with pypdf; lines broken inside a sentence are joined again."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from config.errors import LoaderError
from ingest.documents import Block, SourceDocument, make_document

NO_TEXT = "PDF 没有文本层（可能是扫描件），请先做 OCR / PDF has no text layer (scanned?)"
ENCRYPTED = "PDF 已加密，请先去除密码 / PDF is encrypted: remove the password first"
_GENERIC_TITLES = re.compile(r"^(untitled|无标题|microsoft word - .*|document\d*|\s*)$", re.IGNORECASE)
_LINE_START = re.compile(
    r"^(第[一二三四五六七八九十百零〇两\d]+[章节条]|[（(][一二三四五六七八九十\d]+[)）]|"
    r"[一二三四五六七八九十]+、|\d+(\.\d+)*\s|附\s*录|[A-Z]\.\d)"
)
_SENTENCE_END = ("。", "；", "：", "！", "？", ":", ";", "!", "?")


def load_pdf(path: Path) -> SourceDocument:
    """A PDF's text, page by page; scanned, encrypted or corrupt files raise a LoaderError."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoaderError(str(path), ENCRYPTED)
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata else None
    except LoaderError:
        raise
    except FileNotDecryptedError:
        raise LoaderError(str(path), ENCRYPTED) from None
    except OSError as exc:
        raise LoaderError(str(path), f"无法读取 PDF / cannot read PDF: {exc.strerror or exc}") from None
    except PdfReadError as exc:
        raise LoaderError(
            str(path), f"无法读取 PDF（文件损坏？） / cannot read PDF (corrupt?): {exc}"
        ) from None
    except Exception as exc:  # pypdf raises many kinds of error on damaged files
        raise LoaderError(
            str(path), f"无法读取 PDF（文件损坏？） / cannot read PDF (corrupt?): {exc}"
        ) from None
    if not pages:
        raise LoaderError(str(path), "PDF 没有页面 / PDF has no pages")
    lines = [line for page in pages for line in page.split("\n")]
    blocks = tuple(_join_lines(lines))
    if not blocks:
        raise LoaderError(str(path), NO_TEXT)
    title = str(meta_title).strip() if meta_title and not _GENERIC_TITLES.match(str(meta_title)) else None
    return make_document(path, blocks, title=title or blocks[0].text[:80])


def _join_lines(lines: list[str]) -> Iterator[Block]:
    """Paragraphs from page lines: a full-width line that does not end a sentence runs on."""
    cleaned = [raw.strip().replace("\u3000", " ").strip() for raw in lines]
    lengths = sorted(len(line) for line in cleaned if line)
    full = lengths[int(len(lengths) * 0.8)] if lengths else 0
    current, last = "", ""
    for line in cleaned:
        if not line:
            if current:
                yield Block(current)
            current = ""
            continue
        ends = last.endswith(_SENTENCE_END) or len(last) < 0.75 * full
        if current and (ends or _LINE_START.match(line)):
            yield Block(current)
            current = ""
        current = f"{current}{_joiner(current, line)}{line}"
        last = line
    if current:
        yield Block(current)


def _joiner(left: str, right: str) -> str:
    """No space between CJK characters; one space between Latin words."""
    if not left:
        return ""
    return " " if left[-1].isascii() and right[0].isascii() and left[-1].isalnum() else ""
