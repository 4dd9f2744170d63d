"""Loaders on real files made in tmp_path: Markdown, text, PDF, DOCX, HTML and FAQ sheets."""

from __future__ import annotations

import csv
from pathlib import Path

import docx
import pytest
from openpyxl import Workbook

from config.errors import LoaderError
from ingest.documents import kind_from_title
from ingest.loaders import load_document
from ingest.loaders.faq import load_faq

LAW_MD = """# 中华人民共和国示例法

2017年11月4日 第十二届全国人民代表大会常务委员会第三十次会议修订

<!-- INFO END -->
<!-- STATUS: 现行有效 -->

## 第一章 总则

第一条 为了示例，制定本法。
"""


def _pdf(path: Path, lines: list[str], *, title: str | None = None, encrypt: str | None = None) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path), encrypt=encrypt)
    if title:
        pdf.setTitle(title)
    pdf.setFont("STSong-Light", 12)
    for number, line in enumerate(lines):
        pdf.drawString(72, 760 - 20 * number, line)
    pdf.save()
    return path


def test_markdown_title_date_kind_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "laws" / "示例法(2017-11-04).md"
    path.parent.mkdir()
    path.write_text(LAW_MD, encoding="utf-8")
    document = load_document(path)
    assert document.title == "中华人民共和国示例法"
    assert document.kind == "law"
    assert document.date == "2017-11-04"
    assert document.status == "现行有效"
    assert "INFO END" not in document.text and "<!--" not in document.text
    assert [b.level for b in document.blocks[:3]] == [1, 0, 2]
    quoted = tmp_path / "q.md"
    quoted.write_text("# 标题\n\n> 引用的**一段**话，见[平台](https://example.org)。\n", encoding="utf-8")
    assert load_document(quoted).blocks[1].text == "引用的一段话，见平台。"


def test_front_matter_overrides_kind_and_title(tmp_path: Path) -> None:
    commented = tmp_path / "notes.md"
    commented.write_text("<!-- kind: rule -->\n# 某某通知\n\n正文一段。\n", encoding="utf-8")
    assert load_document(commented).kind == "rule"
    yaml = tmp_path / "guide.md"
    yaml.write_text(
        "---\nkind: standard\ntitle: 自定义标题\ndate: 2020-01-02\n---\n正文。\n", encoding="utf-8"
    )
    document = load_document(yaml)
    assert (document.kind, document.title, document.date) == ("standard", "自定义标题", "2020-01-02")
    assert "kind:" not in document.text
    bad = tmp_path / "bad.md"
    bad.write_text("<!-- kind: novel -->\n正文。\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="novel"):
        load_document(bad)


def test_title_falls_back_to_stem_without_date_and_date_from_header(tmp_path: Path) -> None:
    path = tmp_path / "企业标准自我声明公开指南(2021-05-06).txt"
    path.write_text("说明一段。\n", encoding="utf-8")
    document = load_document(path)
    assert document.title == "企业标准自我声明公开指南"
    assert document.date == "2021-05-06"
    dated = tmp_path / "通知.md"
    dated.write_text(
        "# 某办法\n\n2020年1月6日 公布\n\n2023年8月31日 修订\n\n第一条 内容。\n", encoding="utf-8"
    )
    assert load_document(dated).date == "2023-08-31"


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("中华人民共和国标准化法", "law"),
        ("企业标准化促进办法", "rule"),
        ("强制性产品认证管理规定", "rule"),
        ("中华人民共和国认证认可条例", "regulation"),
        ("中华人民共和国计量法实施细则", "regulation"),
        ("国务院关于在我国统一实行法定计量单位的命令", "regulation"),
        ("上海市标准化条例", "local"),
        ("山东省标准化条例", "local"),
        ("深圳市标准化条例", "local"),
        ("内蒙古自治区标准化条例", "local"),
        ("GB/T 1.1-2020 标准化工作导则", "standard"),
        ("中华人民共和国标准化法（2017年修订）", "law"),
        ("企业标准化工作问答", "doc"),
    ],
)
def test_kind_from_title(title: str, kind: str) -> None:
    assert kind_from_title(title) == kind


def test_kind_from_clause_numbered_text() -> None:
    text = "前言\n1 范围\n本文件规定了要求。\n2 规范性引用文件\n下列文件。\n"
    assert kind_from_title("某产品技术要求", text) == "standard"


def test_gb18030_text_file(tmp_path: Path) -> None:
    path = tmp_path / "说明.txt"
    path.write_bytes("企业标准自我声明公开，应当在平台公开。".encode("gb18030"))
    document = load_document(path)
    assert "企业标准自我声明公开" in document.text
    bom = tmp_path / "bom.md"
    bom.write_bytes("\ufeff# 带BOM的标题\n正文。".encode())
    assert load_document(bom).title == "带BOM的标题"


def test_binary_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(LoaderError, match="not a text file"):
        load_document(path)


def test_pdf_with_chinese_text_layer(tmp_path: Path) -> None:
    lines = [
        "企业标准化促进办法",
        "第一条 为了引导企业加强标准化工作，制定本办法。",
        "第二条 执行 GB/T 19001-2016。",
    ]
    path = _pdf(tmp_path / "办法.pdf", lines, title="企业标准化促进办法")
    document = load_document(path)
    assert document.title == "企业标准化促进办法"
    assert document.kind == "rule"
    texts = [block.text for block in document.blocks]
    assert "第一条 为了引导企业加强标准化工作，制定本办法。" in texts
    assert any("GB/T 19001-2016" in text for text in texts)


