"""Catalogue and adoption-map files: the shared real catalogues, our CSV/JSON schema, bad rows and files."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from config.errors import LoaderError
from ingest.catalogue_chunks import catalogue_chunks
from ingest.catalogue_columns import (
    looks_like_adoption_map,
    looks_like_catalogue,
    normalise_date,
    normalise_status,
)
from ingest.catalogue_loader import Adoption, load_catalogue_file, merge_adoptions
from knowledge.catalogue import Catalogue
from knowledge.catalogue_answer import describe_lookup
from knowledge.types import CatalogueRecord

CATALOGS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "catalogs"
NMPA = CATALOGS / "nmpa_medical_device_standards" / "standards.json"
MAPPING = CATALOGS / "nmpa_medical_device_standards" / "iso_gb_mapping.json"
ARCH = CATALOGS / "arch_standards_index_standards.csv"

CHINESE_CSV = """标准编号,标准名称,状态,发布日期,实施日期,代替标准,被代替标准,分类,属性
GB/T 19001—2016,质量管理体系 要求,现行有效,2016/12/30,2017年7月1日,GB/T 19001-2008,,质量管理,推荐性
GB/T 19001-2008,质量管理体系 要求,被代替,2008.10.29,20090301,,GB/T 19001-2016,质量管理,推荐性
GB 2760-2011,食品安全国家标准 食品添加剂使用标准,作废,,,,GB 2760-2014,食品,强制性
XYZ 12 ab,一行坏编号,现行,,,,,,
T/CSAE 123-2021,示例团体标准,即将实施,2021-05-01,,,,,
"""


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip("shared corpus absent")
    return path


def test_real_nmpa_catalogue() -> None:
    loaded = load_catalogue_file(_need(NMPA))
    assert len(loaded.records) == 2141
    assert loaded.problems == ()
    by_number = {r.number: r for r in loaded.records}
    qms = by_number["GB/T 42061-2022"]
    assert qms.title == "医疗器械 质量管理体系 用于法规的要求"
    assert (qms.status, qms.approval_date, qms.effective_date) == ("现行", "2022-10-14", "2023-11-01")
    assert qms.category is not None and "医疗器械质量" in qms.category
    assert qms.mandatory is False and by_number["GB 9706.1-2020"].mandatory is True
    assert qms.source == "NMPA 医疗器械相关中国标准"
    assert by_number["YY 0055-2026"].replaces == "YY 0055-2018"
    assert by_number["YY 0055-2026"].status == "即将实施"
    assert by_number["GB/Z 130-2025"].effective_date is None
    odd = by_number["YY/T 0740-2022"]  # "与GB9706.1-2020同步实施" is no date: kept as a note
    assert odd.effective_date is None and odd.note is not None and "同步实施" in odd.note
    assert {r.status for r in loaded.records} == {"现行", "即将实施"}


def test_real_adoption_map_merges_into_the_catalogue() -> None:
    mapping = load_catalogue_file(_need(MAPPING))
    assert mapping.records == ()
    assert len(mapping.adoptions) == 28
    assert len(mapping.problems) == 1 and "IEC 81001-5-1:2021" in mapping.problems[0]
    records = load_catalogue_file(_need(NMPA)).records
    merged = merge_adoptions(records, mapping.adoptions)
    assert len(merged) == len(records)  # numbers only the map names get no invented record
    by_number = {r.number: r for r in merged}
    assert by_number["GB/T 16886.1-2022"].adopts == ("ISO 10993-1:2018, IDT",)
    assert by_number["GB 9706.1-2020"].adopts == ("IEC 60601-1:2005+A2:2020, MOD",)
    assert "GB/T 16886.12-2017" not in by_number
    assert sum(1 for r in merged if r.adopts) == 20


def test_real_construction_catalogue() -> None:
    loaded = load_catalogue_file(_need(ARCH))
    assert len(loaded.records) == 83 and loaded.problems == ()
    by_number = {r.number: r for r in loaded.records}
    general = by_number["GB 55001-2021"]
    assert general.title == "工程结构通用规范"
    assert general.mandatory is True and general.category == "结构"
    assert general.effective_date == "2022-01-01"
    assert general.note is not None and "GB 50153-2008" in general.note
    assert by_number["JGJ 100-2015"].mandatory is False  # 属性 推荐性 wins over the bare code
    assert "GB 50016-2014(2018年版)" in by_number
    assert by_number["GB/T 50011-2010"].title == "建筑抗震设计标准"


def test_chinese_headers_statuses_dates_and_replacements(tmp_path: Path) -> None:
    path = tmp_path / "目录.csv"
    path.write_text(CHINESE_CSV, encoding="utf-8")
    loaded = load_catalogue_file(path)
    by_number = {r.number: r for r in loaded.records}
    assert list(by_number) == ["GB/T 19001-2016", "GB/T 19001-2008", "GB 2760-2011", "T/CSAE 123-2021"]
    new, old = by_number["GB/T 19001-2016"], by_number["GB/T 19001-2008"]
    assert (new.status, new.approval_date, new.effective_date) == ("现行", "2016-12-30", "2017-07-01")
    assert new.replaces == "GB/T 19001-2008" and new.replaced_by is None
    assert (old.status, old.replaced_by) == ("废止", "GB/T 19001-2016")
    assert (old.approval_date, old.effective_date) == ("2008-10-29", "2009-03-01")
    withdrawn = by_number["GB 2760-2011"]
    assert (withdrawn.status, withdrawn.replaced_by, withdrawn.mandatory) == ("废止", "GB 2760-2014", True)
    assert withdrawn.approval_date is None and withdrawn.effective_date is None
    assert by_number["T/CSAE 123-2021"].status == "即将实施"
    assert loaded.problems == ("第5行：标准编号无法识别 / row 5: unrecognised standard number 'XYZ 12 ab'",)
    text = describe_lookup(Catalogue(loaded.records, today=date(2026, 1, 1)).lookup("GB/T 19001-2008"))
    assert "GB/T 19001-2008 已被 GB/T 19001-2016 代替" in text


def test_gb18030_csv(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_bytes(CHINESE_CSV.encode("gb18030"))
    loaded = load_catalogue_file(path)
    assert loaded.records[0].title == "质量管理体系 要求"
    assert len(loaded.records) == 4


def test_tab_separated_csv_and_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    tsv = tmp_path / "tabs.csv"
    tsv.write_text(CHINESE_CSV.replace(",", "\t"), encoding="utf-8")
    assert len(load_catalogue_file(tsv).records) == 4
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in CHINESE_CSV.splitlines():
        sheet.append(line.split(","))
    xlsx = tmp_path / "目录.xlsx"
    workbook.save(xlsx)
    loaded = load_catalogue_file(xlsx)
    assert [r.number for r in loaded.records][:2] == ["GB/T 19001-2016", "GB/T 19001-2008"]
    assert loaded.records[1].replaced_by == "GB/T 19001-2016"
    assert len(loaded.problems) == 1 and "XYZ 12 ab" in loaded.problems[0]


def test_generic_json_schema_with_adoptions(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    rows = [
        {
            "number": "GB/T 19001-2016",
            "title": "质量管理体系 要求",
            "status": "active",
            "adopts": "ISO 9001:2015, IDT",
        },
        {
            "number": "GB/T 19001-2008",
            "title": "质量管理体系 要求",
            "status": "superseded",
            "replaced_by": "GB/T 19001-2016",
        },
        {"number": "", "title": "无编号", "status": "现行"},
        {"number": "GB/T 1-2000", "title": "无状态", "status": "？"},
        {
            "number": "GB/T 24001-2016",
            "title": "环境管理体系",
            "status": "现行",
            "adopts": ["ISO 14001:2015, IDT"],
        },
    ]
    path.write_text(
        json.dumps({"title": "企业标准清单", "records": rows}, ensure_ascii=False), encoding="utf-8"
    )
    loaded = load_catalogue_file(path)
    assert [r.number for r in loaded.records] == ["GB/T 19001-2016", "GB/T 19001-2008", "GB/T 24001-2016"]
    assert loaded.records[2].adopts == ("ISO 14001:2015, IDT",)
    assert loaded.records[0].adopts == ("ISO 9001:2015, IDT",)
    assert loaded.records[0].source == "企业标准清单"
    assert loaded.records[1].status == "废止"
    assert loaded.problems[0].startswith("第3条：标准编号无法识别 / item 3")
    assert loaded.problems[1].startswith("第4条：状态缺失或无法识别 / item 4")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("faq.csv", "问题,答案\n能用吗,能\n", "not a catalogue"),
        ("list.json", '["GB/T 19001-2016"]', "list of objects"),
        ("broken.json", '[{"number": ', "malformed JSON"),
        ("empty.csv", "\n\n", "no rows"),
        ("bad.csv", "编号,名称,状态\nnot a number,名称,现行\n", "no usable catalogue rows"),
        ("catalogue.txt", "编号,名称\n", "JSON, CSV or XLSX"),
    ],
)
def test_unusable_files_raise_loader_error_naming_the_file(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LoaderError) as info:
        load_catalogue_file(path)
    assert info.value.path == str(path)
    assert reason in info.value.reason


def test_column_detection() -> None:
    assert looks_like_catalogue(["编号", "名称", "分类", "属性", "实施日期", "状态"])
    assert looks_like_catalogue(["number", "title_zh", "status_zh"])
    assert looks_like_catalogue(["\ufeff标准号", "标准名称"])
    assert not looks_like_catalogue(["问题", "答案", "编号"])
    assert not looks_like_catalogue(["iso_number", "gb_number", "title_zh"])
    assert looks_like_adoption_map(["iso_number", "gb_number", "adoption_type"])
    assert not looks_like_adoption_map(["number", "title"])


def test_status_and_date_normalisation() -> None:
    assert [
        normalise_status(s) for s in ("现行有效", "Active", "即将实施", "被代替", "作废", "无效", "x")
    ] == [
        "现行",
        "现行",
        "即将实施",
        "废止",
        "废止",
        "废止",
        None,
    ]
    assert normalise_date("2022年1月5日") == "2022-01-05"
    assert normalise_date("2022-10-14T00:00:00") == "2022-10-14"
    assert normalise_date("2022-02-30") is None
    assert normalise_date("与GB9706.1-2020同步实施") is None


def test_chunks_one_per_record_with_stable_ids(tmp_path: Path) -> None:
    record = CatalogueRecord(
        "GB/T 42061-2022",
        "医疗器械 质量管理体系 用于法规的要求",
        "现行",
        "2022-10-14",
        "2023-11-01",
        adopts=("ISO 13485:2016, IDT",),
        category="医疗器械质量",
        mandatory=False,
        source="标准目录",
    )
    other = CatalogueRecord("GB 2760-2014", "食品安全国家标准 食品添加剂使用标准", "现行", mandatory=True)
    chunks = catalogue_chunks([record, other], "data/standards.json")
    first = chunks[0]
    assert first.kind == "catalog" and first.source == "标准目录"
    assert first.standard == "GB/T 42061-2022"
    assert first.standards == ("GB/T 42061-2022", "ISO 13485:2016")
    assert (first.status, first.date, first.clauses) == ("现行", "2023-11-01", ())
    assert first.text.startswith("GB/T 42061-2022 医疗器械 质量管理体系 用于法规的要求")
    for fact in (
        "状态：现行",
        "发布日期：2022-10-14",
        "实施日期：2023-11-01",
        "等同采用 ISO 13485:2016",
        "分类：医疗器械质量",
    ):
        assert fact in first.text
    assert first.content_hash == hashlib.sha256(first.text.encode()).hexdigest()
    assert first.id.startswith("cat:") and len(first.id) == 20
    assert chunks[1].source == "standards" and "强制性标准" in chunks[1].text
    again = catalogue_chunks([record, other], Path("elsewhere/standards.json"))
    assert [c.id for c in again] == [c.id for c in chunks]
    assert catalogue_chunks([record], "data/other.json")[0].id != first.id


def test_merge_keeps_existing_adoptions_once() -> None:
    record = CatalogueRecord("GB/T 19001-2016", "质量管理体系 要求", "现行", adopts=("ISO 9001:2015, IDT",))
    adoptions = [
        Adoption("ISO 9001:2015", "GB/T 19001-2016", "IDT", "Quality management systems"),
        Adoption("ISO 9001:2015", "GB/T 19001-2016", None, None),
        Adoption("ISO 14001:2015", "GB/T 24001-2016", "IDT", None),
    ]
    [merged] = merge_adoptions([record], adoptions)
    assert merged.adopts == ("ISO 9001:2015, IDT",)
