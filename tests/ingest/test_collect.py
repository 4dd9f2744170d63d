"""collect(): walking folders, dispatching by suffix, catalogues, and reporting files that fail."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ingest.collect import FileReport, collect

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"

RULE = """# 某某标准化管理办法

2020年1月6日 国家市场监督管理总局公布

第一条 为了加强管理，制定本办法。

第二条 企业应当执行 GB/T 19001-2016。
"""


def _write_catalogue(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["标准编号", "标准名称", "状态", "实施日期"])
        writer.writerow(["GB/T 16886.1-2022", "医疗器械生物学评价 第1部分", "现行", "2022-07-01"])
        writer.writerow(["GB/T 19001-2016", "质量管理体系 要求", "现行", "2017-07-01"])


def _write_faq(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["问题", "答案", "依据"])
        writer.writerow(["企业标准要公开吗？", "应当公开。", "《中华人民共和国标准化法》第二十七条"])


def _sources(root: Path) -> Path:
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "某某标准化管理办法(2020-01-06).md").write_text(RULE, encoding="utf-8")
    (root / "rules" / "README.md").write_text("# 说明\n本目录的来源。\n", encoding="utf-8")
    (root / ".hidden.md").write_text("# 隐藏\n不应读取。\n", encoding="utf-8")
    (root / "faq").mkdir()
    _write_faq(root / "faq" / "常见问题.csv")
    (root / "catalogs").mkdir()
    _write_catalogue(root / "catalogs" / "catalogue.csv")
    adoption = [{"iso_number": "ISO 10993-1:2018", "gb_number": "GB/T 16886.1-2022", "adoption_type": "idt"}]
    (root / "catalogs" / "iso_gb_mapping.json").write_text(json.dumps(adoption), encoding="utf-8")
    (root / "catalogs" / "meta.json").write_text(json.dumps({"fetched_at": "2026-01-01"}), encoding="utf-8")
    (root / "qa").mkdir()
    pool = [[{"instruction": "问", "input": "", "output": "答"}]]
    (root / "qa" / "pool.json").write_text(json.dumps(pool, ensure_ascii=False), encoding="utf-8")
    return root


def _by_name(files: tuple[FileReport, ...]) -> dict[str, FileReport]:
    return {Path(report.path).name: report for report in files}


def test_collect_loads_documents_faq_and_catalogue(tmp_path: Path) -> None:
    seen: list[FileReport] = []
    collected = collect([_sources(tmp_path / "kb")], on_file=seen.append)
    files = _by_name(collected.files)
    assert collected.failed == ()
    assert ".hidden.md" not in files
    assert files["README.md"].skipped and files["meta.json"].skipped and files["pool.json"].skipped
    assert files["pool.json"].error is None
    assert files["某某标准化管理办法(2020-01-06).md"].kind == "rule"
    assert files["某某标准化管理办法(2020-01-06).md"].chunks == 3
    assert files["常见问题.csv"].kind == "faq" and files["常见问题.csv"].chunks == 1
    assert files["catalogue.csv"].kind == "catalog" and files["catalogue.csv"].records == 2
    assert {report.path for report in seen} == {report.path for report in collected.files}
    kinds = {chunk.kind for chunk in collected.chunks}
    assert kinds == {"rule", "faq", "catalog"}
    numbers = {record.number: record for record in collected.records}
    assert set(numbers) == {"GB/T 16886.1-2022", "GB/T 19001-2016"}
    assert any(entry.startswith("ISO 10993-1:2018") for entry in numbers["GB/T 16886.1-2022"].adopts)
    article = next(chunk for chunk in collected.chunks if chunk.clauses == ("第二条",))
    assert article.standards == ("GB/T 19001-2016",)
    assert article.path.endswith("rules/某某标准化管理办法(2020-01-06).md")


def test_corrupt_files_are_reported_and_the_rest_loads(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    root = tmp_path / "kb"
    root.mkdir()
    (root / "a_rule.md").write_text(RULE, encoding="utf-8")
    (root / "b_corrupt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 4)
    scan = canvas.Canvas(str(root / "c_scan.pdf"))
    scan.rect(50, 50, 100, 100, fill=1)
    scan.save()
    (root / "d_broken.json").write_text("{not json", encoding="utf-8")
    (root / "e_wrong.csv").write_text("标题,内容\nx,y\n", encoding="utf-8")
    (root / "f_old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (root / "g_faq.csv").write_text("question,answer\nQ?,A.\n", encoding="utf-8")
    collected = collect([root])
    failed = _by_name(collected.failed)
    assert set(failed) == {"b_corrupt.pdf", "c_scan.pdf", "d_broken.json", "e_wrong.csv", "f_old.doc"}
    assert "cannot read PDF" in (failed["b_corrupt.pdf"].error or "")
    assert "没有文本层" in (failed["c_scan.pdf"].error or "")
    assert "JSON" in (failed["d_broken.json"].error or "")
    assert "标题, 内容" in (failed["e_wrong.csv"].error or "")
    assert ".docx" in (failed["f_old.doc"].error or "")
    loaded = _by_name(collected.loaded)
    assert loaded["a_rule.md"].chunks == 3 and loaded["g_faq.csv"].chunks == 1
    assert len(collected.chunks) == 4


def test_missing_path_and_explicit_files(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# 说明\n这是说明文件的正文内容。\n", encoding="utf-8")
    empty = tmp_path / "empty.md"
    empty.write_text("<!-- 只有注释 -->\n", encoding="utf-8")
    collected = collect([tmp_path / "absent.md", readme, readme, empty])
    assert [report.error is not None for report in collected.files] == [True, False, False]
    assert "not found" in (collected.files[0].error or "")
    assert collected.files[1].chunks == 1 and collected.files[1].skipped is None
    assert collected.files[2].chunks == 0 and "no text" in (collected.files[2].skipped or "")


def test_collect_is_deterministic_with_unique_ids(tmp_path: Path) -> None:
    root = _sources(tmp_path / "kb")
    first, second = collect([root]), collect([root])
    assert [chunk.id for chunk in first.chunks] == [chunk.id for chunk in second.chunks]
    assert first.chunks == second.chunks
    assert len({chunk.id for chunk in first.chunks}) == len(first.chunks)


def test_whole_shared_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus absent")
    collected = collect([CORPUS])
    assert collected.failed == ()
    assert len(collected.chunks) > 1500
    assert len(collected.records) > 2000
    assert len({chunk.id for chunk in collected.chunks}) == len(collected.chunks)
    files = _by_name(collected.files)
    assert files["lawyer-llama_legal_advice.json"].skipped
    assert files["SOURCES.md"].skipped
    assert files["标准化法(2017-11-04).md"].kind == "law"
    assert files["上海市标准化条例(2019-07-25).md"].kind == "local"
    assert any(record.adopts for record in collected.records)
