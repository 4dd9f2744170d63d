"""The standards catalogue: which editions of a standard exist, which is in force, what replaced what,
and which national standards adopt an international one.

Status as of ``today``: a record crawled as 即将实施 whose effective date has come is 现行, and an edition
whose successor (its ``replaced_by``, or a record that ``replaces`` it) is in force counts as 废止.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from config.errors import KnowledgeBaseError, StandardNumberError
from knowledge.standard_numbers import StandardNumber, parse_standard_number
from knowledge.types import CatalogueRecord

CURRENT, UPCOMING, WITHDRAWN = "现行", "即将实施", "废止"
STATUSES: tuple[str, ...] = (CURRENT, UPCOMING, WITHDRAWN)
ADOPTION_TYPES: tuple[str, ...] = ("IDT", "MOD", "NEQ", "EQV")
_ADOPTION_RE = re.compile(r"^(?P<number>.+?)(?:\s*,\s*(?P<type>[A-Za-z]{3}))?$")


def adoption_entry(international: str, adoption_type: str | None) -> str:
    """How ``CatalogueRecord.adopts`` holds one adoption: ``"ISO 13485:2016, IDT"`` (type optional)."""
    kind = (adoption_type or "").strip().upper()
    return f"{international}, {kind}" if kind in ADOPTION_TYPES else international


def split_adoption_entry(entry: str) -> tuple[str, str | None]:
    """``"ISO 13485:2016, IDT"`` → ``("ISO 13485:2016", "IDT")``; the type is None when not given."""
    match = _ADOPTION_RE.match(entry.strip())
    if match is None or (match["type"] or "").upper() not in ADOPTION_TYPES:
        return entry.strip(), None
    return match["number"], match["type"].upper()


@dataclass(frozen=True)
class CatalogueLookup:
    """What the catalogue knows about one queried number (statuses as of the catalogue's day)."""

    query: StandardNumber
    editions: tuple[CatalogueRecord, ...]  # editions matching the query (its year, if given), newest first
    current: CatalogueRecord | None  # the edition of this standard in force, if any
    adopted_by: tuple[CatalogueRecord, ...]  # national records adopting the queried international standard
    adopts: tuple[str, ...]  # adoption entries ("ISO 13485:2016, IDT") of the matching edition
    all_editions: tuple[CatalogueRecord, ...] = ()  # every edition of the standard, newest first
    successors: tuple[CatalogueRecord, ...] = ()  # the replaced_by chain from ``edition``

    @property
    def found(self) -> bool:
        return bool(self.editions or self.adopted_by)

    @property
    def edition(self) -> CatalogueRecord | None:
        """The edition an answer is about: the year asked for, else the one in force, else the newest."""
        if self.query.year is not None:
            return self.editions[0] if self.editions else None
        return self.current or (self.editions[0] if self.editions else None)


def _year_order(record: CatalogueRecord, number: StandardNumber) -> tuple[int, str, str]:
    year = int(number.year[:4]) if number.year and number.year[:4].isdigit() else -1
    if number.year and len(number.year) == 2:
        year = int(number.year) + (1900 if int(number.year) >= 50 else 2000)
    return year, record.effective_date or "", record.approval_date or ""


def _loose_key(number: StandardNumber) -> str:
    """Key without leading zeros in the first segment, so ``YY 505`` finds ``YY 0505``."""
    head, sep, tail = _split(number)
    return f"{number.prefix} {head.lstrip('0') or '0'}{sep}{tail}"


def _split(number: StandardNumber) -> list[str]:
    parts = re.split(r"([.-])", number.number, maxsplit=1)
    return parts if len(parts) == 3 else [parts[0], "", ""]


def _merge(first: CatalogueRecord, other: CatalogueRecord) -> CatalogueRecord:
    """``first`` with its empty fields filled from ``other`` (the same edition from another source)."""
    filled = {
        name: getattr(other, name)
        for name in (
            "approval_date",
            "effective_date",
            "replaced_by",
            "replaces",
            "category",
            "mandatory",
            "note",
        )
        if getattr(first, name) is None
    }
    adopts = tuple(dict.fromkeys((*first.adopts, *other.adopts)))
    return replace(first, adopts=adopts, **filled)


def _as_of(records: list[CatalogueRecord], day: date) -> dict[str, CatalogueRecord]:
    """Records with their status on ``day`` and replaced_by filled from the successors' ``replaces``."""
    today = day.isoformat()
    effective: dict[str, CatalogueRecord] = {}
    for record in records:
        status = record.status
        if status == UPCOMING and record.effective_date and record.effective_date <= today:
            status = CURRENT
        effective[record.number] = replace(record, status=status) if status != record.status else record
    for record in list(effective.values()):
        older = effective.get(record.replaces or "")
        if older is not None and not older.replaced_by:
            effective[older.number] = replace(older, replaced_by=record.number)
    for number, record in list(effective.items()):
        successor = effective.get(record.replaced_by or "")
        if record.status == CURRENT and successor is not None and successor.status == CURRENT:
            effective[number] = replace(record, status=WITHDRAWN)
    return effective


def _successors(
    record: CatalogueRecord, effective: dict[str, CatalogueRecord]
) -> tuple[CatalogueRecord, ...]:
    """The records along ``replaced_by`` from ``record`` (stopping at a gap or a loop)."""
    chain: list[CatalogueRecord] = []
    seen = {record.number}
    while record.replaced_by and record.replaced_by not in seen and record.replaced_by in effective:
        record = effective[record.replaced_by]
        seen.add(record.number)
        chain.append(record)
    return tuple(chain)


@dataclass(frozen=True)
class _Index:
    """The records as of one day, indexed; replaced whole when the day changes."""

    today: date
    effective: dict[str, CatalogueRecord]
    by_key: dict[str, list[CatalogueRecord]]
    by_loose: dict[str, set[str]]
    adopted_by: dict[str, list[CatalogueRecord]]


class Catalogue:
    """In-memory catalogue over catalogue records, keyed by standard number.

    With ``today`` given, statuses are as of that day; without, as of the current day (re-evaluated
    when the date changes, so a long-running worker sees an upcoming standard come into force).
    """

    def __init__(self, records: Iterable[CatalogueRecord], *, today: date | None = None) -> None:
        self._fixed_today = today
        merged: dict[str, CatalogueRecord] = {}
        for record in records:
            known = merged.get(record.number)
            merged[record.number] = record if known is None else _merge(known, record)
        self._records = list(merged.values())
        self._numbers: dict[str, StandardNumber] = {}
        for record in self._records:
            try:
                self._numbers[record.number] = parse_standard_number(record.number)
            except StandardNumberError as exc:
                raise KnowledgeBaseError(
                    f"标准目录中有无法识别的编号 / catalogue holds an unrecognised number: {record.number!r}"
                ) from exc
        self._index = self._build(today or date.today())

    @property
    def today(self) -> date:
        """The day statuses are reported for."""
        return self._current_index().today

    def _current_index(self) -> _Index:
        index = self._index
        if self._fixed_today is None and index.today != date.today():
            index = self._index = self._build(date.today())
        return index

    def _build(self, today: date) -> _Index:
        effective = _as_of(self._records, today)
        by_key: dict[str, list[CatalogueRecord]] = {}
        by_loose: dict[str, set[str]] = {}
        adopted_by: dict[str, list[CatalogueRecord]] = {}
        for record in effective.values():
            number = self._numbers[record.number]
            by_key.setdefault(number.key, []).append(record)
            by_loose.setdefault(_loose_key(number), set()).add(number.key)
            for entry in record.adopts:
                try:
                    key = parse_standard_number(split_adoption_entry(entry)[0]).key
                except StandardNumberError:
                    continue
                adopted_by.setdefault(key, []).append(record)
        for editions in by_key.values():
            editions.sort(key=self._order, reverse=True)
        for adopters in adopted_by.values():
            adopters.sort(key=lambda r: (r.status != CURRENT, r.number))
        return _Index(today, effective, by_key, by_loose, adopted_by)

    def _order(self, record: CatalogueRecord) -> tuple[int, str, str]:
        return _year_order(record, self._numbers[record.number])

    def lookup(self, number: StandardNumber | str) -> CatalogueLookup:
        """What the catalogue holds on ``number``; a str that is no number raises StandardNumberError."""
        query = parse_standard_number(number) if isinstance(number, str) else number
        index = self._current_index()
        all_editions = self._editions_of(query, index)
        if query.year is None:
            editions = all_editions
        else:
            editions = tuple(r for r in all_editions if self._numbers[r.number].year == query.year)
        current = next((r for r in all_editions if r.status == CURRENT), None)
        adopted_by = () if query.is_chinese else tuple(index.adopted_by.get(query.key, ()))
        lookup = CatalogueLookup(query, editions, current, adopted_by, (), all_editions)
        edition = lookup.edition
        if edition is None:
            return lookup
        return replace(lookup, adopts=edition.adopts, successors=_successors(edition, index.effective))

    def _editions_of(self, query: StandardNumber, index: _Index) -> tuple[CatalogueRecord, ...]:
        keys = [query.key] if query.key in index.by_key else sorted(index.by_loose.get(_loose_key(query), ()))
        if not keys and query.is_chinese:  # "GB 19001" asked, "GB/T 19001" held (or the other way round)
            code = query.prefix.removesuffix("/T").removesuffix("/Z")
            for prefix in (code, f"{code}/T", f"{code}/Z"):
                variant = StandardNumber(prefix, query.number, None)
                keys.extend(sorted(index.by_loose.get(_loose_key(variant), ())))
        records = [r for key in dict.fromkeys(keys) for r in index.by_key[key]]
        records.sort(key=self._order, reverse=True)
        return tuple(records)

    def __len__(self) -> int:
        return len(self._records)

    def records(self) -> Iterator[CatalogueRecord]:
        """The records as given (merged by number); lookups report statuses as of today."""
        return iter(self._records)

    def save(self, path: Path) -> None:
        """Write the records as JSON lines, atomically (a temporary file, then a rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        with temporary.open("w", encoding="utf-8") as out:
            for record in self._records:
                out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path, *, today: date | None = None) -> Catalogue:
        """The catalogue saved at ``path``; KnowledgeBaseError when it is missing or damaged."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise KnowledgeBaseError(f"无法读取标准目录 / cannot read catalogue {path}: {exc}") from None
        records = []
        for index, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(CatalogueRecord.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise KnowledgeBaseError(
                    f"标准目录第{index}行损坏 / catalogue {path} line {index} is damaged: {exc}"
                ) from None
        return cls(records, today=today)
