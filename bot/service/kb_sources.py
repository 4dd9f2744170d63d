"""What a knowledge-base build made from the admin pages reads: the active version's sources the admin
keeps, files uploaded for it (a file replaces the kept source of the same name) and the approved FAQ
drafts, written as one FAQ sheet."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bot.store import FaqDraftRecord
from config.errors import UploadRejected
from ingest.collect import SUFFIXES

DRAFTS_FILE = "人工答复.csv"
"""The sheet approved drafts are written to; rebuilt on every build, never kept from an earlier one."""
DRAFTS_CATEGORY = "人工答复"
_CHUNK = 1 << 16
MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 240  # file systems stop at 255 bytes
_BAD_NAME = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")


def safe_upload_name(filename: str | None) -> str:
    """The file's own name, without folders, control or reserved characters; UploadRejected when empty
    or of a type the knowledge base cannot read."""
    name = _BAD_NAME.sub("_", Path((filename or "").replace("\\", "/")).name).strip(" .")
    if not name:
        raise UploadRejected("没有文件名 / the upload has no file name")
    if len(name) > MAX_NAME_CHARS or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise UploadRejected(
            f"文件名过长（最多 {MAX_NAME_CHARS} 个字）：{name[:40]}… / the file name is too long"
        )
    if Path(name).suffix.lower() not in SUFFIXES:
        kinds = "、".join(sorted(SUFFIXES))
        raise UploadRejected(f"不支持的文件类型：{name}（支持 {kinds}）/ unsupported file type: {name}")
    if name == DRAFTS_FILE:
        raise UploadRejected(f"{DRAFTS_FILE} 由已批准的 FAQ 草稿生成，不能上传 / reserved name: {name}")
    return name


@dataclass(frozen=True)
class ReadLimits:
    """What reading one upload may take, in a process of its own: seconds and memory (MB of address
    space; the interpreter and parsers need about 100 MB of it before reading anything)."""

    timeout_s: float = 60.0
    memory_mb: int = 1024


def save_upload(
    directory: Path,
    filename: str | None,
    stream: BinaryIO,
    max_bytes: int,
    read_limits: ReadLimits | None = None,
) -> Path:
    """Copy one uploaded file into `directory` and read it as a build would, within `read_limits`;
    UploadRejected (and nothing left behind) when its name or type is wrong, it is empty, larger than
    `max_bytes`, or cannot be read within the limits (corrupt, a zip bomb, too slow)."""
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
        if read_limits is not None:
            read_upload(target, read_limits)
    except FileExistsError:
        raise UploadRejected(f"同名文件上传了两次：{name} / {name} was uploaded twice") from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def read_upload(path: Path, limits: ReadLimits) -> None:
    """Read `path` with `python -m ingest.probe` under `limits`; UploadRejected saying why it could not be
    read. The server's own memory is never spent on the file."""
    name = path.name
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ingest.probe", "--memory-mb", str(limits.memory_mb), str(path)],
            capture_output=True,
            timeout=limits.timeout_s,
            check=False,
            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        )
    except subprocess.TimeoutExpired:
        raise UploadRejected(
            f"读取 {name} 超过 {limits.timeout_s:.0f} 秒，已拒绝 / reading {name} took too long"
        ) from None
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except ValueError:
        result = {}
    if done.returncode == 0 and isinstance(result, dict) and "error" not in result:
        return
    reason = result.get("error") if isinstance(result, dict) else None
    if not reason:
        reason = f"读取时超出内存限制（{limits.memory_mb} MB）/ reading it exceeded {limits.memory_mb} MB"
    raise UploadRejected(f"无法读取 {name}：{reason}")


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
