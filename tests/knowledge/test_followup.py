"""Follow-up questions completed from the previous question, and the bounded conversation memory."""

from __future__ import annotations

import threading

import pytest

from knowledge.conversation import ConversationMemory
from knowledge.followup import FollowupVocabulary, is_followup, resolve_followup

VOCABULARY = FollowupVocabulary.load()


@pytest.mark.parametrize(
    ("previous", "question", "resolved", "method"),
    [
        ("企业标准要公开吗", "那团体标准呢？", "团体标准要公开吗", "substitute"),
        ("企业标准要公开吗", "地方标准呢", "地方标准要公开吗", "substitute"),
        ("国标是强制的吗", "那行标呢", "行标是强制的吗", "substitute"),
        ("强制性国家标准由谁制定", "推荐性国家标准呢", "推荐性国家标准由谁制定", "substitute"),
        ("强制性标准是谁定的？地方能不能定", "那团体标准呢？", "团体标准是谁定的?地方能不能定", "substitute"),
        ("GB/T 19001-2016 还有效吗", "那GB/T 19004呢", "GB/T 19004 还有效吗", "substitute"),
        ("企业标准要公开吗", "那如果是出口产品呢？", "企业标准要公开吗，如果是出口产品呢?", "append"),
        ("企业标准没有公开会怎么样", "罚多少？", "企业标准 公开 罚多少?", "topic"),
        ("企业标准自我声明公开是什么", "要钱吗？", "企业标准 自我声明公开 要钱吗?", "topic"),
        ("团标是啥，谁能定", "是强制执行的吗", "团标 是强制执行的吗", "topic"),
        ("团标 是强制执行的吗", "编号怎么编", "团标 编号怎么编", "topic"),
        ("团体标准是强制执行的吗", "还有呢？", "团体标准是强制执行的吗", "repeat"),
        ("Q/ABC 001-2020 企标要公开吗", "and 团标呢", "Q/ABC 001-2020 团标要公开吗", "substitute"),
    ],
)
def test_followups_are_completed_from_the_previous_question(
    previous: str, question: str, resolved: str, method: str
) -> None:
    resolution = resolve_followup(question, previous, VOCABULARY)
    assert (resolution.question, resolution.method) == (resolved, method)


@pytest.mark.parametrize(
    ("previous", "question"),
    [
        (None, "那团体标准呢？"),  # no previous question
        ("企业标准要公开吗", "强制性标准必须执行吗"),  # a full question of its own
        ("企业标准要公开吗", "什么是团标"),
        ("企业标准要公开吗", "那团体标准要备案吗"),  # names a subject and asks something new
        ("企业标准要公开吗", "GB/T 19001-2016 还有效吗"),
        ("企业标准要公开吗", "产品没有国家标准也没有行业标准的时候企业应该按照什么标准组织生产"),
    ],
)
def test_questions_that_stand_alone_are_kept(previous: str | None, question: str) -> None:
    resolution = resolve_followup(question, previous, VOCABULARY)
    assert resolution.method == "none"
    assert resolution.question == question


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("那团体标准呢？", True),
        ("罚多少？", True),
        ("如果是出口产品呢", True),
        ("怎么办", True),
        ("ＧＢ／Ｔ １９００４ 呢", True),
        ("企业标准要公开吗", False),
        ("标准分为哪几类", False),
        ("", False),
    ],
)
def test_is_followup(text: str, expected: bool) -> None:
    assert is_followup(text, VOCABULARY) is expected


def test_a_chain_of_followups_keeps_substituting() -> None:
    memory = ConversationMemory()
    memory.remember("c", "企业标准要公开吗")
    for question, expected in [("那团体标准呢？", "团体标准要公开吗"), ("地方标准呢", "地方标准要公开吗")]:
        resolution = resolve_followup(question, memory.previous("c"), VOCABULARY)
        assert resolution.question == expected
        memory.remember("c", resolution.question)


def test_memory_keeps_each_conversation_apart() -> None:
    memory = ConversationMemory()
    memory.remember("a", "企业标准要公开吗")
    memory.remember("b", "团体标准由谁制定")
    assert memory.previous("a") == "企业标准要公开吗"
    assert memory.previous("b") == "团体标准由谁制定"
    assert memory.previous("c") is None


def test_memory_drops_the_least_recently_used_conversation() -> None:
    memory = ConversationMemory(max_conversations=2)
    memory.remember("a", "q1")
    memory.remember("b", "q2")
    assert memory.previous("a") == "q1"  # a is now more recent than b
    memory.remember("c", "q3")
    assert len(memory) == 2
    assert memory.previous("b") is None
    assert memory.previous("a") == "q1"
    assert memory.previous("c") == "q3"


def test_memory_forgets_old_questions() -> None:
    now = [1000.0]
    memory = ConversationMemory(max_age_s=60, clock=lambda: now[0])
    memory.remember("a", "企业标准要公开吗")
    now[0] += 59
    assert memory.previous("a") == "企业标准要公开吗"
    now[0] += 61
    assert memory.previous("a") is None
    assert len(memory) == 0


def test_memory_is_safe_under_concurrent_writers() -> None:
    memory = ConversationMemory(max_conversations=50)

    def writer(prefix: str) -> None:
        for i in range(500):
            memory.remember(f"{prefix}{i % 80}", f"q{i}")
            memory.previous(f"{prefix}{(i * 7) % 80}")

    threads = [threading.Thread(target=writer, args=(p,)) for p in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memory) == 50
