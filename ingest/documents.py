"""What a loader hands to the splitter: a SourceDocument (title, kind, date, blocks or FAQ pairs),
and the helpers every loader shares: decoding, comments, front matter, title, date and kind."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from config.errors import LoaderError
from knowledge.standard_numbers import find_standard_numbers
from knowledge.types import KINDS

ENCODINGS = ("utf-8-sig", "gb18030")

FOLDER_KINDS = {
    "laws": "law",
    "regulations": "regulation",
    "rules": "rule",
    "local": "local",
    "standards": "standard",
}

PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
_NATIONAL_PREFIXES = ("中华人民共和国", "全国", "国家", "国务院", "中央", "中共")
_CITY = re.compile(r"^[\u4e00-\u9fff]{2,3}市")
_TRAILING_DATE = re.compile(r"\s*[（(]\d{4}-\d{2}-\d{2}[)）]\s*$")
_TRAILING_NOTE = re.compile(r"\s*[（(][^（）()]*[)）]\s*$")
_FILENAME_DATE = re.compile(r"[（(](\d{4}-\d{2}-\d{2})[)）]")
_CN_DATE = re.compile(r"^\s*[（(]?\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\b")
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_META_LINE = re.compile(r"^\s*([A-Za-z_]+)\s*:\s*(.*?)\s*$")
_CLAUSE_STANDARD = re.compile(r"(?m)^\s*1\s*范\s*围\s*$")
_CLAUSE_STANDARD_NEXT = re.compile(r"(?m)^\s*(2\s*规范性引用文件|3\s*术语和定义)")
_STRUCTURE = re.compile(r"^第[一二三四五六七八九十百零〇两\d]+[章节条]")
META_KEYS = ("kind", "title", "date", "status")


@dataclass(frozen=True)
class Block:
    """One piece of a loaded document: a heading (level 1–6) or a paragraph / table row (level 0)."""

    text: str
    level: int = 0


@dataclass(frozen=True)
class FaqPair:
    """One question of an FAQ sheet with its answer, the article it rests on and its category."""

    question: str
    answer: str
    basis: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class SourceDocument:
    """A loaded source before splitting: its blocks (or FAQ pairs) and what we know about it."""

    path: str
    title: str
    kind: str
    date: str | None = None
    status: str | None = None
    blocks: tuple[Block, ...] = ()
    faq: tuple[FaqPair, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)


def read_text(path: Path) -> str:
    """The file decoded as UTF-8 (with or without BOM) or GB18030; a clear error for anything else."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(str(path), f"无法读取文件 / cannot read file: {exc.strerror or exc}") from None
    return decode_text(data, path)


def decode_text(data: bytes, path: Path) -> str:
    """Bytes to text, trying UTF-8 then GB18030; binary data is refused."""
    if b"\x00" in data[:4096]:
        raise LoaderError(str(path), "不是文本文件（含二进制数据） / not a text file (binary data)")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            continue
    raise LoaderError(
        str(path), "无法识别文本编码（支持 UTF-8、GB18030） / unknown text encoding (UTF-8, GB18030)"
    )


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Read `---` YAML front matter and `<!-- key: value -->` comments, then drop every comment."""
    meta: dict[str, str] = {}
    stripped = text.lstrip("\ufeff")
    if stripped.startswith("---\n"):
        end = stripped.find("\n---", 4)
        if end != -1:
            _read_meta_lines(stripped[4:end].splitlines(), meta)
            stripped = stripped[end + 4 :].split("\n", 1)[1] if "\n" in stripped[end + 4 :] else ""
    for match in _COMMENT.finditer(stripped):
        _read_meta_lines(match.group(1).splitlines(), meta)
    return meta, _COMMENT.sub("", stripped)


def _read_meta_lines(lines: Iterable[str], meta: dict[str, str]) -> None:
    for line in lines:
        match = _META_LINE.match(line)
        if match and match.group(1).lower() in META_KEYS and match.group(2):
            meta.setdefault(match.group(1).lower(), match.group(2).strip("\"'"))


def clean_stem(path: Path) -> str:
    """The file name without suffix and without a trailing `(2017-11-04)` date."""
    return _TRAILING_DATE.sub("", path.stem).strip() or path.stem


def make_document(
    path: Path,
    blocks: Iterable[Block],
    *,
    title: str | None = None,
    meta: Mapping[str, str] | None = None,
) -> SourceDocument:
    """A SourceDocument with its title, date and kind worked out from the meta, the name and the text."""
    meta = meta or {}
    kept = tuple(block for block in blocks if block.text.strip())
    doc_title = (meta.get("title") or title or "").strip() or clean_stem(path)
    date = meta.get("date") or filename_date(path) or header_date(kept)
    kind = meta.get("kind", "").strip().lower() or infer_kind(path, doc_title, kept)
    if kind not in KINDS:
        raise LoaderError(str(path), f"未知的 kind「{kind}」，应为 {', '.join(KINDS)} / unknown kind")
    return SourceDocument(
        path=path.as_posix(),
        title=doc_title,
        kind=kind,
        date=date,
        status=meta.get("status"),
        blocks=kept,
    )


def filename_date(path: Path) -> str | None:
    match = _FILENAME_DATE.search(path.stem)
    return match.group(1) if match else None


def header_date(blocks: tuple[Block, ...], lines: int = 8) -> str | None:
    """The latest date among the lines near the top that begin with a date (通过 / 修订 / 公布 lines)."""
    found: list[str] = []
    for block in blocks[:lines]:
        if _STRUCTURE.match(block.text.strip()):
            break
        match = _CN_DATE.match(block.text) or _ISO_DATE.match(block.text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            if 1 <= month <= 12 and 1 <= day <= 31:
                found.append(f"{year:04d}-{month:02d}-{day:02d}")
    return max(found) if found else None


def infer_kind(path: Path, title: str, blocks: tuple[Block, ...] = ()) -> str:
    """law / regulation / rule / local / standard / doc from the folder, else the title, else the text."""
    for folder in (path.parent.name, path.parent.parent.name):
        if folder.lower() in FOLDER_KINDS:
            return FOLDER_KINDS[folder.lower()]
    return kind_from_title(title, "\n".join(block.text for block in blocks[:400]))


def kind_from_title(title: str, text: str = "") -> str:
    """The kind a Chinese title names: …法 law, …条例 regulation (a province's: local), …办法 rule."""
    name = _TRAILING_NOTE.sub("", title.strip()).strip()
    if _starts_with_standard_number(name) or (
        _CLAUSE_STANDARD.search(text) and _CLAUSE_STANDARD_NEXT.search(text)
    ):
        return "standard"
    rule_like = name.endswith(("办法", "规定", "规则", "细则"))
    if is_local_title(name) and (rule_like or name.endswith("条例")):
        return "local"
    if name.startswith("国务院") and name.endswith(("命令", "决定", "规定", "条例", "办法")):
        return "regulation"
    if name.endswith(("条例", "法实施细则")):
        return "regulation"
    if rule_like:
        return "rule"
    if name.endswith("法"):
        return "law"
    return "doc"


def is_local_title(title: str) -> bool:
    """True for a title that begins with a province, autonomous region or city name."""
    if title.startswith(_NATIONAL_PREFIXES):
        return False
    return title.startswith(PROVINCES) or bool(_CITY.match(title))


def _starts_with_standard_number(title: str) -> bool:
    head = title.strip()[:40]
    if not head[:1].isascii() or not head[:1].isalpha():
        return False
    return any(match.start == 0 for match in find_standard_numbers(head))
