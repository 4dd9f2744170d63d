"""Choosing what an admin build reads, and accepting uploads only when they are safe."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.service.kb_sources import (
    DRAFTS_FILE,
    ReadLimits,
    plan_sources,
    safe_upload_name,
    save_upload,
    write_drafts_sheet,
)
from bot.store import FaqDraftRecord
from config.errors import UploadRejected
from ingest.loaders.faq import load_faq


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("faq.csv", "faq.csv"),
        ("../../etc/标准目录.json", "标准目录.json"),
        ("C:\\Users\\me\\条例.docx", "条例.docx"),
        ('a<b>:"c|?.md', "a_b___c__.md"),
        ("  notes.txt  ", "notes.txt"),
    ],
)
def test_upload_names_keep_only_the_file_name(given: str, expected: str) -> None:
    assert safe_upload_name(given) == expected


@pytest.mark.parametrize(
    "name",
    [None, "", "..", "run.sh", "archive.zip", "noext", DRAFTS_FILE, "长" * 300 + ".md", "a" * 250 + ".md"],
)
def test_unusable_names_are_refused(name: str | None) -> None:
    with pytest.raises(UploadRejected):
        safe_upload_name(name)


def test_an_upload_over_the_limit_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(UploadRejected, match="文件过大"):
        save_upload(tmp_path, "big.md", io.BytesIO(b"x" * 1001), max_bytes=1000)
    assert list(tmp_path.iterdir()) == []
    saved = save_upload(tmp_path, "ok.md", io.BytesIO(b"x" * 1000), max_bytes=1000)
    assert saved.read_bytes() == b"x" * 1000
    with pytest.raises(UploadRejected, match="两次"):
        save_upload(tmp_path, "ok.md", io.BytesIO(b"y"), max_bytes=1000)
    assert saved.read_bytes() == b"x" * 1000


def test_an_upload_bomb_is_read_in_a_process_of_its_own_and_refused(tmp_path: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("[Content_Types].xml", "<Types/>")
        bomb.writestr("word/document.xml", b"<x>" + b"A" * (35 << 20) + b"</x>")
    archive.seek(0)
    with pytest.raises(UploadRejected, match="压缩炸弹"):
        save_upload(tmp_path, "规章.docx", archive, max_bytes=1 << 20, read_limits=ReadLimits())
    assert list(tmp_path.iterdir()) == []


def test_an_upload_that_reads_too_slowly_is_refused_and_a_good_one_is_kept(tmp_path: Path) -> None:
    faq = "问题,答案\n企业标准要备案吗,不需要备案，实行自我声明公开。\n".encode()
    with pytest.raises(UploadRejected, match="超过"):
        save_upload(tmp_path, "faq.csv", io.BytesIO(faq), 1 << 20, ReadLimits(timeout_s=0.001))
    assert list(tmp_path.iterdir()) == []
    saved = save_upload(tmp_path, "faq.csv", io.BytesIO(faq), 1 << 20, ReadLimits())
    assert saved.read_bytes() == faq


def test_kept_sources_uploads_and_drafts_make_the_build(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    for name in ("faq.csv", "guide.md", "catalogue.csv", DRAFTS_FILE):
        (old / name).write_text("x", "utf-8")
    new = tmp_path / "new"
    new.mkdir()
    upload = new / "faq.csv"
    upload.write_text("y", "utf-8")
    drafts = new / DRAFTS_FILE
    drafts.write_text("z", "utf-8")
    active = [str(old / n) for n in ("faq.csv", "guide.md", "catalogue.csv", DRAFTS_FILE)] + [
        str(old / "gone.md")
    ]
    keep = [str(old / "faq.csv"), str(old / "guide.md"), str(old / DRAFTS_FILE), str(old / "gone.md")]

    paths, missing = plan_sources(active, keep, [upload], drafts)

    assert paths == [(old / "guide.md").resolve(), upload.resolve(), drafts.resolve()]
    assert missing == [str(old / "gone.md")]
    assert plan_sources(active, [str(tmp_path / "elsewhere.md")], [], None) == ([], [])


def test_approved_drafts_are_written_as_an_faq_sheet_the_loader_reads(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    drafts = [
        FaqDraftRecord(
            1,
            "企业标准要公开吗？",
            "要，自我声明公开。",
            "《标准化法》第二十七条",
            "staff:a",
            "approved",
            now,
        ),
        FaqDraftRecord(2, '含逗号, 和"引号"的问题', "多行\n答案", None, "staff:a", "approved", now),
    ]
    sheet = write_drafts_sheet(tmp_path, drafts)
    assert sheet is not None and sheet.name == DRAFTS_FILE
    loaded = load_faq(sheet)
    questions = [pair.question for pair in loaded.faq]
    assert questions == ["企业标准要公开吗？", '含逗号, 和"引号"的问题']
    assert write_drafts_sheet(tmp_path / "none", []) is None
