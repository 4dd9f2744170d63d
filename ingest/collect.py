"""Walk files and folders, load and split every source, and report on each file: a file that cannot be
read is reported with its reason and skipped, and the rest still loads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.errors import LoaderError, StdbotError
from ingest.catalogue_chunks import catalogue_chunks
from ingest.catalogue_columns import looks_like_adoption_map, looks_like_catalogue
from ingest.catalogue_loader import load_catalogue_file, merge_adoptions
from ingest.documents import SourceDocument, read_text
from ingest.loaders import DOCUMENT_SUFFIXES, load_document
from ingest.loaders.faq import EXPECTED, faq_columns, faq_document, read_csv_rows, read_xlsx_rows
from ingest.splitter import DEFAULT_CHUNK_CHARS, split_document
from knowledge.types import CatalogueRecord, Chunk

SUFFIXES = DOCUMENT_SUFFIXES | {".json"}
CONVERT_FIRST = {".doc": ".docx", ".wps": ".docx", ".xls": ".xlsx", ".et": ".xlsx", ".rtf": ".docx"}
METADATA_STEMS = ("readme", "sources", "license", "licence", "changelog", "notice", "meta")
SKIPPED = "skipped"


@dataclass(frozen=True)
class FileReport:
    """What became of one file: its kind, how many chunks and catalogue records it gave, or why not."""

    path: str
    kind: str
    chunks: int
    records: int
    error: str | None
    skipped: str | None = None


@dataclass(frozen=True)
class Collected:
    """Everything read from the given paths, ready to be indexed."""

    chunks: tuple[Chunk, ...]
    records: tuple[CatalogueRecord, ...]
    files: tuple[FileReport, ...]
    problems: tuple[str, ...]

    @property
    def failed(self) -> tuple[FileReport, ...]:
        return tuple(report for report in self.files if report.error is not None)

    @property
    def loaded(self) -> tuple[FileReport, ...]:
        """Files that gave chunks or records (neither failed nor skipped)."""
        return tuple(r for r in self.files if r.error is None and r.skipped is None)


@dataclass
class _Catalogue:
    path: Path
    records: list[CatalogueRecord] = field(default_factory=list)


def collect(
    paths: Sequence[Path],
    *,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    on_file: Callable[[FileReport], None] | None = None,
) -> Collected:
    """Load and split every source under `paths` (sorted, so the same input gives the same chunks)."""
    chunks: list[Chunk] = []
    reports: dict[str, FileReport] = {}
    problems: list[str] = []
    catalogues: list[_Catalogue] = []
    adoptions: list[Any] = []

    def report(entry: FileReport) -> None:
        reports[entry.path] = entry
        if on_file is not None:
            on_file(entry)

    for path, explicit in walk(paths):
        name = path.as_posix()
        skip = _skip_reason(path, explicit)
        if skip is not None:
            report(FileReport(name, SKIPPED, 0, 0, None, skip))
            continue
        try:
            loaded = _load(path)
        except LoaderError as exc:
            report(FileReport(name, _guess_kind(path), 0, 0, exc.reason))
            continue
        except Exception as exc:  # one unreadable file must not stop the others
            reason = f"无法读取文件 / cannot read file: {type(exc).__name__}: {exc}"
            report(FileReport(name, _guess_kind(path), 0, 0, reason))
            continue
        if isinstance(loaded, str):
            report(FileReport(name, SKIPPED, 0, 0, None, loaded))
        elif isinstance(loaded, SourceDocument):
            try:
                pieces = split_document(loaded, chunk_chars)
            except StdbotError as exc:
                report(FileReport(name, loaded.kind, 0, 0, str(exc)))
                continue
            chunks.extend(pieces)
            empty = None if pieces else "没有可索引的正文 / no text to index"
            report(FileReport(name, loaded.kind, len(pieces), 0, None, empty))
        else:
            catalogue, file_adoptions, file_problems = loaded
            catalogues.append(catalogue)
            adoptions.extend(file_adoptions)
            problems.extend(file_problems)
            reports[name] = FileReport(name, "catalog", 0, len(catalogue.records), None)

    records: list[CatalogueRecord] = []
    for catalogue in catalogues:
        merged = merge_adoptions(catalogue.records, adoptions) if catalogue.records else []
        records.extend(merged)
        pieces = catalogue_chunks(merged, catalogue.path) if merged else []
        chunks.extend(pieces)
        report(FileReport(catalogue.path.as_posix(), "catalog", len(pieces), len(merged), None))
    return Collected(_unique(chunks, problems), tuple(records), tuple(reports.values()), tuple(problems))


def walk(paths: Sequence[Path]) -> Iterator[tuple[Path, bool]]:
    """Every file under the given paths once, in sorted order; True for files named directly."""
    seen: set[Path] = set()
    for given in paths:
        given = Path(given)
        if given.is_dir():
            candidates = [(p, False) for p in sorted(given.rglob("*")) if not _hidden(p.relative_to(given))]
        else:
            candidates = [(given, True)]
        for path, explicit in candidates:
            if path.is_dir():
                continue
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                yield path, explicit


def _load(path: Path) -> SourceDocument | str | tuple[_Catalogue, list[Any], list[str]]:
    """A document, a catalogue (with adoptions and row problems), or the reason the file is skipped."""
    if not path.exists():
        raise LoaderError(str(path), "文件不存在 / file not found")
    suffix = path.suffix.lower()
    if suffix in CONVERT_FIRST:
        target = CONVERT_FIRST[suffix]
        raise LoaderError(
            str(path), f"不支持旧格式 {suffix}，请另存为 {target} / convert {suffix} to {target}"
        )
    if suffix == ".json":
        return _load_json(path)
    if suffix in (".csv", ".xlsx"):
        rows = read_xlsx_rows(path) if suffix == ".xlsx" else read_csv_rows(path)
        header = next((row for row in rows if any(cell.strip() for cell in row)), [])
        columns = [cell.strip() for cell in header if cell.strip()]
        if faq_columns(header) is not None or not columns:
            return faq_document(path, rows)
        if looks_like_catalogue(columns) or (suffix == ".csv" and looks_like_adoption_map(columns)):
            return _load_catalogue(path)
        found = ", ".join(columns)
        raise LoaderError(
            str(path),
            f"既不是 FAQ 表也不是标准目录：找到的列为 [{found}]；FAQ 需要 {EXPECTED}，"
            f"标准目录需要 编号/标准号 与 名称/标准名称 / neither an FAQ sheet nor a catalogue: "
            f"found [{found}]; an FAQ needs {EXPECTED}, a catalogue needs number and title columns",
        )
    if suffix not in DOCUMENT_SUFFIXES:
        raise LoaderError(str(path), f"不支持的文件类型 / unsupported file type: {suffix or path.name}")
    return load_document(path)


def _load_json(path: Path) -> str | tuple[_Catalogue, list[Any], list[str]]:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise LoaderError(str(path), f"JSON 格式错误 / malformed JSON: {exc}") from None
    columns = json_columns(data)
    if columns and (looks_like_catalogue(columns) or looks_like_adoption_map(columns)):
        return _load_catalogue(path)
    return (
        "未知的 JSON 结构（不是标准目录或采标对照表） / unknown JSON shape (not a catalogue or adoption map)"
    )


def _load_catalogue(path: Path) -> tuple[_Catalogue, list[Any], list[str]]:
    loaded = load_catalogue_file(path)
    catalogue = _Catalogue(path, list(loaded.records))
    return catalogue, list(loaded.adoptions), [str(problem) for problem in loaded.problems]


def json_columns(data: Any) -> list[str]:
    """The field names of a JSON list of objects (or of the one list inside an object)."""
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if len(lists) == 1 else None
    if not isinstance(data, list):
        return []
    objects = [item for item in data[:50] if isinstance(item, dict)]
    if not objects or len(objects) < min(len(data), 50) // 2:
        return []
    return list(dict.fromkeys(str(key) for item in objects for key in item))


def _skip_reason(path: Path, explicit: bool) -> str | None:
    """Why a file found while walking a folder is not a source; files named directly are always read."""
    if explicit:
        return None
    suffix = path.suffix.lower()
    if path.name.startswith("~$"):
        return "Office 临时文件 / Office lock file"
    if path.stem.lower() in METADATA_STEMS and suffix in (".md", ".markdown", ".txt", ".json", ""):
        return "说明或元数据文件 / metadata file"
    if suffix not in SUFFIXES and suffix not in CONVERT_FIRST:
        return f"不支持的文件类型 / unsupported file type: {suffix or path.name}"
    return None


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in relative.parts)


def _guess_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    return "catalog" if suffix == ".json" else "faq" if suffix in (".csv", ".xlsx") else "doc"


def _unique(chunks: list[Chunk], problems: list[str]) -> tuple[Chunk, ...]:
    """Chunks with distinct ids; a repeated id (the same record twice) is kept once and reported."""
    seen: dict[str, Chunk] = {}
    for chunk in chunks:
        if chunk.id in seen:
            problems.append(f"重复的片段已跳过 / duplicate chunk skipped: {chunk.path} {chunk.id}")
            continue
        seen[chunk.id] = chunk
    return tuple(seen.values())
