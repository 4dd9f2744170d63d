"""Loaders turn one file into a SourceDocument; `load_document` picks the loader by suffix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from config.errors import LoaderError
from ingest.documents import SourceDocument
from ingest.loaders.docx import load_docx
from ingest.loaders.faq import load_faq
from ingest.loaders.html import load_html
from ingest.loaders.markdown import load_markdown
from ingest.loaders.pdf import load_pdf

LOADERS: dict[str, Callable[[Path], SourceDocument]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_markdown,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
    ".csv": load_faq,
    ".xlsx": load_faq,
}
DOCUMENT_SUFFIXES = frozenset(LOADERS)


def load_document(path: Path) -> SourceDocument:
    """The SourceDocument of one file; an unsupported suffix or an unreadable file raises LoaderError."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        supported = " ".join(sorted(DOCUMENT_SUFFIXES))
        raise LoaderError(str(path), f"不支持的文件类型 / unsupported file type: {path.suffix} ({supported})")
    return loader(path)


__all__ = ["DOCUMENT_SUFFIXES", "LOADERS", "load_document"]