def test_pdf_title_is_first_line_without_metadata(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "x.pdf", ["团体标准管理规定", "第一条 内容。"])
    assert load_document(path).title == "团体标准管理规定"


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 200, 200, fill=1)
    pdf.save()
    with pytest.raises(LoaderError, match="没有文本层") as caught:
        load_document(path)
    assert "no text layer" in caught.value.reason


def test_corrupt_and_encrypted_pdf(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    with pytest.raises(LoaderError, match="cannot read PDF") as caught:
        load_document(corrupt)
    assert caught.value.path == str(corrupt)
    locked = _pdf(tmp_path / "locked.pdf", ["加密内容"], encrypt="secret")
    with pytest.raises(LoaderError, match="encrypted"):
        load_document(locked)


def test_docx_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("企业标准化促进办法", level=0)
    document.add_heading("第一章 总则", level=1)
    document.add_paragraph("第一条 为了引导企业加强标准化工作，制定本办法。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "标准号", "名称"
    table.cell(1, 0).text, table.cell(1, 1).text = "GB/T 19001-2016", "质量管理体系 要求"
    path = tmp_path / "办法.docx"
    document.save(str(path))
    loaded = load_document(path)
    assert loaded.title == "企业标准化促进办法"
    assert loaded.kind == "rule"
    levels = {block.text: block.level for block in loaded.blocks}
    assert levels["第一章 总则"] == 1
    assert levels["第一条 为了引导企业加强标准化工作，制定本办法。"] == 0
    assert "GB/T 19001-2016 | 质量管理体系 要求" in levels


def test_docx_core_title_wins_and_corrupt_docx_fails(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "团体标准问答"
    document.add_paragraph("正文。")
    path = tmp_path / "a.docx"
    document.save(str(path))
    assert load_document(path).title == "团体标准问答"
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LoaderError, match="DOCX"):
        load_document(broken)


def test_html_drops_scripts_and_navigation(tmp_path: Path) -> None:
    page = """<html><head><title>网页标题</title><style>p {color: red}</style></head><body>
    <nav>首页 | 关于我们</nav><script>var secret = "不应出现";</script>
    <h1>团体标准管理规定</h1><h2>第一章 总则</h2>
    <p>第一条 为规范<b>团体标准</b>化工作，制定本规定。</p>
    <table><tr><th>标准号</th><th>名称</th></tr><tr><td>T/CSAE 123-2021</td><td>示例</td></tr></table>
    </body></html>"""
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    document = load_document(path)
    assert document.title == "团体标准管理规定"
    texts = {block.text: block.level for block in document.blocks}
    assert texts["第一章 总则"] == 2
    assert "第一条 为规范团体标准化工作，制定本规定。" in texts
    assert "T/CSAE 123-2021 | 示例" in texts
    assert "不应出现" not in document.text and "首页" not in document.text and "color" not in document.text


def test_html_title_tag_when_no_h1(tmp_path: Path) -> None:
    path = tmp_path / "p.htm"
    path.write_text("<html><head><title>对标达标指南</title></head><body><p>正文。</p></body></html>")
    assert load_document(path).title == "对标达标指南"


def test_faq_csv_with_chinese_headers(tmp_path: Path) -> None:
    path = tmp_path / "常见问题.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["分类", "问题", "答案", "依据"])
        writer.writerow(
            ["自我声明", "企业标准要公开吗？", "应当公开。", "《中华人民共和国标准化法》第二十七条"]
        )
        writer.writerow(["", "", "", ""])
        writer.writerow(["", "团体标准谁制定？", "社会团体。", ""])
    document = load_faq(path)
    assert document.kind == "faq" and document.title == "常见问题"
    assert len(document.faq) == 2
    first = document.faq[0]
    assert (first.question, first.answer, first.category) == ("企业标准要公开吗？", "应当公开。", "自我声明")
    assert first.basis == "《中华人民共和国标准化法》第二十七条"
    assert document.faq[1].basis is None


def test_faq_csv_in_gb18030_with_short_headers(tmp_path: Path) -> None:
    path = tmp_path / "问答.csv"
    path.write_bytes("问,答\n团体标准要备案吗？,不需要。\n".encode("gb18030"))
    document = load_document(path)
    assert [(pair.question, pair.answer) for pair in document.faq] == [("团体标准要备案吗？", "不需要。")]


def test_faq_xlsx_with_english_headers(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Question", "Answer", "Source"])
    sheet.append(["What is 对标达标?", "Benchmarking against standards.", "企业标准化促进办法第二十三条"])
    sheet.append([None, None, None])
    path = tmp_path / "faq.xlsx"
    workbook.save(path)
    document = load_document(path)
    assert [pair.question for pair in document.faq] == ["What is 对标达标?"]
    assert document.faq[0].basis == "企业标准化促进办法第二十三条"


def test_faq_sheet_with_wrong_columns_names_them(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["标题", "内容"])
    sheet.append(["a", "b"])
    path = tmp_path / "wrong.xlsx"
    workbook.save(path)
    with pytest.raises(LoaderError) as caught:
        load_document(path)
    assert "标题, 内容" in caught.value.reason
    assert "问题/答案" in caught.value.reason and "question/answer" in caught.value.reason


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "x.pptx"
    path.write_bytes(b"data")
    with pytest.raises(LoaderError, match="unsupported"):
        load_document(path)
