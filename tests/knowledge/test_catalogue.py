"""The standards catalogue: editions, status as of a day, replacement chains, adoptions, answer text."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from config.errors import KnowledgeBaseError, StandardNumberError
from knowledge.catalogue import Catalogue, adoption_entry, split_adoption_entry
from knowledge.catalogue_answer import describe_lookup, not_found_text
from knowledge.standard_numbers import find_standard_numbers, parse_standard_number
from knowledge.types import CatalogueRecord

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "catalogs"
TODAY = date(2026, 9, 1)


def _records() -> list[CatalogueRecord]:
    return [
        CatalogueRecord("GB/T 19001-2000", "质量管理体系 要求", "废止", replaced_by="GB/T 19001-2008"),
        CatalogueRecord(
            "GB/T 19001-2008",
            "质量管理体系 要求",
            "废止",
            "2008-10-29",
            "2009-03-01",
            replaced_by="GB/T 19001-2016",
        ),
        CatalogueRecord(
            "GB/T 19001-2016",
            "质量管理体系 要求",
            "现行",
            "2016-12-30",
            "2017-07-01",
            replaces="GB/T 19001-2008",
            adopts=("ISO 9001:2015, IDT",),
        ),
        CatalogueRecord("YY 0055-2018", "牙科学 光固化机", "现行", "2018-09-28", "2020-04-01"),
        CatalogueRecord(
            "YY 0055-2026", "牙科学 光固化机", "即将实施", "2026-08-14", "2029-08-01", replaces="YY 0055-2018"
        ),
        CatalogueRecord("YY/T 1469-2025", "示例体外诊断试剂", "即将实施", "2025-01-01", "2026-06-01"),
        CatalogueRecord(
            "GB 9706.1-2020",
            "医用电气设备 第1部分：基本安全和基本性能的通用要求",
            "现行",
            "2020-04-09",
            "2023-05-01",
            adopts=("IEC 60601-1:2005+A2:2020, MOD",),
        ),
    ]


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(_records(), today=TODAY)


def test_an_edition_asked_by_year_with_its_facts(catalogue: Catalogue) -> None:
    lookup = catalogue.lookup("GB/T 19001—2016")
    assert lookup.found
    assert [r.number for r in lookup.editions] == ["GB/T 19001-2016"]
    assert lookup.current is not None and lookup.current.number == "GB/T 19001-2016"
    assert lookup.adopts == ("ISO 9001:2015, IDT",)
    text = describe_lookup(lookup)
    for fact in (
        "GB/T 19001-2016",
        "《质量管理体系 要求》",
        "现行",
        "2016-12-30",
        "2017-07-01",
        "推荐性标准",
    ):
        assert fact in text
    assert "等同采用 ISO 9001:2015" in text
    assert "代替 GB/T 19001-2008" in text


def test_without_a_year_every_edition_newest_first_and_the_current_one(catalogue: Catalogue) -> None:
    lookup = catalogue.lookup(parse_standard_number("gbt19001"))
    assert [r.number for r in lookup.editions] == ["GB/T 19001-2016", "GB/T 19001-2008", "GB/T 19001-2000"]
    assert lookup.current is not None and lookup.current.number == "GB/T 19001-2016"
    text = describe_lookup(lookup)
    assert "共有 3 个版本" in text
    assert "GB/T 19001-2008（废止）" in text


def test_replacement_chain_is_followed_to_the_edition_in_force(catalogue: Catalogue) -> None:
    lookup = catalogue.lookup("GB/T 19001-2000")
    assert [r.number for r in lookup.successors] == ["GB/T 19001-2008", "GB/T 19001-2016"]
    text = describe_lookup(lookup)
    assert "GB/T 19001-2000 已被 GB/T 19001-2008 代替" in text
    assert "GB/T 19001-2008 已被 GB/T 19001-2016 代替" in text
    assert "现行版本为 GB/T 19001-2016" in text


def test_without_a_day_given_statuses_are_as_of_today() -> None:
    assert Catalogue(_records()).today == date.today()


def test_upcoming_record_counts_as_current_once_its_date_has_come() -> None:
    before = Catalogue(_records(), today=date(2026, 5, 31)).lookup("YY/T 1469-2025")
    after = Catalogue(_records(), today=date(2026, 6, 1)).lookup("YY/T 1469-2025")
    assert before.editions[0].status == "即将实施" and before.current is None
    assert after.editions[0].status == "现行" and after.current is not None
    assert "状态：现行" in describe_lookup(after)


def test_a_successor_not_yet_in_force_is_announced_and_then_replaces() -> None:
    now = Catalogue(_records(), today=TODAY).lookup("YY 0055")
    assert now.current is not None and now.current.number == "YY 0055-2018"
    assert "YY 0055-2018 将被 YY 0055-2026 代替" in describe_lookup(now)
    assert "2029-08-01" in describe_lookup(now)
    later = Catalogue(_records(), today=date(2029, 8, 1)).lookup("YY 0055-2018")
    assert later.editions[0].status == "废止"
    assert later.editions[0].replaced_by == "YY 0055-2026"
    assert later.current is not None and later.current.number == "YY 0055-2026"
    assert "YY 0055-2018 已被 YY 0055-2026 代替" in describe_lookup(later)


def test_an_international_number_finds_the_adopting_national_standards(catalogue: Catalogue) -> None:
    lookup = catalogue.lookup("ISO 9001")
    assert lookup.found and not lookup.editions
    assert [r.number for r in lookup.adopted_by] == ["GB/T 19001-2016"]
    assert "等同采用 ISO 9001:2015" in describe_lookup(lookup)
    iec = catalogue.lookup("IEC 60601-1:2005")
    assert [r.number for r in iec.adopted_by] == ["GB 9706.1-2020"]
    assert "修改采用 IEC 60601-1:2005+A2:2020" in describe_lookup(iec)


def test_an_unknown_number_is_reported_plainly_without_guessing(catalogue: Catalogue) -> None:
    lookup = catalogue.lookup("GB/T 99999-2020")
    assert not lookup.found and lookup.current is None
    text = describe_lookup(lookup)
    assert text == not_found_text(parse_standard_number("GB/T 99999-2020"))
    assert "std.samr.gov.cn" in text and "转人工" in text
    assert [m.number.canonical for m in find_standard_numbers(text)] == ["GB/T 99999-2020"]
    assert "没有查到" in text


def test_an_edition_the_catalogue_lacks_names_the_editions_it_has(catalogue: Catalogue) -> None:
    lookup = catalogue.lookup("GB/T 19001-2010")
    assert not lookup.found
    text = describe_lookup(lookup)
    assert "没有 GB/T 19001-2010 这一版本" in text
    assert "现行版本为 GB/T 19001-2016" in text


def test_close_numbers_are_found_and_the_difference_is_said(catalogue: Catalogue) -> None:
    lookup = catalogue.lookup("YY 55-2018")  # leading zeros left out
    assert [r.number for r in lookup.editions] == ["YY 0055-2018"]
    slash = catalogue.lookup("GB 19001-2016")  # /T left out
    assert [r.number for r in slash.editions] == ["GB/T 19001-2016"]
    assert "没有 GB 19001，查到的是编号相近的 GB/T 19001" in describe_lookup(slash)


def test_text_that_is_no_number_raises(catalogue: Catalogue) -> None:
    with pytest.raises(StandardNumberError):
        catalogue.lookup("质量管理体系")


def test_the_same_edition_from_two_sources_is_merged() -> None:
    first = CatalogueRecord("GB 2760-2014", "食品安全国家标准 食品添加剂使用标准", "现行")
    second = CatalogueRecord("GB 2760-2014", "食品添加剂使用标准", "现行", "2014-12-24", "2015-05-24")
    catalogue = Catalogue([first, second], today=TODAY)
    assert len(catalogue) == 1
    [record] = catalogue.records()
    assert record.title == first.title
    assert record.effective_date == "2015-05-24"


def test_a_record_with_an_unrecognised_number_is_refused() -> None:
    with pytest.raises(KnowledgeBaseError, match="质量手册"):
        Catalogue([CatalogueRecord("质量手册", "x", "现行")])


def test_save_and_load_round_trip(tmp_path: Path, catalogue: Catalogue) -> None:
    path = tmp_path / "version" / "catalogue.jsonl"
    catalogue.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["catalogue.jsonl"]  # no temporary file left
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(catalogue)
    assert json.loads(lines[2])["adopts"] == ["ISO 9001:2015, IDT"]
    loaded = Catalogue.load(path, today=TODAY)
    assert list(loaded.records()) == list(catalogue.records())
    assert describe_lookup(loaded.lookup("GB/T 19001-2000")) == describe_lookup(
        catalogue.lookup("GB/T 19001-2000")
    )


def test_load_refuses_missing_or_damaged_files(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="cannot read catalogue"):
        Catalogue.load(tmp_path / "absent.jsonl")
    damaged = tmp_path / "catalogue.jsonl"
    damaged.write_text(
        '{"number": "GB 2760-2014", "title": "t", "status": "现行"}\n{not json\n', encoding="utf-8"
    )
    with pytest.raises(KnowledgeBaseError, match="line 2"):
        Catalogue.load(damaged)


def test_adoption_entries_round_trip() -> None:
    assert adoption_entry("ISO 13485:2016", "idt") == "ISO 13485:2016, IDT"
    assert adoption_entry("ISO 13485:2016", "domestic") == "ISO 13485:2016"
    assert split_adoption_entry("ISO 13485:2016, IDT") == ("ISO 13485:2016", "IDT")
    assert split_adoption_entry("IEC 60601-1:2005+A2:2020") == ("IEC 60601-1:2005+A2:2020", None)


def test_real_medical_device_catalogue() -> None:
    standards = CORPUS / "nmpa_medical_device_standards" / "standards.json"
    if not standards.exists():
        pytest.skip("shared corpus absent")
    from ingest.catalogue_loader import load_catalogue_file, merge_adoptions

    records = load_catalogue_file(standards).records
    adoptions = load_catalogue_file(standards.with_name("iso_gb_mapping.json")).adoptions
    catalogue = Catalogue(merge_adoptions(records, adoptions), today=TODAY)
    lookup = catalogue.lookup("ISO 13485")
    assert [r.number for r in lookup.adopted_by] == ["GB/T 42061-2022"]
    text = describe_lookup(catalogue.lookup("YY 0055"))
    assert "YY 0055-2018 将被 YY 0055-2026 代替" in text
