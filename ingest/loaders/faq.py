"""FAQ sheets (CSV or XLSX): one question / answer pair per row, with optional basis and category."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from config.errors import LoaderError
from ingest.documents import FaqPair, SourceDocument, clean_stem, decode_text, filename_date
from ingest.loaders.zip_limits import check_zip

QUESTION = ("question", "q", "问题", "问", "标准问题", "提问", "常见问题")
ANSWER = ("answer", "a", "答案", "答", "标准答案", "回答", "答复", "解答")
BASIS = ("依据", "basis", "source", "来源", "法律依据", "政策依据", "出处")
CATEGORY = ("分类", "category", "类别", "类型")
EXPECTED = "question/answer, 问题/答案, 问/答, 标准问题/标准答案"


@dataclass(frozen=True)
class FaqColumns:
    """Where each field sits in a sheet's rows."""

    question: int
    answer: int
    basis: int | None = None
    category: int | None = None


def faq_columns(header: Sequence[str]) -> FaqColumns | None:
    """The FAQ columns of a header row, or None when it has no question and answer column."""
    names = [_normal(cell) for cell in header]

    def find(aliases: tuple[str, ...]) -> int | None:
        return next((names.index(alias) for alias in aliases if alias in names), None)

    question, answer = find(QUESTION), find(ANSWER)
    if question is None or answer is None:
        return None
    return FaqColumns(question, answer, find(BASIS), find(CATEGORY))


def load_faq(path: Path) -> SourceDocument:
    """An FAQ sheet as a SourceDocument of FAQ pairs; wrong columns raise a LoaderError naming them."""
    rows = read_xlsx_rows(path) if path.suffix.lower() == ".xlsx" else read_csv_rows(path)
    return faq_document(path, rows)


def faq_document(path: Path, rows: Iterable[Sequence[str]]) -> SourceDocument:
    iterator = iter(rows)
    header = next((row for row in iterator if any(cell.strip() for cell in row)), None)
    if header is None:
        raise LoaderError(str(path), "FAQ 表是空的 / FAQ sheet is empty")
    columns = faq_columns(header)
    if columns is None:
        found = ", ".join(cell.strip() for cell in header if cell.strip())
        raise LoaderError(
            str(path),
            f"FAQ 表缺少问题/答案列：找到的列为 [{found}]，需要 {EXPECTED} / "
            f"FAQ sheet lacks question/answer columns: found [{found}], expected {EXPECTED}",
        )
    pairs = tuple(_pairs(iterator, columns))
    if not pairs:
        raise LoaderError(str(path), "FAQ 表没有问答行 / FAQ sheet has no question rows")
    return SourceDocument(
        path=path.as_posix(), title=faq_title(path), kind="faq", date=filename_date(path), faq=pairs
    )


def read_csv_rows(path: Path) -> list[list[str]]:
    try:
        text = decode_text(path.read_bytes(), path)
    except OSError as exc:
        raise LoaderError(str(path), f"无法读取文件 / cannot read file: {exc.strerror or exc}") from None
    try:  # only the delimiter is guessed: the sniffer's quoting guesses break "" escapes
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",\t;").delimiter
    except csv.Error:
        delimiter = ","
    try:
        return [list(row) for row in csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)]
    except csv.Error as exc:
        raise LoaderError(str(path), f"CSV 格式错误 / malformed CSV: {exc}") from None


def read_xlsx_rows(path: Path) -> list[list[str]]:
    """Rows of the first sheet whose header has question and answer columns (else the first sheet)."""
    from openpyxl import load_workbook

    check_zip(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        reason = (
            f"无法读取 Excel 文件（文件损坏或不是 .xlsx） / cannot read XLSX (corrupt or not .xlsx): {exc}"
        )
        raise LoaderError(str(path), reason) from None
    try:
        sheets = [
            [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
            for sheet in workbook.worksheets
        ]
    finally:
        workbook.close()
    for rows in sheets:
        header = next((row for row in rows if any(cell.strip() for cell in row)), None)
        if header is not None and faq_columns(header) is not None:
            return rows
    return sheets[0] if sheets else []


def _pairs(rows: Iterator[Sequence[str]], columns: FaqColumns) -> Iterator[FaqPair]:
    for row in rows:
        question, answer = _cell(row, columns.question), _cell(row, columns.answer)
        if question and answer:
            yield FaqPair(question, answer, _cell(row, columns.basis), _cell(row, columns.category))


def _cell(row: Sequence[str], index: int | None) -> str | None:
    if index is None or index >= len(row):
        return None
    return row[index].strip() or None


def _normal(cell: str) -> str:
    return "".join(cell.split()).lower().lstrip("\ufeff")


DEFAULT_FAQ_TITLE = "常见问题"


def faq_title(path: Path) -> str:
    """A sheet named in Chinese keeps its name; `faq.csv`-style names become 常见问题."""
    stem = clean_stem(path)
    return stem if any("\u4e00" <= ch <= "\u9fff" for ch in stem) else DEFAULT_FAQ_TITLE
