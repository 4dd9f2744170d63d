"""Standards catalogues and ISO↔GB adoption maps from JSON, CSV or XLSX, and one retrievable chunk per record.

Reads our own schema (number, title, status, approval_date, effective_date, replaced_by, replaces, …) and
common Chinese headers (标准号/标准编号/编号, 标准名称/名称, 状态, 发布日期/批准日期, 实施日期, 代替标准,
被代替标准, 分类, 属性, 备注). 代替标准 names the older standards a row replaces; 被代替标准 the newer one
that replaced it. A row that cannot be read is skipped and reported; the rest of the file still loads.
Adoptions only annotate records the catalogue holds: a national number named in a map but absent from the
catalogue gets no invented record, since its status would be a guess.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from string import Template

import prompts
from ingest.documents import read_text
from ingest.loaders.faq import read_xlsx_rows
from knowledge.catalogue import (
    CURRENT,
    UPCOMING,
    WITHDRAWN,
    adoption_entry,
    catalogue_labels,
    split_adoption_entry,
)
from knowledge.errors import LoaderError, StandardNumberError
from knowledge.standard_numbers import find_standard_numbers, parse_standard_number
from knowledge.types import CatalogueRecord, Chunk

NUMBER = ("number", "standard_number", "std_no", "标准号", "标准编号", "编号", "标准代号")
TITLE = ("title", "title_zh", "name", "标准名称", "名称", "中文名称", "标准中文名称", "中文标题")
STATUS = ("status_zh", "status", "状态", "标准状态")
APPROVAL = ("approval_date", "publish_date", "发布日期", "批准日期", "发布时间")
EFFECTIVE = ("effective_date", "implementation_date", "实施日期", "实施时间")
REPLACED_BY = ("replaced_by", "superseded_by", "被代替标准", "被替代标准", "被代替", "被替代", "代替为")
REPLACES = ("replaces", "supersedes", "代替标准", "替代标准", "代替", "替代")
CATEGORY = ("dir_name", "l1", "l2", "category", "分类", "类别", "标准分类", "领域")
MANDATORY = ("属性", "标准属性", "标准性质", "性质", "mandatory")
NOTE = ("note", "notes", "备注", "说明", "revision_kind")
ADOPTS = ("adopts", "采标情况", "采用国际标准", "国际标准")
ISO_NUMBER = ("iso_number", "international", "international_number", "国际标准号", "国际标准编号")
GB_NUMBER = ("gb_number", "national", "national_number", "国家标准号", "国家标准编号", "国内标准号")
ADOPTION_TYPE = ("adoption_type", "采用程度", "一致性程度", "采标程度")
TITLE_EN = ("title_en", "英文名称", "英文标题")

_STATUS_WORDS = (
    (
        WITHDRAWN,
        ("废止", "作废", "代替", "替代", "无效", "失效", "withdrawn", "superseded", "obsolete", "repealed"),
    ),
    (WITHDRAWN, ("abolished", "inactive", "invalid", "expired")),
    (UPCOMING, ("即将实施", "尚未实施", "待实施", "upcoming", "forthcoming")),
    (CURRENT, ("现行", "有效", "active", "current", "in force", "valid")),
)
_ADOPTION_WORDS = {"等同": "IDT", "修改": "MOD", "非等效": "NEQ", "等效": "EQV"}
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T\s].*)?")


@dataclass(frozen=True)
class Adoption:
    """One line of an adoption map: a national standard adopting an international one."""

    international: str
    national: str
    adoption_type: str | None
    title_en: str | None


@dataclass(frozen=True)
class CatalogueFile:
    """What one catalogue or adoption-map file gave, and one message per row that was skipped."""

    records: tuple[CatalogueRecord, ...]
    adoptions: tuple[Adoption, ...]
    problems: tuple[str, ...]


def _normal(name: str) -> str:
    return name.strip().strip("\ufeff").lower()


def _column(columns: Iterable[str], aliases: tuple[str, ...]) -> str | None:
    by_normal = {_normal(c): c for c in columns}
    return next((by_normal[a] for a in aliases if a in by_normal), None)


def looks_like_catalogue(columns: Iterable[str]) -> bool:
    """Headers or keys with a standard-number column and a title column."""
    names = list(columns)
    return _column(names, NUMBER) is not None and _column(names, TITLE) is not None


def looks_like_adoption_map(columns: Iterable[str]) -> bool:
    """Headers or keys with an international-number column and a national-number column."""
    names = list(columns)
    return _column(names, ISO_NUMBER) is not None and _column(names, GB_NUMBER) is not None


def normalise_status(text: str) -> str | None:
    """现行 / 即将实施 / 废止 for the many ways catalogues write them; None when unknown."""
    lowered = text.strip().lower()
    if not lowered:
        return None
    return next((status for status, words in _STATUS_WORDS if any(w in lowered for w in words)), None)


def normalise_date(text: str) -> str | None:
    """YYYY-MM-DD from 2022-10-14, 2022/10/14, 2022.10.14, 2022年10月14日 or 20221014; else None."""
    text = text.strip()
    match = _DATE_RE.fullmatch(text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


def _adoption_type(text: str) -> str | None:
    upper = text.strip().upper()
    if upper in ("IDT", "MOD", "NEQ", "EQV"):
        return upper
    return next((kind for word, kind in _ADOPTION_WORDS.items() if word in text), None)


Rows = list[tuple[int, dict[str, str]]]  # (row number as people count it, cells by column name)


def _rows(path: Path) -> tuple[Rows, str, str]:
    """Numbered rows of text, the word for a row in messages ("行 / row"), and the catalogue's title."""
    suffix = path.suffix.lower()
    text = read_text(path) if suffix != ".xlsx" else ""
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LoaderError(str(path), f"JSON 格式错误 / malformed JSON: {exc}") from None
        title = data.get("title") if isinstance(data, dict) else None
        if isinstance(data, dict):
            lists = [value for value in data.values() if isinstance(value, list)]
            data = lists[0] if len(lists) == 1 else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise LoaderError(str(path), "JSON 应为对象列表 / JSON must be a list of objects")
        items = [{str(k): _cell(v) for k, v in item.items()} for item in data]
        return list(enumerate(items, start=1)), "条 / item", title if isinstance(title, str) else _title(path)
    if suffix in (".csv", ".xlsx"):
        table = _csv_table(text) if suffix == ".csv" else list(enumerate(read_xlsx_rows(path), start=1))
        table = [(line, row) for line, row in table if any(str(cell).strip() for cell in row)]
        if not table:
            return [], "行 / row", _title(path)
        header = [str(cell).strip().strip("\ufeff") for cell in table[0][1]]
        padded = [(line, [*map(str, row), *[""] * len(header)]) for line, row in table[1:]]
        rows = [(line, dict(zip(header, cells, strict=False))) for line, cells in padded]
        return rows, "行 / row", _title(path)
    raise LoaderError(
        str(path), f"标准目录只支持 JSON、CSV 或 XLSX / a catalogue must be JSON, CSV or XLSX: {path.name}"
    )


