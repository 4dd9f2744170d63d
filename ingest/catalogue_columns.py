"""The columns of catalogue and adoption-map files, and what their cells say.

Our own schema (number, title, status, approval_date, effective_date, replaced_by, replaces, …) and common
Chinese headers (标准号/标准编号/编号, 标准名称/名称, 状态, 发布日期/批准日期, 实施日期, 代替标准, 被代替标准,
分类, 属性, 备注) name the same fields; cells are read into 现行 / 即将实施 / 废止, YYYY-MM-DD dates,
canonical standard numbers and adoption entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from knowledge.catalogue import CURRENT, UPCOMING, WITHDRAWN, adoption_entry
from knowledge.standard_numbers import find_standard_numbers

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

FIELDS = {
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


def _normal(name: str) -> str:
    return name.strip().strip("\ufeff").lower()


def find_column(columns: Iterable[str], aliases: tuple[str, ...]) -> str | None:
    """The first of ``columns`` named by one of ``aliases`` (case, spaces and a BOM ignored)."""
    by_normal = {_normal(c): c for c in columns}
    return next((by_normal[a] for a in aliases if a in by_normal), None)


def looks_like_catalogue(columns: Iterable[str]) -> bool:
    """Headers or keys with a standard-number column and a title column."""
    names = list(columns)
    return find_column(names, NUMBER) is not None and find_column(names, TITLE) is not None


def looks_like_adoption_map(columns: Iterable[str]) -> bool:
    """Headers or keys with an international-number column and a national-number column."""
    names = list(columns)
    return find_column(names, ISO_NUMBER) is not None and find_column(names, GB_NUMBER) is not None


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


def normalise_adoption_type(text: str) -> str | None:
    """IDT / MOD / NEQ / EQV from the code or 等同 / 修改 / 非等效 / 等效; None when unknown."""
    upper = text.strip().upper()
    if upper in ("IDT", "MOD", "NEQ", "EQV"):
        return upper
    return next((kind for word, kind in _ADOPTION_WORDS.items() if word in text), None)


def first_number(text: str) -> str | None:
    """The canonical form of the first standard number in ``text``; None when there is none."""
    found = find_standard_numbers(text) if text else []
    return found[0].number.canonical if found else None


def adoption_entries(text: str) -> tuple[str, ...]:
    """ "ISO 9001:2015, IDT" or "等同采用 ISO 13485:2016；IEC 60601-1:2005 MOD" as adoption entries."""
    entries = []
    for match in find_standard_numbers(text):
        if match.number.is_chinese:
            continue
        following = text[match.end : match.end + 12]
        preceding = text[max(0, match.start - 6) : match.start]
        after = re.split(r"[;；\n]", following)[0].strip(" ,，()（）")
        kind = normalise_adoption_type(after) or normalise_adoption_type(preceding)
        entries.append(adoption_entry(match.number.canonical, kind))
    return tuple(dict.fromkeys(entries))


def normalise_mandatory(text: str, from_number: bool | None) -> bool | None:
    """强制性 → True, 推荐性 / 指导性 → False; otherwise what the number says (``from_number``)."""
    if "强制" in text or text.lower() in ("true", "yes", "mandatory"):
        return True
    if any(word in text for word in ("推荐", "指导")) or text.lower() in ("false", "no", "voluntary"):
        return False
    return from_number
