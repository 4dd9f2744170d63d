"""Scope, the service itself, insults, unclear and bad input, English and unknown numbers, answered end
to end by the chain over the shipped sample knowledge base."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from support.sample_kb import build_sample_kb

import prompts
from config.settings import Settings
from knowledge.chain import Answerer
from knowledge.kb import KnowledgeBase

TODAY = date(2026, 6, 1)
DOUBLED_PUNCTUATION = re.compile(r"[。；，,;][。；，,;]")


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeBase, Path]:
    return build_sample_kb(tmp_path_factory, today=TODAY)


@pytest.fixture(scope="module")
def answerer(sample_kb: tuple[KnowledgeBase, Path]) -> Answerer:
    kb, data_dir = sample_kb
    return Answerer(kb, Settings(data_dir=data_dir))


@pytest.mark.parametrize(
    "message", ["明天杭州天气怎么样", "最近买哪只股票能涨", "帮我订一张火车票", "个税怎么申报", "讲个笑话"]
)
def test_out_of_scope_gets_a_scope_message_and_no_handoff(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert answer.text == prompts.load("refusal_out_of_scope")
    assert not answer.escalate
    assert "转给工作人员" not in answer.text


@pytest.mark.parametrize(
    "message",
    ["人工服务时间是几点到几点", "人工几点上班", "你们几点下班", "周末有人吗", "节假日有人吗", "怎么转人工"],
)
def test_service_questions_are_answered_from_the_settings(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert not answer.escalate
    assert "09:00-17:30" in answer.text
    assert "周一至周五" in answer.text
    assert "节假日" in answer.text
    assert "回复“转人工”" in answer.text
    assert answer.reasons[0].startswith("intent:service:")


def test_service_answer_follows_changed_settings(sample_kb: tuple[KnowledgeBase, Path]) -> None:
    kb, data_dir = sample_kb
    settings = Settings.model_validate(
        {
            "data_dir": data_dir,
            "handoff": {
                "hours": "08:30-16:00",
                "weekdays": [1, 2, 3, 4, 5, 6],
                "holidays": ["2099-10-01", "2099-10-02", "2099-10-03"],
                "workdays": ["2099-09-27"],
            },
        }
    )
    text = Answerer(kb, settings).ask("人工客服几点上班").text
    assert "08:30-16:00" in text and "周一至周六" in text
    assert "10月1日至10月3日" in text and "9月27日" in text
    assert "09:00" not in text


def test_a_request_for_a_person_still_hands_over(answerer: Answerer) -> None:
    answer = answerer.ask("转人工")
    assert answer.escalate
    assert answer.text == prompts.load("escalate_human")


@pytest.mark.parametrize("message", ["你是傻子吗", "垃圾机器人", "你有病吧"])
def test_insults_get_a_calm_reply_and_the_offer_of_a_person(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert answer.text == prompts.load("refusal_insult")
    assert "回复“转人工”" in answer.text
    assert not answer.escalate
    assert answer.citations == ()


@pytest.mark.parametrize("message", ["asdfgh", "啊啊啊啊", "qwerty uiop", "[捂脸]", "哈哈哈哈"])
def test_key_mash_asks_to_rephrase(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert answer.text == prompts.load("refusal_unclear")
    assert not answer.escalate
    assert answer.citations == ()


@pytest.mark.parametrize("message", ["企标?", "GB 2760", "CCC", "ISO 9001"])
def test_short_real_questions_are_answered(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert answer.text not in {prompts.load("refusal_unclear"), prompts.load("refusal_empty")}
    assert answer.mode != "refusal"


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["", "   ", "\n\t", "😀😀😀", "。。。。", "？？？", "🙏👍"])
def test_empty_and_symbol_only_messages_ask_for_a_question(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert answer.mode == "refusal"
    assert answer.text in {prompts.load("refusal_empty"), prompts.load("refusal_unclear")}
    assert not answer.escalate


def test_ten_thousand_characters_are_cut_and_answered(answerer: Answerer) -> None:
    answer = answerer.ask("企业标准要公开吗？" * 1200)
    assert answer.text
    assert any(reason.startswith("question_truncated:") for reason in answer.reasons)
    assert len(answer.question) <= answerer.settings.answer.max_question_chars + 40


def test_ten_thousand_characters_of_mash_are_unclear(answerer: Answerer) -> None:
    answer = answerer.ask("啊" * 10_000)
    assert answer.text == prompts.load("refusal_unclear")


def test_full_width_number_is_read_as_the_standard(answerer: Answerer) -> None:
    answer = answerer.ask("ＧＢ／Ｔ　１９００１－２０１６")
    assert answer.mode == "catalog"
    assert "GB/T 19001-2016" in answer.text and "现行" in answer.text
    assert [c.standard for c in answer.citations] == ["GB/T 19001-2016"]


@pytest.mark.parametrize(
    "message", ["GB/T 19001-2016 still 有效吗？", "企业standard要公开吗", "ISO 9001 对应 which 国标 😀"]
)
def test_mixed_scripts_are_answered(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert answer.mode != "refusal"
    assert answer.text and not DOUBLED_PUNCTUATION.search(answer.text)


# --- English -----------------------------------------------------------------------------------


def test_english_question_about_a_gb_number_gets_catalogue_facts_only(answerer: Answerer) -> None:
    answer = answerer.ask("Is GB/T 19001-2016 still valid?")
    assert answer.mode == "catalog"
    assert "现行" in answer.text
    assert "常见问题" not in answer.text
    assert all(c.kind == "catalog" for c in answer.citations)
    assert not answer.escalate


@pytest.mark.parametrize(
    ("message", "term"),
    [
        ("Does an enterprise standard need to be published?", "企业标准"),
        ("What is the penalty for not following a mandatory national standard?", "强制性"),
        ("Who approves group standards?", "团体标准"),
        ("How does self-declaration of enterprise standards work?", "自我声明"),
    ],
)
def test_english_domain_questions_reach_the_chinese_knowledge_base(
    answerer: Answerer, message: str, term: str
) -> None:
    answer = answerer.ask(message)
    assert term in answer.question  # the Chinese term was added for retrieval
    if answer.mode == "faq_suggest":  # the nearest Chinese FAQ questions, to pick from
        assert any(term in suggestion for suggestion in answer.suggestions)
        return
    assert answer.mode in ("faq", "extractive", "llm")
    assert any(term in c.text or term in (c.source or "") for c in answer.citations)


# --- unknown numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "platform"),
    [
        ("Q/GDW 1168-2013 是什么标准", "企业标准信息公共服务平台"),
        ("T/CSAE 123-2021 还有效吗", "全国团体标准信息平台"),
        ("DB11/T 1234-2020 现行吗", "地方标准信息服务平台"),
        ("GB/T 99999-2020 还有效吗", "全国标准信息公共服务平台"),
        ("YY 0505-2012 还能用吗", "全国标准信息公共服务平台"),
    ],
)
def test_unknown_numbers_point_to_the_platform_for_their_kind(
    answerer: Answerer, message: str, platform: str
) -> None:
    answer = answerer.ask(message)
    assert "没有查到" in answer.text
    assert platform in answer.text
    assert "回复“转人工”" in answer.text
    assert "常见问题" not in answer.text and answer.citations == ()
    assert not answer.escalate


def test_an_unknown_number_with_more_asked_adds_no_unrelated_passages(answerer: Answerer) -> None:
    answer = answerer.ask("T/ABC 001-2023 这个标准的技术要求是什么")
    assert "没有查到" in answer.text
    assert "相关规定" not in answer.text and answer.citations == ()


def test_iso_question_lists_the_current_adopter_first_without_doubled_punctuation(answerer: Answerer) -> None:
    answer = answerer.ask("ISO 9001:2015 对应的国标是哪个")
    text = answer.text
    assert text.index("GB/T 19001-2016") < text.index("GB/T 19001-2008")
    assert "GB/T 19001-2008（采用 ISO 9001:2008），已废止，被 GB/T 19001-2016 代替" in text
    assert not DOUBLED_PUNCTUATION.search(text)
    assert not answer.escalate
