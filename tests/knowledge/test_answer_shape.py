"""What an answer looks like without an LLM: a direct reply first, short, 依据 named once, several questions
answered one by one."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.sample_kb import sample_answerer

import prompts
from knowledge.chain import Answerer

LAW = """# 示例标准化条例

第五条 本示例中，达不到强制性标准的产品和服务，一律不得出厂、销售或者对外提供。

第七条 本示例要求企业向社会说明所执行标准的编号和名称，并接受社会监督。

第九条 本示例中，生产或者销售的产品达不到强制性标准的，由主管部门依法查处，记入企业信用记录，
并向社会公示。
"""


@pytest.fixture(scope="module")
def laws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("laws")
    (folder / "示例标准化条例.md").write_text(LAW, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory, laws: Path) -> Answerer:
    return sample_answerer(tmp_path_factory, laws)


@pytest.fixture(scope="module")
def law_answerer(tmp_path_factory: pytest.TempPathFactory, laws: Path) -> Answerer:
    return sample_answerer(tmp_path_factory, laws, with_sample=False)


def test_a_faq_answer_names_its_basis_once_and_the_sheet_as_common_questions(answerer: Answerer) -> None:
    answer = answerer.ask("企业标准自我声明公开是什么意思")
    assert answer.mode == "faq"
    assert "依据" not in answer.text  # channels name the sources once, from the citations
    labels = [c.label for c in answer.citations]
    assert "《中华人民共和国标准化法》第二十七条" in labels
    assert "常见问题" in labels
    assert not any(label.startswith("《常见问题") for label in labels)


def test_an_extractive_answer_opens_with_the_operative_sentence(law_answerer: Answerer) -> None:
    answer = law_answerer.ask("产品不符合强制性标准的话，会被怎么查处")
    assert answer.mode == "extractive"
    direct = answer.text.split("\n\n")[0]
    assert direct.startswith("根据《示例标准化条例》第九条：")
    assert "查处" in direct
    assert not answer.text.startswith("根据知识库，以下条款")
    before_disclaimer = answer.text.removesuffix(prompts.load("answer_disclaimer"))
    assert len(before_disclaimer) <= 360
    assert len(answer.citations) <= 3


def test_several_questions_are_answered_each_with_its_own_basis(answerer: Answerer) -> None:
    answer = answerer.ask("企业标准自我声明公开是什么意思？团体标准是强制执行的吗？")
    assert "parts:2" in answer.reasons
    first, second = answer.text.split("\n\n")[:2]
    assert first.startswith("1. ") and second.startswith("2. ")
    assert "《中华人民共和国标准化法》第二十七条" in first
    assert answer.text.endswith(prompts.load("answer_disclaimer"))
    assert answer.text.count(prompts.load("answer_disclaimer")) == 1


def test_more_than_three_questions_are_asked_one_at_a_time(answerer: Answerer) -> None:
    answer = answerer.ask("1. 企标要公开吗？2. 团标谁定？3. 强标不执行怎么罚？4. CCC证书几年？")
    assert answer.text == prompts.render("answer_too_many_parts", count=4)
    assert not answer.escalate


def test_an_example_after_a_question_is_not_a_second_question(answerer: Answerer) -> None:
    answer = answerer.ask("标准号后面的年份是实施年份吗？比如GB/T 1.1-2020")
    assert not any(r.startswith("parts:") for r in answer.reasons)
