"""What a question asks of its topic, and whether an FAQ question asks the same thing."""

from __future__ import annotations

import pytest

from knowledge.asks import AskVocabulary, ask_of, same_ask, without_ask_words


@pytest.mark.parametrize(
    ("text", "kinds", "asked_actions"),
    [
        ("企业标准要备案吗", {"whether"}, {"备案"}),
        ("强制性标准不执行怎么罚", {"penalty"}, {"执行"}),
        ("自我声明公开要钱吗", {"cost", "whether"}, {"公开"}),
        ("卖过期的产品罚多少钱", {"penalty"}, {"销售"}),  # 罚多少钱 hides 多少钱
        ("没做自我声明公开会怎么样", {"penalty"}, {"公开"}),  # 会怎么样 hides 怎么样
        ("我们自己定的企业标准需要备案吗", {"whether"}, {"备案"}),  # the verb nearest the ask
        ("企标里没写检验方法，会被废掉吗", {"whether"}, {"废止"}),  # only the clause that asks
        ("CCC认证由谁申请？", {"who"}, {"办理"}),
        ("举报电话是多少", {"contact"}, {"举报"}),
        ("参与标准制定有补贴吗", {"reward", "whether"}, {"制定"}),
    ],
)
def test_ask_of_names_kinds_and_the_action_asked_about(
    text: str, kinds: set[str], asked_actions: set[str]
) -> None:
    ask = ask_of(text)
    assert ask.kinds == kinds
    assert ask.asked_actions == asked_actions


@pytest.mark.parametrize(
    ("question", "faq"),
    [
        ("企标要不要自我声明公开", "企业执行的标准都必须自我声明公开吗？"),
        ("强标不执行会怎么罚", "生产销售不符合强制性标准的产品，会受到什么处罚？"),
        ("法定计量单位包括哪些", "我国的法定计量单位是什么？"),  # what ↔ which
        ("对标达标的专项活动在哪报名", "企业怎样参加对标达标活动？"),  # where ↔ how
        ("自我声明在哪个网站上弄", "自我声明公开在哪里办理？"),
        ("3C证书能用几年", "CCC认证证书的有效期是多久？"),
    ],
)
def test_the_same_ask_in_other_words(question: str, faq: str) -> None:
    assert same_ask(ask_of(question), ask_of(faq))


@pytest.mark.parametrize(
    ("question", "faq"),
    [
        ("企业标准要备案吗", "企业可以自己制定企业标准吗？"),  # 备案 is not 制定
        ("强制性标准不执行怎么罚", "强制性标准必须执行吗？"),  # 怎么罚 is not 必须执行吗
        ("企业标准自我声明公开要钱吗", "企业标准自我声明公开是什么意思？"),
        ("产品标识不合规是哪个部门来处罚", "产品标识不合规会受到什么处罚？"),  # who, not only penalty
        ("推标也要自我声明公开吗", "自我声明公开在哪里办理？"),  # yes/no is not where
        ("GB/Z 需要备案吗", "GB、GB/T、GB/Z 有什么区别？"),
        ("企业参与国家标准制定有补贴吗", "企业可以参与国家标准的制定吗？"),
        ("举报违反标准化法的电话是多少", "发现企业违反标准化法规定，可以举报吗？"),
    ],
)
def test_a_different_ask_of_the_same_topic(question: str, faq: str) -> None:
    assert not same_ask(ask_of(question), ask_of(faq))


def test_related_kinds_work_both_ways() -> None:
    vocabulary = AskVocabulary.load()
    assert {"what", "which"} <= vocabulary.widened(frozenset({"what"}))
    assert "what" in vocabulary.widened(frozenset({"which"}))
    assert vocabulary.widened(frozenset({"cost"})) == {"cost"}


def test_ask_words_leave_the_topic() -> None:
    assert without_ask_words("企业标准没有公开会怎么样") == "企业标准没有公开"
