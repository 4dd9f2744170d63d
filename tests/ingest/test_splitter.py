"""The structure-aware splitter: articles for laws, clause numbers for standards, FAQ pairs, headings."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from ingest.documents import Block, FaqPair, SourceDocument
from ingest.loaders import load_document
from ingest.numerals import chinese_number, normalise_structure_id, parse_number
from ingest.splitter import pack, split_document
from knowledge.types import Chunk

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
ARTICLE_LINE = re.compile(r"^第[一二三四五六七八九十百零〇]+条\s", re.MULTILINE)
SENTENCE_ENDS = ("。", "；", "！", "？", "：")


def _doc(
    kind: str, lines: Sequence[str | tuple[str, int]], title: str = "示例", path: str = "x.md"
) -> SourceDocument:
    blocks = tuple(Block(line) if isinstance(line, str) else Block(*line) for line in lines)
    return SourceDocument(path=path, title=title, kind=kind, date="2020-01-01", blocks=blocks)


def _corpus_file(pattern: str) -> Path:
    matches = sorted(CORPUS.glob(pattern)) if CORPUS.is_dir() else []
    if not matches:
        pytest.skip(f"shared corpus absent: {pattern}")
    return matches[0]


def test_standardisation_law_gives_one_chunk_per_article() -> None:
    path = _corpus_file("laws/标准化法*.md")
    chunks = split_document(load_document(path))
    articles = [chunk for chunk in chunks if chunk.clauses]
    expected = ARTICLE_LINE.findall(path.read_text(encoding="utf-8"))
    assert len(articles) == len(expected)
    assert len({chunk.clauses for chunk in articles}) == len(expected)
    by_id = {chunk.clauses[0]: chunk for chunk in articles}
    article = by_id["第二十七条"]
    assert article.chapter == "第三章 标准的实施"
    assert article.text.startswith("第二十七条 ")
    assert article.kind == "law" and article.source == "中华人民共和国标准化法"
    assert article.date == "2017-11-04"
    assert by_id["第一条"].chapter == "第一章 总则"
    preamble = chunks[0]
    assert preamble.clauses == () and "修订" in preamble.text


def test_enterprise_rule_article_count_matches_article_lines() -> None:
    path = _corpus_file("rules/企业标准化促进办法*.md")
    chunks = split_document(load_document(path))
    ids = [chunk.clauses[0] for chunk in chunks if chunk.clauses]
    expected = [line.strip() for line in ARTICLE_LINE.findall(path.read_text(encoding="utf-8"))]
    assert ids == expected
    assert all(chunk.kind == "rule" for chunk in chunks)


def test_article_keeps_paragraphs_and_items_and_chapters_from_plain_lines() -> None:
    document = _doc(
        "rule",
        [
            ("某办法", 1),
            "第一章　总    则",
            "第一条  为了示例，制定本办法。",
            "第二条  申请书应当包括下列内容：",
            "（一）名称；",
            "（二）地址。",
            "前款规定的内容应当真实。",
            ("第二章  附则", 2),
            "第3条 本办法自公布之日起施行。",
        ],
    )
    chunks = split_document(document)
    by_id = {chunk.clauses[0]: chunk for chunk in chunks if chunk.clauses}
    assert list(by_id) == ["第一条", "第二条", "第三条"]
    assert (
        by_id["第二条"].text
        == "第二条 申请书应当包括下列内容：\n（一）名称；\n（二）地址。\n前款规定的内容应当真实。"
    )
    assert by_id["第一条"].chapter == "第一章 总则"
    assert by_id["第三条"].chapter == "第二章 附则"
    assert by_id["第三条"].text.startswith("第三条 本办法")


def test_reference_at_line_start_is_not_a_new_article() -> None:
    lines = [
        "第一章 总则",
        "第一条 总则内容。",
        "第二条 有关规定。",
        "第五条规定的情形除外。",
        "第一章规定的除外。",
    ]
    chunks = split_document(_doc("law", lines))
    assert [chunk.clauses for chunk in chunks] == [("第一条",), ("第二条",)]
    assert "第五条规定的情形除外。\n第一章规定的除外。" in chunks[1].text
    assert chunks[1].chapter == "第一章 总则"


def test_long_article_splits_on_sentence_ends_and_keeps_its_id() -> None:
    sentence = "企业应当公开其执行的标准的编号和名称，并对公开内容的真实性负责。"
    long_article = "第二十七条 " + sentence * 40
    document = _doc("law", ["第二十六条 短条。", long_article, "第二十八条 短条。"])
    chunks = split_document(document, chunk_chars=300)
    parts = [chunk for chunk in chunks if chunk.clauses == ("第二十七条",)]
    assert len(parts) >= 4
    for part in parts:
        assert part.text.startswith("第二十七条 ")
        assert len(part.text) <= 300
        assert part.text.endswith(SENTENCE_ENDS)
    body = "".join(part.text.removeprefix("第二十七条 ") for part in parts)
    assert body == sentence * 40
    assert [chunk.clauses[0] for chunk in chunks] == [
        "第二十六条",
        *["第二十七条"] * len(parts),
        "第二十八条",
    ]


def test_pack_prefers_paragraph_ends_and_balances_parts() -> None:
    text = "\n".join(["第一段内容很长很长。" * 5, "第二段。" * 10, "第三段内容。" * 6])
    parts = pack(text, 80)
    assert all(len(part) <= 80 for part in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert pack("短。", 80) == ["短。"]
    unbroken = "字" * 250
    assert [len(part) for part in pack(unbroken, 100)] == [100, 100, 50]


def test_law_without_articles_falls_back_to_paragraphs() -> None:
    document = _doc("regulation", [("某命令", 1), "一、第一项内容。" * 30, "二、第二项内容。" * 30])
    chunks = split_document(document, chunk_chars=200)
    assert len(chunks) >= 3
    assert all(chunk.clauses == () and len(chunk.text) <= 200 for chunk in chunks)


STANDARD: list[str | tuple[str, int]] = [
    ("GB/T 99999-2020 示例产品技术要求", 1),
    "目次",
    "1 范围",
    "2 规范性引用文件",
    "前言",
    "本文件按照 GB/T 1.1-2020 的规则起草。",
    "1 范围",
    "本文件规定了示例产品的要求。",
    "2 规范性引用文件",
    "GB/T 191 包装储运图示标志",
    "3 术语和定义",
    "4 要求",
    "4.1 一般要求",
    "产品应符合图样要求。",
    "10 mm 以下的零件应去毛刺。",
    "4.2 外观",
    "4.2.1 表面不应有划痕。",
    "4.2.2 颜色应均匀。",
    "5 试验方法",
    "附录A （资料性） 试验记录",
    "A.1 记录内容",
    "记录应包括日期。",
]


def test_standard_splits_on_clause_numbers() -> None:
    document = _doc("standard", STANDARD, title="GB/T 99999-2020 示例产品技术要求", path="std.md")
    chunks = split_document(document, chunk_chars=60)
    clauses = [chunk.clauses for chunk in chunks]
    assert ("前言",) in clauses
    assert not any(chunk.text.startswith("1 范围\n2 规范性引用文件") for chunk in chunks)
    covered = [clause for chunk in chunks for clause in chunk.clauses]
    for clause in ("1", "2", "3", "4", "4.1", "4.2", "4.2.1", "4.2.2", "5", "附录A", "A.1"):
        assert covered.count(clause) == 1, clause
    assert "10" not in covered
    holding_41 = next(chunk for chunk in chunks if "4.1" in chunk.clauses)
    assert "10 mm 以下的零件应去毛刺。" in holding_41.text
    assert all(chunk.standard == "GB/T 99999-2020" for chunk in chunks)
    assert all(chunk.kind == "standard" for chunk in chunks)
    references = next(chunk for chunk in chunks if "2" in chunk.clauses)
    assert "GB/T 191" in references.standards


def test_short_parent_clause_merges_with_its_children_within_budget() -> None:
    document = _doc("standard", STANDARD, title="GB/T 99999-2020 示例产品技术要求")
    chunks = split_document(document, chunk_chars=600)
    merged = next(chunk for chunk in chunks if "4" in chunk.clauses)
    assert merged.clauses == ("4", "4.1", "4.2", "4.2.1", "4.2.2")
    small = split_document(document, chunk_chars=70)
    clauses = [chunk.clauses for chunk in small]
    assert ("4", "4.1") in clauses and ("4.2", "4.2.1", "4.2.2") in clauses
    heading_first = next(chunk for chunk in small if chunk.clauses == ("4", "4.1"))
    assert heading_first.text.startswith("4 要求\n4.1 一般要求")


def test_faq_pairs_become_one_chunk_each_with_basis_articles() -> None:
    document = SourceDocument(
        path="faq.csv",
        title="常见问题",
        kind="faq",
        faq=(
            FaqPair(
                "企业标准要公开吗？", "应当公开。", "《中华人民共和国标准化法》第二十七条、第27条", "自我声明"
            ),
            FaqPair("GB 2760 是什么？", "食品添加剂使用标准。"),
        ),
    )
    first, second = split_document(document)
    assert (
        first.text
        == "问：企业标准要公开吗？\n答：应当公开。\n依据：《中华人民共和国标准化法》第二十七条、第27条"
    )
    assert first.question == "企业标准要公开吗？"
    assert first.clauses == ("第二十七条",)
    assert first.source == "常见问题" and first.chapter == "自我声明" and first.kind == "faq"
    assert second.clauses == () and second.standards == ("GB 2760",)


def test_doc_splits_on_headings_and_keeps_heading_in_every_part() -> None:
    document = _doc(
        "doc",
        [
            ("指南", 1),
            "引言一段。",
            ("一、适用范围", 2),
            "适用于企业。" * 40,
            ("二、步骤", 2),
            "先登录平台。",
        ],
        title="指南",
    )
    chunks = split_document(document, chunk_chars=120)
    scope = [chunk for chunk in chunks if chunk.chapter == "一、适用范围"]
    assert len(scope) >= 2 and all(chunk.text.startswith("一、适用范围\n") for chunk in scope)
    assert chunks[-1].chapter == "二、步骤" and chunks[-1].text == "二、步骤\n先登录平台。"
    assert chunks[0].chapter is None and "引言一段。" in chunks[0].text


def test_chunks_are_deterministic_with_unique_ids_and_hashes() -> None:
    document = _doc("law", ["第一条 甲。", "第二条 乙。", "第三条 丙。"])
    first, second = split_document(document), split_document(document)
    assert [chunk.id for chunk in first] == [chunk.id for chunk in second]
    assert first == second
    assert len({chunk.id for chunk in first}) == 3
    assert all(chunk.content_hash == hashlib.sha256(chunk.text.encode()).hexdigest() for chunk in first)
    moved = split_document(_doc("law", ["第一条 甲。", "第二条 乙。", "第三条 丙。"], path="other.md"))
    assert not {chunk.id for chunk in moved} & {chunk.id for chunk in first}


def test_chunk_round_trips_through_dict() -> None:
    chunk = split_document(_doc("law", ["第一条 执行 GB/T 19001-2016。"]))[0]
    assert Chunk.from_dict(chunk.to_dict()) == chunk
    assert chunk.standards == ("GB/T 19001-2016",)


def test_chinese_numerals() -> None:
    for number in (1, 9, 10, 11, 20, 27, 99, 100, 101, 110, 119, 1000, 1010):
        assert parse_number(chinese_number(number)) == number
    assert chinese_number(27) == "二十七" and chinese_number(105) == "一百零五"
    assert normalise_structure_id("第27条") == "第二十七条"
    assert normalise_structure_id("第3章") == "第三章"
    assert normalise_structure_id("第二十七条之一") == "第二十七条之一"
