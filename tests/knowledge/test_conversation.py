"""Conversations through the answer chain: follow-ups build on the topic, a reply is never sent twice in a
row, and a bare number picks one of the questions the last reply offered."""

from __future__ import annotations

import pytest
from support.sample_kb import sample_answerer

import prompts
from knowledge.chain import Answerer
from knowledge.conversation import ConversationMemory, ConversationState

REPEAT = prompts.load("answer_repeat")


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Answerer:
    return sample_answerer(tmp_path_factory)


def test_the_same_reply_is_never_sent_twice_in_a_row(answerer: Answerer) -> None:
    first = answerer.ask("企业标准自我声明公开是什么意思", conversation="repeat")
    again = answerer.ask("企业标准自我声明公开是什么意思？", conversation="repeat")
    assert first.mode == "faq"
    assert again.text == REPEAT
    assert "转人工" in again.text
    assert (again.mode, again.escalate, again.citations) == ("refusal", False, ())
    assert "repeat" in again.reasons


def test_without_a_conversation_nothing_is_remembered(answerer: Answerer) -> None:
    question = "企业标准自我声明公开是什么意思"
    assert answerer.ask(question).text == answerer.ask(question).text != REPEAT


def test_a_follow_up_asks_its_own_question_of_the_topic(answerer: Answerer) -> None:
    first = answerer.ask("企业标准自我声明公开是什么", conversation="topic")
    where = answerer.ask("在哪个网站办", conversation="topic")
    assert "自我声明公开" in where.question
    assert "在哪个网站办" in where.question
    assert where.text != first.text
    assert "企业标准信息公共服务平台" in where.text


def test_a_new_question_is_not_merged_into_the_previous_topic(answerer: Answerer) -> None:
    answerer.ask("企业标准自我声明公开是什么", conversation="switch")
    other = answerer.ask("CCC认证证书的有效期有几年", conversation="switch")
    assert other.question == "CCC认证证书的有效期有几年"
    assert "5年" in other.text


def test_a_number_picks_an_offered_question(answerer: Answerer) -> None:
    offered = ("企业标准的编号怎么编？", "自我声明公开在哪里办理？")
    answerer.memory.save("pick", ConversationState(suggestions=offered))
    picked = answerer.ask("2", conversation="pick")
    assert picked.question == offered[1]
    assert picked.mode == "faq"
    assert "suggestion_pick:2" in picked.reasons
    assert answerer.memory.state("pick").suggestions == picked.suggestions


@pytest.mark.parametrize("message", ["第三个", "5"])
def test_a_number_out_of_range_asks_for_one_in_range(answerer: Answerer, message: str) -> None:
    offered = ("企业标准的编号怎么编？", "什么是标准样品？")
    answerer.memory.save("range", ConversationState(suggestions=offered))
    answer = answerer.ask(message, conversation="range")
    assert answer.text == prompts.render("suggestion_out_of_range", count=2)
    assert not answer.escalate
    assert answer.suggestions == offered  # still on offer


@pytest.mark.parametrize("conversation", [None, "fresh"])
def test_a_number_with_nothing_offered_asks_for_a_question(
    answerer: Answerer, conversation: str | None
) -> None:
    answer = answerer.ask("２", conversation=conversation)
    assert answer.text == prompts.load("suggestion_none")
    assert (answer.mode, answer.escalate) == ("refusal", False)


def test_memory_keeps_the_numbers_named_newest_first() -> None:
    state = ConversationState().with_numbers(("GB/T 19001-2016",)).with_numbers(("GB/T 19001-2008",))
    assert state.numbers == ("GB/T 19001-2008", "GB/T 19001-2016")
    memory = ConversationMemory(max_age_s=10, clock=lambda: 0.0)
    memory.save("c", state)
    assert memory.state("c") == state
    assert memory.previous("c") is None  # no topic yet


def test_an_edition_follow_up_asks_about_that_edition(answerer: Answerer) -> None:
    answerer.ask("GB/T 19001-2016 还有效吗", conversation="edition")
    older = answerer.ask("那2008版呢", conversation="edition")
    assert older.question == "GB/T 19001-2008 还有效吗"
    assert "废止" in older.text
    assert older.citations[0].standard == "GB/T 19001-2008"


def test_an_offer_of_questions_may_stand_twice_and_stays_pickable(answerer: Answerer) -> None:
    first = answerer.ask("3C证拿到以后能用几年", conversation="offer")
    again = answerer.ask("3C证拿到以后能用几年", conversation="offer")
    assert first.mode == again.mode == "faq_suggest"
    assert again.suggestions == first.suggestions != ()
    picked = answerer.ask("1", conversation="offer")
    assert picked.question == first.suggestions[0]
    assert picked.mode == "faq"


def test_a_standard_named_by_its_title_then_another_edition(answerer: Answerer) -> None:
    current = answerer.ask("生活饮用水卫生标准现在是哪一版", conversation="title")
    assert current.mode == "catalog"
    assert current.text.startswith("GB 5749-2022")
    older = answerer.ask("那2006版呢", conversation="title")
    assert older.text.startswith("GB 5749-2006") and "废止" in older.text
    assert [c.standard for c in older.citations][:1] == ["GB 5749-2006"]