def _csv_table(text: str) -> list[tuple[int, list[str]]]:
    """CSV rows (comma, tab or semicolon separated) with the line each ends on."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    return [(reader.line_num, row) for row in reader]


def _cell(value: object) -> str:
    """A JSON value as cell text; lists (several replaced or adopted numbers) joined with "；"."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "；".join(_cell(item) for item in value)
    return str(value)


def _title(path: Path) -> str:
    """The first heading of a README beside the file (without its English half), else the file stem."""
    for name in ("README.md", "readme.md"):
        readme = path.with_name(name)
        if readme.is_file():
            for line in readme.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("# "):
                    return line[2:].split(" / ")[0].strip()
    return path.stem


def load_catalogue_file(path: Path) -> CatalogueFile:
    """A catalogue or adoption map; LoaderError(path, reason) when the file as a whole is unusable."""
    rows, unit, title = _rows(path)
    if not rows:
        raise LoaderError(str(path), "文件中没有数据行 / the file has no rows")
    columns = list(dict.fromkeys(key for _, row in rows for key in row))
    if looks_like_adoption_map(columns):
        adoptions, problems = _adoptions(rows, columns, unit)
        if not adoptions:
            raise LoaderError(
                str(path), "没有可用的采标对照行 / no usable adoption rows: " + "; ".join(problems[:3])
            )
        return CatalogueFile((), tuple(adoptions), tuple(problems))
    if not looks_like_catalogue(columns):
        raise LoaderError(
            str(path),
            "不是标准目录：需要 编号/标准号 与 名称/标准名称 列 / "
            f"not a catalogue: needs number and title columns (found: {', '.join(columns[:12])})",
        )
    records, problems = _records(rows, columns, unit, title)
    if not records:
        raise LoaderError(
            str(path), "没有可用的目录行 / no usable catalogue rows: " + "; ".join(problems[:3])
        )
    return CatalogueFile(tuple(records), (), tuple(problems))


