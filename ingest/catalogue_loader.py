"""Standards catalogues and ISO↔GB adoption maps from JSON, CSV or XLSX files.

Columns are found by the aliases in ingest/catalogue_columns.py. 代替标准 names the older standards a row
replaces; 被代替标准 the newer one that replaced it. A row that cannot be read is skipped and reported; the
rest of the file still loads. Adoptions only annotate records the catalogue holds: a national number named
in a map but absent from the catalogue gets no invented record, since its status would be a guess.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from config.errors import LoaderError, StandardNumberError
from ingest.catalogue_columns import (
    ADOPTION_TYPE,
    CATEGORY,
    FIELDS,
    GB_NUMBER,
    ISO_NUMBER,
    NOTE,
    TITLE_EN,
    adoption_entries,
    find_column,
    first_number,
    looks_like_adoption_map,
    looks_like_catalogue,
    normalise_adoption_type,
    normalise_date,
    normalise_mandatory,
    normalise_status,
)
from ingest.documents import read_text
from ingest.loaders.faq import read_xlsx_rows
from knowledge.catalogue import adoption_entry, split_adoption_entry
from knowledge.standard_numbers import parse_standard_number
from knowledge.types import CatalogueRecord


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
    col = {name: find_column(columns, aliases) for name, aliases in FIELDS.items()}
    categories = [c for c in (find_column(columns, (alias,)) for alias in CATEGORY) if c is not None]
    notes = [c for c in (find_column(columns, (alias,)) for alias in NOTE) if c is not None]
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
                replaced_by=first_number(get(row, "replaced_by")),
                replaces=first_number(get(row, "replaces")),
                adopts=adoption_entries(get(row, "adopts")),
                category=" / ".join(dict.fromkeys(v for c in categories if (v := row.get(c, "").strip())))
                or None,
                mandatory=normalise_mandatory(get(row, "mandatory"), number.is_mandatory),
                note="；".join(dict.fromkeys(v for v in extra if v)) or None,
                source=title,
            )
        )
    return records, problems


def _adoptions(rows: Rows, columns: list[str], unit: str) -> tuple[list[Adoption], list[str]]:
    iso, gb = find_column(columns, ISO_NUMBER), find_column(columns, GB_NUMBER)
    kind, title_en = find_column(columns, ADOPTION_TYPE), find_column(columns, TITLE_EN)
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
        adoption_type = normalise_adoption_type(row.get(kind or "", ""))
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
