"""Office files that would unpack far beyond their size are refused before a parser inflates them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from openpyxl import Workbook

from config.errors import LoaderError
from ingest.loaders import load_document
from ingest.loaders.faq import read_xlsx_rows
from ingest.loaders.zip_limits import ZipLimits, check_zip


def bomb(path: Path, member: str, unpacked_mb: int) -> Path:
    """An Office-shaped archive whose one member unpacks to `unpacked_mb` MB of one repeated byte."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(member, b"<x>" + b"A" * (unpacked_mb << 20) + b"</x>")
    return path


def test_a_docx_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = bomb(tmp_path / "规章.docx", "word/document.xml", 40)
    assert path.stat().st_size < 200_000
    with pytest.raises(LoaderError, match="压缩炸弹"):
        load_document(path)


def test_an_xlsx_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = bomb(tmp_path / "热线FAQ.xlsx", "xl/sharedStrings.xml", 40)
    with pytest.raises(LoaderError, match="压缩炸弹"):
        read_xlsx_rows(path)


def test_real_office_files_pass(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("企业标准化管理办法", level=1)
    document.add_paragraph("第一条 为了规范企业标准化工作，制定本办法。" * 50)
    document.save(str(tmp_path / "办法.docx"))
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["问题", "答案"])
    sheet.append(["企业标准要备案吗", "不需要备案，实行自我声明公开。"])
    workbook.save(tmp_path / "faq.xlsx")
    check_zip(tmp_path / "办法.docx")
    check_zip(tmp_path / "faq.xlsx")
    assert "第一条" in load_document(tmp_path / "办法.docx").text


def test_members_and_total_size_are_bounded(tmp_path: Path) -> None:
    many = tmp_path / "many.docx"
    with zipfile.ZipFile(many, "w") as archive:
        for number in range(30):
            archive.writestr(f"word/part{number}.xml", "<x/>")
    with pytest.raises(LoaderError, match="文件过多"):
        check_zip(many, ZipLimits(max_members=20))
    big = bomb(tmp_path / "big.docx", "word/document.xml", 3)
    with pytest.raises(LoaderError, match="解压后过大"):
        check_zip(big, ZipLimits(max_unpacked_bytes=2 << 20))


def test_a_file_that_is_not_a_zip_is_refused_by_its_loader(tmp_path: Path) -> None:
    path = tmp_path / "假的.docx"
    path.write_bytes(b"PK\x03\x04 not really")
    check_zip(path)  # nothing to measure
    with pytest.raises(LoaderError, match="DOCX"):
        load_document(path)