def _where(number: int, unit: str) -> tuple[str, str]:
    """ "第12行" and "row 12" for CSV (the header is row 1), "第3条" and "item 3" for JSON."""
    chinese, english = unit.split(" / ")
    return f"第{number}{chinese}", f"{english} {number}"


def _records(
    rows: Rows, columns: list[str], unit: str, title: str
) -> tuple[list[CatalogueRecord], list[str]]:
    col = {name: _column(columns, aliases) for name, aliases in _FIELDS.items()}
    categories = [c for c in (_column(columns, (alias,)) for alias in CATEGORY) if c is not None]
    notes = [c for c in (_column(columns, (alias,)) for alias in NOTE) if c is not None]
    records: list[CatalogueRecord] = []
    problems: list[str] = []
    seen: set[str] = set()

    def get(row: dict[str, str], name: str) -> str:
        column = col[name]
        return row.get(column, "").strip() if column is not None else ""

    for line, row in rows:
        zh, en = _where(line, unit)
        raw = get(row, "number")
        try:
            number = parse_standard_number(raw)
        except StandardNumberError:
            problems.append(f"{zh}：标准编号无法识别 / {en}: unrecognised standard number {raw!r}")
            continue
        status = normalise_status(get(row, "status"))
        if status is None:
            problems.append(
                f"{zh}：状态缺失或无法识别 / {en}: missing or unknown status {get(row, 'status')!r}"
            )
            continue
        if not get(row, "title"):
            problems.append(f"{zh}：缺少标准名称 / {en}: missing title for {number.canonical}")
            continue
        if number.canonical in seen:
            problems.append(f"{zh}：编号重复，已跳过 / {en}: duplicate number {number.canonical} skipped")
            continue
        seen.add(number.canonical)
        extra: list[str] = [row.get(c, "").strip() for c in notes]
        dates = {}
        for name, label in (("approval_date", "发布日期"), ("effective_date", "实施日期")):
            value = get(row, name)
            dates[name] = normalise_date(value)
            if value and dates[name] is None:
                extra.append(f"{label}：{value}")
        records.append(
            CatalogueRecord(
                number=number.canonical,
                title=get(row, "title"),
                status=status,
                approval_date=dates["approval_date"],
                effective_date=dates["effective_date"],
                replaced_by=_first_number(get(row, "replaced_by")),
                replaces=_first_number(get(row, "replaces")),
                adopts=_adoption_entries(get(row, "adopts")),
                category=" / ".join(dict.fromkeys(v for c in categories if (v := row.get(c, "").strip())))
                or None,
                mandatory=_mandatory(get(row, "mandatory"), number.is_mandatory),
                note="；".join(dict.fromkeys(v for v in extra if v)) or None,
                source=title,
            )
        )
    return records, problems


_FIELDS = {
    "number": NUMBER,
    "title": TITLE,
    "status": STATUS,
    "approval_date": APPROVAL,
    "effective_date": EFFECTIVE,
    "replaced_by": REPLACED_BY,
    "replaces": REPLACES,
    "mandatory": MANDATORY,
    "adopts": ADOPTS,
}


def _first_number(text: str) -> str | None:
    found = find_standard_numbers(text) if text else []
    return found[0].number.canonical if found else None


def _adoption_entries(text: str) -> tuple[str, ...]:
    """ "ISO 9001:2015, IDT" or "等同采用 ISO 13485:2016；IEC 60601-1:2005 MOD" as adoption entries."""
    entries = []
    for match in find_standard_numbers(text):
        if match.number.is_chinese:
            continue
        following = text[match.end : match.end + 12]
        preceding = text[max(0, match.start - 6) : match.start]
        after = re.split(r"[;；\n]", following)[0].strip(" ,，()（）")
        kind = _adoption_type(after) or _adoption_type(preceding)
        entries.append(adoption_entry(match.number.canonical, kind))
    return tuple(dict.fromkeys(entries))


def _mandatory(text: str, from_number: bool | None) -> bool | None:
    if "强制" in text or text.lower() in ("true", "yes", "mandatory"):
        return True
    if any(word in text for word in ("推荐", "指导")) or text.lower() in ("false", "no", "voluntary"):
        return False
    return from_number


