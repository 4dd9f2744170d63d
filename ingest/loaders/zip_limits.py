"""Office files (.docx, .xlsx) are zip archives: their central directory says how large they unpack, so a
zip bomb (a few hundred KB expanding to tens of MB of XML) is refused before a parser inflates it."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from config.errors import LoaderError

MB = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """How large an Office file may unpack: in all, in members, and by how much it may expand once it is
    larger than `ratio_from_bytes` unpacked (XML compresses 5–30×; a bomb several hundred times)."""

    max_unpacked_bytes: int = 200 * MB
    max_members: int = 5000
    max_ratio: float = 100.0
    ratio_from_bytes: int = 10 * MB


def check_zip(path: Path, limits: ZipLimits | None = None) -> None:
    """LoaderError when the archive at `path` would unpack beyond `limits` (a file that is no zip archive is
    left to its loader to refuse)."""
    limits = limits or ZipLimits()
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip archive at all: the file's own loader says so in its terms
    unpacked = sum(member.file_size for member in members)
    packed = max(sum(member.compress_size for member in members), 1)
    if len(members) > limits.max_members:
        reason = f"压缩包内文件过多（{len(members)} 个） / too many archive members: {len(members)}"
    elif unpacked > limits.max_unpacked_bytes:
        reason = f"解压后过大（{unpacked // MB} MB） / unpacks to {unpacked // MB} MB"
    elif unpacked > limits.ratio_from_bytes and unpacked / packed > limits.max_ratio:
        ratio = f"{unpacked / packed:.0f}"
        reason = f"压缩比异常（{ratio} 倍），疑似压缩炸弹 / zip bomb suspected: unpacks {ratio}×"
    else:
        return
    raise LoaderError(str(path), reason)
