"""Several questions in one message split into standalone parts, each keeping its subject."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.question_parts import split_parts

SUBJECTS = ["企业标准", "团体标准", "地方标准", "强制性国家标准", "GB/T 19001-2016"]
ASKS = ["要公开吗", "要备案吗", "由谁制定", "罚多少", "还有效吗", "在哪个网站查"]


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        ("企业标准要公开吗？要备案吗？", ["企业标准要公开吗？", "企业标准要备案吗？"]),
        ("企业标准要公开吗", ["企业标准要公开吗"]),
        (
            "1. 企业标准要公开吗 2. 要备案吗 3. 罚多少",
            ["企业标准要公开吗", "企业标准要备案吗", "企业标准罚多少"],
        ),
        (
            "我有三个问题：1、团体标准谁批准？2、要备案吗？3、GB/T 19001-2016还有效吗？",
            ["团体标准谁批准？", "团体标准要备案吗？", "GB/T 19001-2016还有效吗？"],
        ),
        ("一是企业标准要不要备案，二是团体标准由谁制定", ["企业标准要不要备案", "团体标准由谁制定"]),
        ("第一，企业标准要备案吗；第二，团体标准谁制定", ["企业标准要备案吗", "团体标准谁制定"]),
        (
            "关于企业标准，想问：（1）要公开吗（2）在哪个网站公开",
            ["企业标准要公开吗", "企业标准在哪个网站公开"],
        ),
        ("①企业标准要公开吗②团体标准呢", ["企业标准要公开吗", "团体标准呢"]),
        (
            "GB/T 19001-2016还有效吗？代替了哪个标准？",
            ["GB/T 19001-2016还有效吗？", "GB/T 19001-2016代替了哪个标准？"],
        ),
        ("企业标准要公开吗？另外，团体标准要公开吗？", ["企业标准要公开吗？", "团体标准要公开吗？"]),
        ("企业标准要公开吗？再问一下团体标准谁批准", ["企业标准要公开吗？", "团体标准谁批准"]),
        ("企业标准要公开吗，还有，要备案吗", ["企业标准要公开吗", "企业标准要备案吗"]),
        ("企业标准要公开吗\n团体标准要公开吗", ["企业标准要公开吗", "团体标准要公开吗"]),
        (
            "Is GB/T 19001-2016 still valid? What replaced it?",
            ["Is GB/T 19001-2016 still valid?", "GB/T 19001-2016 What replaced it?"],
        ),
    ],
)
def test_parts_are_split_and_carry_the_shared_subject(message: str, parts: list[str]) -> None:
    assert split_parts(message) == parts


@pytest.mark.parametrize(
    "message",
    [
        "GB/T 1.1-2020 还有效吗",  # a dotted number is not "1."
        "GB/T 19001-2016 还有效吗？",
        "标准化法第1、2条讲什么",
        "统一是否需要备案？",
        "2016年发布的标准还能用吗",
        "GB/T 19001-2016还有效，是吗？",
        "还有效吗",
    ],
)
def test_a_single_question_stays_whole(message: str) -> None:
    assert split_parts(message) == [message]


@pytest.mark.parametrize("message", ["", "   ", "\n"])
def test_an_empty_message_has_no_parts(message: str) -> None:
    assert split_parts(message) == []


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(ASKS)), min_size=1, max_size=5),
    st.sampled_from(["？", "?", "？ ", "？\n"]),
)
def test_questions_joined_by_question_marks_come_back_one_by_one(
    questions: list[tuple[str, str]], mark: str
) -> None:
    message = "".join(f"{subject}{ask}{mark}" for subject, ask in questions)
    expected = [f"{subject}{ask}{mark.strip()}" for subject, ask in questions]
    assert split_parts(message) == (expected if len(expected) > 1 else [message.strip()])


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SUBJECTS), st.lists(st.sampled_from(ASKS), min_size=2, max_size=5))
def test_numbered_parts_without_a_subject_take_the_first_ones(subject: str, asks: list[str]) -> None:
    message = " ".join(f"{n}. {subject if n == 1 else ''}{ask}" for n, ask in enumerate(asks, start=1))
    assert split_parts(message) == [f"{subject}{ask}" for ask in asks]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_splits_without_error_into_non_empty_parts(text: str) -> None:
    parts = split_parts(text)
    assert (parts == []) == (not text.strip())
    assert all(part.strip() for part in parts)
    assert len(parts) <= max(1, len(text))


def test_a_very_long_message_splits_into_its_parts() -> None:
    message = "企业标准要公开吗？" * 1200
    parts = split_parts(message)
    assert len(parts) == 1200 and parts[0] == "企业标准要公开吗？"
