"""The answer chain end to end over the shipped sample knowledge base, with and without an LLM."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support.openai_server import FakeOpenAIServer

import prompts
from config.settings import Settings
from ingest.build import build_knowledge_base
from knowledge.catalogue_answer import not_found_text
from knowledge.chain import Answerer
from knowledge.conversation import ConversationMemory
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.kb import KnowledgeBase, open_knowledge_base
from knowledge.standard_numbers import parse_standard_number
from knowledge.types import Citation

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
TODAY = date(2026, 6, 1)
# Not matched by any FAQ question closely enough, so it goes to the LLM or the extractive answer.
OPEN_QUESTION = "我们是帮别人贴牌代工的，产品标准谁来公开"


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KnowledgeBase, Path]]:
    if not (SAMPLE / "faq.csv").is_file():
        pytest.skip("data/sample is missing")
    data_dir = tmp_path_factory.mktemp("kb")
    embeddings = UniversalSentenceEncoder()
    build_knowledge_base([SAMPLE], Settings(data_dir=data_dir), embeddings=embeddings)
    yield open_knowledge_base(Settings(data_dir=data_dir), embeddings=embeddings, today=TODAY), data_dir


@pytest.fixture(scope="module")
def answerer(sample_kb: tuple[KnowledgeBase, Path]) -> Answerer:
    kb, data_dir = sample_kb
    return Answerer(kb, Settings(data_dir=data_dir))


def llm_answerer(
    sample_kb: tuple[KnowledgeBase, Path], server: FakeOpenAIServer, timeout_s: float = 2.0
) -> Answerer:
    kb, data_dir = sample_kb
    settings = Settings.model_validate(
        {"data_dir": data_dir, "llm": {"base_url": server.base_url, "timeout_s": timeout_s, "model": "m"}}
    )
    return Answerer(kb, settings)


def labels(citations: Sequence[Citation]) -> list[str]:
    return [c.label for c in citations]


# --- no LLM ----------------------------------------------------------------------------------------


def test_enterprise_standard_disclosure_cites_article_27(answerer: Answerer) -> None:
    answer = answerer.ask("企业标准要公开吗")
    assert answer.mode == "faq"
    assert "编号和名称" in answer.text
    assert "《中华人民共和国标准化法》第二十七条" in labels(answer.citations)
    assert not answer.escalate
    assert answer.confidence >= answerer.settings.answer.faq_threshold


def test_current_standard_is_answered_from_the_catalogue(answerer: Answerer) -> None:
    answer = answerer.ask("GB/T 19001-2016 还有效吗")
    assert answer.mode == "catalog"
    assert "现行" in answer.text
    assert answer.confidence >= 0.9
    assert not answer.escalate
    assert [c.standard for c in answer.citations] == ["GB/T 19001-2016"]
    assert all(c.kind == "catalog" for c in answer.citations)


def test_withdrawn_edition_names_its_replacement(answerer: Answerer) -> None:
    answer = answerer.ask("gbt19001-2008还有效吗")
    assert answer.mode == "catalog"
    assert "废止" in answer.text and "GB/T 19001-2016" in answer.text
    assert {c.standard for c in answer.citations} >= {"GB/T 19001-2008", "GB/T 19001-2016"}


def test_unknown_standard_is_said_plainly_not_guessed(answerer: Answerer) -> None:
    answer = answerer.ask("GB/T 99999-2020 还有效吗")
    assert answer.mode == "catalog"
    assert answer.text == not_found_text(parse_standard_number("GB/T 99999-2020"))
    assert answer.citations == ()
    assert not answer.escalate
    assert "catalog_not_found:GB/T 99999-2020" in answer.reasons


def test_full_width_standard_number_is_normalised(answerer: Answerer) -> None:
    answer = answerer.ask("ＧＢ／Ｔ　１９００１－２０１６还有效吗？")
    assert answer.mode == "catalog"
    assert "现行" in answer.text
    assert answer.question == "ＧＢ／Ｔ　１９００１－２０１６还有效吗？"  # shown as typed


def test_status_question_with_context_clause_stays_a_catalogue_answer(answerer: Answerer) -> None:
    answer = answerer.ask("我们是做饮料的，GB 2760新版啥时候开始执行？老版本还能用到什么时候？")
    assert answer.mode == "catalog"
    assert "GB 2760-2024" in answer.text and "GB 2760-2014" in answer.text
    assert not answer.escalate


def test_a_question_beyond_status_combines_catalogue_and_passages(answerer: Answerer) -> None:
    answer = answerer.ask("标准号后面那个年份是指哪年开始执行的吗？比如GB/T 1.1-2020")
    assert answer.mode == "catalog"
    assert answer.text.startswith("GB/T 1.1-2020")
    assert "发布" in answer.text.split("\n\n", 1)[1]  # the second part answers the question itself
    assert any(r.startswith("combined:") for r in answer.reasons)
    assert "GB/T 1.1-2020" in [c.standard for c in answer.citations]
    assert len(answer.citations) > 1


def test_a_content_question_the_kb_cannot_answer_keeps_the_facts_and_escalates(answerer: Answerer) -> None:
    answer = answerer.ask("GB 2760 里防腐剂怎么规定")
    assert answer.mode == "catalog"
    assert "GB 2760-2024" in answer.text
    assert answer.escalate
    assert "low_confidence" in answer.reasons


def test_open_question_gets_cited_passages(answerer: Answerer) -> None:
    answer = answerer.ask(OPEN_QUESTION)
    assert answer.mode == "extractive"
    assert not answer.text.startswith("根据知识库，以下条款")
    assert answer.text.endswith(prompts.load("answer_disclaimer"))
    assert "委托方" in answer.text.split("\n\n")[0]  # the direct reply comes first
    assert 1 <= len(answer.citations) <= answerer.settings.answer.extractive_passages
    assert 0.0 < answer.confidence < 1.0


@pytest.mark.parametrize("message", ["转人工", "我要人工客服", "别跟机器人说了，找个真人跟我聊"])
def test_asking_for_a_person_escalates(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert answer.escalate
    assert answer.mode == "refusal"
    assert answer.text == prompts.load("escalate_human")


@pytest.mark.parametrize("message", ["今天天气", "最近买哪只股票能涨", "帮我写一首关于春天的诗"])
def test_out_of_scope_is_declined_politely_without_handoff(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert not answer.escalate
    assert answer.mode == "refusal"
    assert answer.text == prompts.load("refusal_out_of_scope")


def test_staff_topic_escalates_but_still_answers_what_the_kb_knows(answerer: Answerer) -> None:
    answer = answerer.ask("发现企业违反标准化法规定，可以举报吗")
    assert answer.escalate
    assert answer.text.startswith(prompts.load("escalate_staff_topic"))
    assert answer.mode == "faq"
    assert answer.citations


def test_staff_topic_without_an_answer_goes_to_staff(answerer: Answerer) -> None:
    answer = answerer.ask("检测费我交了两次，怎么退款")
    assert answer.escalate
    assert answer.text == prompts.load("escalate_staff_topic_only")
    assert answer.citations == ()


def test_greeting_is_answered_without_escalation(answerer: Answerer) -> None:
    answer = answerer.ask("你好")
    assert (answer.mode, answer.escalate) == ("refusal", False)
    assert answer.text == prompts.load("refusal_greeting")


@pytest.mark.parametrize("message", ["", "   ", "\n\t", "？？？", "😀"])
def test_empty_question_asks_for_one(answerer: Answerer, message: str) -> None:
    answer = answerer.ask(message)
    assert (answer.mode, answer.escalate, answer.confidence) == ("refusal", False, 0.0)
    assert answer.text == prompts.load("refusal_empty")
    assert answer.reasons == ("empty_question",)


@pytest.mark.parametrize(
    "message", ["<img src=x onerror=alert(1)><script>alert(1)</script>", "<b></b>", "<div>hello</div>"]
)
def test_markup_without_words_asks_for_a_question_instead_of_answering(
    answerer: Answerer, message: str
) -> None:
    answer = answerer.ask(message)
    assert (answer.mode, answer.escalate, answer.citations) == ("refusal", False, ())
    assert answer.text == prompts.load("refusal_unclear")


def test_markup_around_a_real_question_is_still_answered(answerer: Answerer) -> None:
    answer = answerer.ask("<p>企业标准需要公开吗？</p>")
    assert answer.mode != "refusal" and answer.citations


def test_overlong_question_is_truncated_and_still_answered(answerer: Answerer) -> None:
    question = "企业标准要公开吗" + "啊" * 10_000
    answer = answerer.ask(question)
    limit = answerer.settings.answer.max_question_chars
    assert len(answer.question) == limit
    assert f"question_truncated:{len(question)}" in answer.reasons
    assert answer.text and answer.mode in ("faq", "extractive")


def test_emoji_and_mixed_language_questions_are_answered(answerer: Answerer) -> None:
    for question in ("企业标准要公开吗😊", "enterprise standard 企业标准要公开吗 please"):
        answer = answerer.ask(question)
        assert answer.mode == "faq", question
        assert "《中华人民共和国标准化法》第二十七条" in labels(answer.citations)


def test_followups_are_resolved_within_one_conversation(sample_kb: tuple[KnowledgeBase, Path]) -> None:
    kb, data_dir = sample_kb
    answerer = Answerer(kb, Settings(data_dir=data_dir), memory=ConversationMemory())
    first = answerer.ask("强制性标准是谁定的？地方能不能定", conversation="c1")
    assert first.mode == "faq" and "国务院" in first.text

    second = answerer.ask("那团体标准呢？", conversation="c1")
    assert second.question == "团体标准是谁定的?地方能不能定"
    assert "followup:substitute" in second.reasons
    assert "社会团体" in second.text

    third = answerer.ask("那地方标准呢？", conversation="c1")
    assert third.question.startswith("地方标准是谁定的")

    other = answerer.ask("那团体标准呢？", conversation="c2")  # another conversation knows nothing
    assert other.question == "那团体标准呢？"
    assert not any(r.startswith("followup:") for r in other.reasons)


def test_escalations_are_not_remembered_as_the_previous_question(
    sample_kb: tuple[KnowledgeBase, Path],
) -> None:
    kb, data_dir = sample_kb
    answerer = Answerer(kb, Settings(data_dir=data_dir), memory=ConversationMemory())
    answerer.ask("企业标准要公开吗", conversation="c")
    answerer.ask("转人工", conversation="c")
    assert answerer.ask("那团体标准呢", conversation="c").question == "团体标准要公开吗"


def test_answer_json_shape(answerer: Answerer) -> None:
    data = answerer.ask("GB/T 19001-2016 还有效吗").to_json(latency_ms=12.345)
    assert set(data) == {"answer", "mode", "confidence", "escalate", "citations", "suggestions", "latency_ms"}
    assert data["citations"][0]["standard"] == "GB/T 19001-2016"


# --- with an LLM -----------------------------------------------------------------------------------


def _context_labels(server: FakeOpenAIServer) -> dict[int, str]:
    """The numbered passage labels the last prompt carried: {1: "…", 2: "…"}."""
    text = server.requests[-1].text()
    return {int(n): label for n, label in re.findall(r"^\[(\d+)\] (.+)$", text, flags=re.MULTILINE)}


def test_llm_answer_keeps_real_citations_and_drops_invented_ones(
    sample_kb: tuple[KnowledgeBase, Path], openai_server: FakeOpenAIServer
) -> None:
    openai_server.reply("贴牌代工的产品由委托方负责自我声明公开[2]。罚款五万元[9]。产品要符合公开的标准[1]。")
    answerer = llm_answerer(sample_kb, openai_server)
    answer = answerer.ask(OPEN_QUESTION)
    assert answer.mode == "llm"
    prompt_labels = _context_labels(openai_server)
    assert len(prompt_labels) >= 2
    assert OPEN_QUESTION in openai_server.requests[-1].text()
    assert len(answer.citations) == 2
    assert "[9]" not in answer.text and "llm_invalid_markers:9" in answer.reasons
    assert answer.text.startswith(
        "贴牌代工的产品由委托方负责自我声明公开[1]。罚款五万元。产品要符合公开的标准[2]。"
    )
    assert f"[1] {prompt_labels[2]}" in answer.text  # [2] of the prompt is the first source shown
    assert f"[2] {prompt_labels[1]}" in answer.text


def test_llm_is_not_asked_when_an_faq_matches(
    sample_kb: tuple[KnowledgeBase, Path], openai_server: FakeOpenAIServer
) -> None:
    answer = llm_answerer(sample_kb, openai_server).ask("企业标准要公开吗")
    assert answer.mode == "faq"
    assert openai_server.requests == []


@pytest.mark.parametrize(
    ("reply", "timeout_s", "reason"),
    [
        pytest.param({"content": "太慢 [1]", "delay_s": 3}, 0.3, "llm_failed:", id="timeout"),
        pytest.param({"status": 500}, 2.0, "llm_failed:", id="status"),
        pytest.param({"malformed": True}, 2.0, "llm_failed:", id="malformed"),
        pytest.param({"content": "由委托方负责公开。"}, 2.0, "llm_uncited", id="uncited"),
    ],
)
def test_an_llm_that_fails_or_cites_nothing_gives_way_to_the_extractive_answer(
    sample_kb: tuple[KnowledgeBase, Path],
    openai_server: FakeOpenAIServer,
    reply: dict[str, Any],
    timeout_s: float,
    reason: str,
) -> None:
    openai_server.reply(**reply)
    answer = llm_answerer(sample_kb, openai_server, timeout_s=timeout_s).ask(OPEN_QUESTION)
    assert answer.mode == "extractive" and answer.citations and "委托方" in answer.text
    assert any(r.startswith(reason) for r in answer.reasons)


def test_llm_saying_the_kb_lacks_it_escalates(
    sample_kb: tuple[KnowledgeBase, Path], openai_server: FakeOpenAIServer
) -> None:
    openai_server.reply("知识库中没有相关内容。")
    answer = llm_answerer(sample_kb, openai_server).ask(OPEN_QUESTION)
    assert answer.mode == "extractive"
    assert answer.escalate
    assert "llm_unknown" in answer.reasons
