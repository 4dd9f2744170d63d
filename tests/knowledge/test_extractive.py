"""Extractive answers: passage choice, trimming around the question's terms, labels and citations."""

from __future__ import annotations

import pytest
from support.hits import hit

import prompts
from knowledge.extractive import (
    ELLIPSIS,
    build_extractive_answer,
    near_duplicate,
    passage_body,
    passage_label,
    select_passages,
    split_sentences,
    trim_passage,
)

# Invented wording in the shape of an article.
ARTICLE_27 = (
    "第二十七条 本示例对企业所用标准实行公开与监督，由主管部门负责日常抽查和结果通报。"
    "企业需把所用标准的编号和名称告诉社会；用自己起草的企业标准时，另需说明产品的功能指标和性能指标。"
    "示例平台欢迎企业在线公开，也接受社会各方对公开内容的查询和意见。"
    "企业的产品须达到其公开标准里的技术要求，出厂检验记录应当保存备查。"
)


def test_sentences_keep_their_punctuation_and_join_back() -> None:
    text = "第一句。第二句！\n- 列表一\n- 列表二。“引号。”末尾"
    sentences = split_sentences(text)
    assert sentences == ["第一句。", "第二句！\n", "- 列表一\n", "- 列表二。", "“引号。”", "末尾"]
    assert "".join(sentences) == text


def test_short_passages_are_kept_whole() -> None:
    assert trim_passage("企业应当公开标准。", "企业标准要公开吗", 50) == "企业应当公开标准。"


def test_long_passages_are_trimmed_around_the_question_terms() -> None:
    excerpt = trim_passage(ARTICLE_27, "企业执行自己制定的企业标准要公开性能指标吗", 90)
    assert "性能指标" in excerpt
    assert len(excerpt) <= 90 + 2 * len(ELLIPSIS)
    assert excerpt.endswith(ELLIPSIS)

    other = trim_passage(ARTICLE_27, "产品要符合公开标准的技术要求吗", 60)
    assert "技术要求" in other
    assert other.startswith(ELLIPSIS)
    assert "功能指标" not in other


def test_a_single_overlong_sentence_is_cut() -> None:
    sentence = "企业" + "应当" * 100 + "公开。"
    excerpt = trim_passage(sentence, "企业公开", 50)
    assert excerpt == sentence[:50] + ELLIPSIS


def test_near_duplicates_are_detected() -> None:
    assert near_duplicate(ARTICLE_27, ARTICLE_27.replace("示例平台欢迎", "示例平台鼓励"))
    assert not near_duplicate(ARTICLE_27, "计量器具应当定期检定，未经检定的不得使用。")


def test_selection_skips_duplicates_and_spreads_over_sources() -> None:
    hits = [
        hit(ARTICLE_27, score=0.05),
        hit(
            ARTICLE_27.replace("示例平台欢迎", "示例平台鼓励"),
            source="某省标准化条例",
            kind="local",
            score=0.04,
        ),
        hit(
            "第二十八条 企业研制新产品、改进产品，进行技术改造的，应当符合本法规定的标准化要求。",
            clauses=("第二十八条",),
            score=0.03,
        ),
        hit("第二十九条 国家建立强制性标准实施情况统计分析报告制度。", clauses=("第二十九条",), score=0.02),
        hit(
            "第十四条 企业应当公开其执行的标准。",
            source="企业标准化促进办法",
            kind="rule",
            clauses=("第十四条",),
            score=0.01,
        ),
    ]
    chosen = select_passages(hits, 3)
    assert [h.chunk.clauses[0] for h in chosen] == ["第二十七条", "第二十八条", "第十四条"]
    assert {h.chunk.source for h in chosen} == {"中华人民共和国标准化法", "企业标准化促进办法"}


def test_article_ids_and_headings_are_not_repeated_in_the_body() -> None:
    assert passage_body(hit(ARTICLE_27)).startswith("本示例对企业所用标准")
    section = hit(
        "一、对标达标怎么做\n先找差距，再补差距。",
        source="指南",
        kind="doc",
        clauses=(),
        chapter="一、对标达标怎么做",
    )
    assert passage_body(section) == "先找差距，再补差距。"
    assert passage_label(section) == "《指南》 一、对标达标怎么做"


def test_faq_passages_quote_the_answer_and_name_the_question_and_basis() -> None:
    faq = hit(
        "问：企业标准要公开吗？\n答：需要公开编号和名称。\n依据：《中华人民共和国标准化法》第二十七条",
        source="faq",
        kind="faq",
        question="企业标准要公开吗？",
    )
    assert passage_body(faq) == "需要公开编号和名称。"
    label = passage_label(faq)
    assert "企业标准要公开吗？" in label
    assert "《中华人民共和国标准化法》第二十七条" in label


def test_extractive_answer_cites_each_passage_by_article() -> None:
    hits = [
        hit(ARTICLE_27, score=0.05),
        hit(
            "第十四条 企业应当公开其执行的标准的编号和名称。",
            source="企业标准化促进办法",
            kind="rule",
            clauses=("第十四条",),
        ),
    ]
    answer = build_extractive_answer("企业标准要公开吗", hits, count=3, passage_chars=300)
    assert [c.label for c in answer.citations] == [
        "《中华人民共和国标准化法》第二十七条",
        "《企业标准化促进办法》第十四条",
    ]
    direct, support, disclaimer = answer.text.split("\n\n")
    assert direct.startswith("根据《中华人民共和国标准化法》第二十七条：")
    assert support.startswith(prompts.load("answer_support_lead"))
    assert "· 《企业标准化促进办法》第十四条：企业应当公开" in support
    assert disclaimer == prompts.load("answer_disclaimer")
    assert "依据" not in answer.text  # channels name the sources once, from the citations


@pytest.mark.parametrize("count", [1, 2])
def test_extractive_answer_respects_the_passage_count(count: int) -> None:
    hits = [
        hit(f"第{n}条 内容{n}各不相同的条文{'甲乙丙丁'[n]}。" * 3, clauses=(f"第{n}条",), source=f"法{n}")
        for n in range(3)
    ]
    assert len(build_extractive_answer("内容", hits, count=count, passage_chars=300).passages) == count


def test_nothing_found_says_so_without_citations() -> None:
    answer = build_extractive_answer("企业标准要公开吗", [], count=3, passage_chars=300)
    assert answer.passages == ()
    assert answer.text == prompts.load("answer_not_found")
