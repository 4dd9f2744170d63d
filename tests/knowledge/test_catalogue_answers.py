"""Catalogue answers over the sample catalogue: ISO → GB with the standard in force first, the public
platform for a number's kind, and edition follow-ups ("那2008版呢", "旧版呢")."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from ingest.catalogue_loader import load_catalogue_file
from knowledge.catalogue import Catalogue
from knowledge.catalogue_answer import describe_lookup, not_found_text, platform_kind
from knowledge.edition_followup import resolve_edition
from knowledge.standard_numbers import parse_standard_number

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "catalogue.csv"
DOUBLED_PUNCTUATION = re.compile(r"[。；，,;][。；，,;]")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(load_catalogue_file(SAMPLE).records, today=date(2026, 6, 1))


@pytest.mark.parametrize("asked", ["ISO 9001:2015", "ISO 9001", "ISO 14001", "ISO 14001:2015"])
def test_iso_lists_the_national_standard_in_force_first_and_withdrawn_ones_briefly(
    catalogue: Catalogue, asked: str
) -> None:
    text = describe_lookup(catalogue.lookup(asked))
    first, *rest = text.splitlines()
    assert "现行" in first and "废止" not in first
    assert rest and all("已废止" in line for line in rest)
    assert not DOUBLED_PUNCTUATION.search(text)


def test_iso_edition_only_a_withdrawn_standard_adopted_names_it_then_the_current_one(
    catalogue: Catalogue,
) -> None:
    text = describe_lookup(catalogue.lookup("ISO 9001:2008"))
    first, second = text.splitlines()
    assert "GB/T 19001-2008" in first and "已废止" in first and "GB/T 19001-2016 代替" in first
    assert second.startswith("现行") and "GB/T 19001-2016" in second
    assert not DOUBLED_PUNCTUATION.search(text)


def test_iso_without_withdrawn_adopters_is_one_line(catalogue: Catalogue) -> None:
    text = describe_lookup(catalogue.lookup("IEC 62368-1:2018"))
    assert text.count("\n") == 0 and "GB 4943.1-2022" in text and "现行" in text


@pytest.mark.parametrize(
    ("number", "kind", "platform"),
    [
        ("Q/GDW 1168-2013", "enterprise", "企业标准信息公共服务平台"),
        ("Q/320100 ABC 001-2020", "enterprise", "企业标准信息公共服务平台"),
        ("T/CSAE 123-2021", "group", "全国团体标准信息平台"),
        ("DB11/T 1234-2020", "local", "地方标准信息服务平台"),
        ("DB31/ 329.1-2019", "local", "地方标准信息服务平台"),
        ("GB/T 99999-2020", "national", "全国标准信息公共服务平台"),
        ("YY 0505-2012", "national", "全国标准信息公共服务平台"),
        ("ISO 99999:2020", "national", "全国标准信息公共服务平台"),
    ],
)
def test_an_unknown_number_points_to_the_platform_for_its_kind(
    catalogue: Catalogue, number: str, kind: str, platform: str
) -> None:
    parsed = parse_standard_number(number)
    assert platform_kind(parsed) == kind
    text = describe_lookup(catalogue.lookup(parsed))
    assert text == not_found_text(parsed)
    assert parsed.canonical in text and platform in text and "回复“转人工”" in text
    assert not DOUBLED_PUNCTUATION.search(text)


@pytest.mark.parametrize(
    ("text", "previous", "expected"),
    [
        ("那2008版呢", ["GB/T 19001-2016"], "GB/T 19001-2008"),
        ("2008年那版", ["GB/T 19001-2016"], "GB/T 19001-2008"),
        ("那2008年版的呢？", ["GB/T 19001-2016"], "GB/T 19001-2008"),
        ("旧版呢", ["GB/T 19001-2016"], "GB/T 19001-2008"),
        ("老版本还能用吗", ["GB 2760-2024"], "GB 2760-2014"),
        ("新版呢", ["GB/T 19001-2008"], "GB/T 19001-2016"),
        ("最新版是哪个", ["GB 7718-2011"], "GB 7718-2025"),
        ("旧版呢", ["GB 2760"], "GB 2760-2014"),
        ("那2008版呢", ["ISO 9001:2015"], "ISO 9001:2008"),
        ("旧版呢", ["ISO 9001:2015"], "ISO 9001:2008"),
        ("那2008版呢", ["GB/T 24001-2016", "GB/T 19001-2016"], "GB/T 24001-2008"),
        ("08版呢", ["GB/T 19001-2016"], "GB/T 19001-2008"),
    ],
)
def test_edition_follow_ups_resolve_against_the_last_number(
    catalogue: Catalogue, text: str, previous: list[str], expected: str
) -> None:
    assert resolve_edition(text, previous, catalogue) == expected


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("那2008版呢", []),
        ("企业标准要公开吗", ["GB/T 19001-2016"]),
        ("那GB/T 19000-2016呢", ["GB/T 19001-2016"]),
        ("新版呢", ["GB/T 19001-2016"]),  # already the newest
        ("旧版呢", ["GB/T 24001-2004"]),  # the oldest held
        ("2016年发布的企业标准怎么公开，需要在哪个平台上传哪些材料", ["GB/T 19001-2008"]),
    ],
)
def test_no_edition_follow_up_gives_none(catalogue: Catalogue, text: str, previous: list[str]) -> None:
    assert resolve_edition(text, previous, catalogue) is None


def test_a_year_resolves_without_a_catalogue_but_old_and_new_need_one() -> None:
    assert resolve_edition("那2008版呢", ["GB/T 19001-2016"]) == "GB/T 19001-2008"
    assert resolve_edition("旧版呢", ["GB/T 19001-2016"]) is None