def _adoptions(rows: Rows, columns: list[str], unit: str) -> tuple[list[Adoption], list[str]]:
    iso, gb = _column(columns, ISO_NUMBER), _column(columns, GB_NUMBER)
    kind, title_en = _column(columns, ADOPTION_TYPE), _column(columns, TITLE_EN)
    adoptions: list[Adoption] = []
    problems: list[str] = []
    for line, row in rows:
        zh, en = _where(line, unit)
        raw_iso, raw_gb = row.get(iso or "", "").strip(), row.get(gb or "", "").strip()
        if not raw_gb or raw_gb.lower() == "none":
            problems.append(
                f"{zh}：{raw_iso} 没有对应的国内标准，已跳过 / {en}: no national standard for {raw_iso}"
            )
            continue
        try:
            international, national = parse_standard_number(raw_iso), parse_standard_number(raw_gb)
        except StandardNumberError:
            problems.append(
                f"{zh}：标准编号无法识别 / {en}: unrecognised standard number {raw_iso!r} or {raw_gb!r}"
            )
            continue
        english = row.get(title_en or "", "").strip() or None
        adoption_type = _adoption_type(row.get(kind or "", ""))
        adoptions.append(Adoption(international.canonical, national.canonical, adoption_type, english))
    return adoptions, problems


def merge_adoptions(
    records: Iterable[CatalogueRecord], adoptions: Iterable[Adoption]
) -> list[CatalogueRecord]:
    """Records with ``adopts`` set from the maps; maps naming numbers the catalogue lacks add nothing."""
    by_national: dict[str, list[str]] = {}
    for adoption in adoptions:
        entry = adoption_entry(adoption.international, adoption.adoption_type)
        by_national.setdefault(adoption.national, []).append(entry)
    merged = []
    for record in records:
        entries = by_national.get(record.number, [])
        if entries:
            known = {split_adoption_entry(e)[0] for e in record.adopts}
            new = [e for e in entries if split_adoption_entry(e)[0] not in known]
            record = replace(record, adopts=tuple(dict.fromkeys((*record.adopts, *new))))
        merged.append(record)
    return merged


def catalogue_chunks(records: Iterable[CatalogueRecord], path: str | Path) -> list[Chunk]:
    """One retrievable chunk per record; ids depend only on the file's stem and the number."""
    path = Path(path)
    chunks = []
    for record in records:
        text = _chunk_text(record)
        digest = hashlib.sha1(f"{path.stem}\n{record.number}".encode()).hexdigest()[:16]
        chunks.append(
            Chunk(
                id=f"cat:{digest}",
                text=text,
                source=record.source or path.stem,
                kind="catalog",
                path=path.as_posix(),
                clauses=(),
                standards=_standards(record),
                standard=record.number,
                date=record.effective_date,
                status=record.status,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
            )
        )
    return chunks


def _standards(record: CatalogueRecord) -> tuple[str, ...]:
    """The record's own number and the international numbers it adopts (without adoption types)."""
    return tuple(dict.fromkeys((record.number, *(split_adoption_entry(e)[0] for e in record.adopts))))


def _chunk_text(record: CatalogueRecord) -> str:
    labels = catalogue_labels()
    kind = {True: labels["mandatory"], False: labels["recommended"], None: ""}[record.mandatory]
    if record.number.startswith("T/"):
        kind = labels["group"]
    elif "/Z " in record.number:
        kind = labels["guidance"]
    text = prompts.render(
        "catalogue_chunk",
        number=record.number,
        title=record.title,
        kind=f"（{kind}）" if kind else "",
        status=record.status,
        approval_date=record.approval_date or labels["unknown_date"],
        effective_date=record.effective_date or labels["unknown_date"],
    )
    pieces = [text]
    if record.replaces:
        pieces.append(Template(labels["chunk_replaces"]).substitute(number=record.replaces))
    if record.replaced_by:
        pieces.append(Template(labels["chunk_replaced_by"]).substitute(number=record.replaced_by))
    for entry in record.adopts:
        international, adoption_type = split_adoption_entry(entry)
        verb = labels.get(f"adoption_{(adoption_type or '').lower()}", labels["adoption_unknown"])
        pieces.append(Template(labels["chunk_adopts"]).substitute(adoption=verb, international=international))
    if record.category:
        pieces.append(Template(labels["chunk_category"]).substitute(category=record.category))
    if record.note:
        pieces.append(Template(labels["note"]).substitute(note=record.note.rstrip("。")))
    return "".join(pieces)
