"""What a knowledge-base build made from the admin pages reads: the active version's sources the admin
keeps, files uploaded for it (a file replaces the kept source of the same name) and the approved FAQ
drafts, written as one FAQ sheet."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from bot.store import FaqDraftRecord
from config.errors import UploadRejected
from ingest.collect import SUFFIXES

DRAFTS_FILE = "人工答复.csv"
"""The sheet approved drafts are written to; rebuilt on every build, never kept from an earlier one."""
DRAFTS_CATEGORY = "人工答复"
_CHUNK = 1 << 16
_BAD_NAME = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")


def safe_upload_name(filename: str | None) -> str:
    """The file's own name, without folders, control or reserved characters; UploadRejected when empty
    or of a type the knowledge base cannot read."""
    name = _BAD_NAME.sub("_", Path((filename or "").replace("\\", "/")).name).strip(" .")
    if not name:
        raise UploadRejected("没有文件名 / the upload has no file name")
    if Path(name).suffix.lower() not in SUFFIXES:
        kinds = "、".join(sorted(SUFFIXES))
        raise UploadRejected(f"不支持的文件类型：{name}（支持 {kinds}）/ unsupported file type: {name}")
    if name == DRAFTS_FILE:
        raise UploadRejected(f"{DRAFTS_FILE} 由已批准的 FAQ 草稿生成，不能上传 / reserved name: {name}")
    return name


def save_upload(directory: Path, filename: str | None, stream: BinaryIO, max_bytes: int) -> Path:
    """Copy one uploaded file into `directory`; UploadRejected (and nothing left behind) when its name or
    type is wrong, it is empty, or it is larger than `max_bytes`."""
    name = safe_upload_name(filename)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    written = 0
    try:
        with target.open("xb") as out:
            while block := stream.read(_CHUNK):
                written += len(block)
                if written > max_bytes:
                    raise UploadRejected(
                        f"文件过大：{name} 超过 {max_bytes // (1 << 20)} MB / {name} is larger than the limit"
                    )
                out.write(block)
        if written == 0:
            raise UploadRejected(f"文件是空的：{name} / {name} is empty")
    except FileExistsError:
        raise UploadRejected(f"同名文件上传了两次：{name} / {name} was uploaded twice") from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def write_drafts_sheet(directory: Path, drafts: Iterable[FaqDraftRecord]) -> Path | None:
    """Approved drafts as an FAQ sheet (问题, 答案, 依据, 分类) in `directory`; None when there are none."""
    rows = [(d.question, d.answer, d.basis or "", DRAFTS_CATEGORY) for d in drafts]
    if not rows:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / DRAFTS_FILE
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("问题", "答案", "依据", "分类"))
        writer.writerows(rows)
    return target


def plan_sources(
    active_sources: Sequence[str], keep: Iterable[str], uploads: Sequence[Path], drafts: Path | None
) -> tuple[list[Path], list[str]]:
    """(the files to build from, the kept sources that no longer exist). Only sources of the active
    version can be kept; an upload replaces a kept source with the same file name."""
    wanted = set(keep)
    replaced = {path.name for path in uploads}
    chosen: list[Path] = []
    missing: list[str] = []
    for source in active_sources:
        path = Path(source)
        if source not in wanted or path.name == DRAFTS_FILE or path.name in replaced:
            continue
        if path.exists():
            chosen.append(path.resolve())
        else:
            missing.append(source)
    chosen.extend(path.resolve() for path in uploads)
    if drafts is not None:
        chosen.append(drafts.resolve())
    return chosen, missing
