"""Golden files of every kind: telling them apart, the per-turn checks of dialogues, FAQ precision and
recall, the passage-list shape, and a real run over the sample knowledge base."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.errors import StdbotError
from config.settings import Settings
from ingest.build import build_knowledge_base
from knowledge.chain import Answerer
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.eval_dialogues import DialogueTurn, check_turn
from knowledge.eval_faq import FaqPair, FaqResult, chosen_faq, faq_metrics
from knowledge.evaluation import is_passage_list
from knowledge.golden_files import evaluate_file, load_golden_file
from knowledge.kb import open_knowledge_base
from knowledge.types import Answer, Citation

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
FIXTURES = ROOT / "tests" / "fixtures" / "eval"


def answer(text: str, mode: str = "extractive", escalate: bool = False) -> Answer:
    return Answer(text, (), 0.8, mode, escalate)


def faq_answer(question: str, *, suggestions: tuple[str, ...] = ()) -> Answer:
    cited = Citation("常见问题", "faq", (), None, 0.9, f"问：{question}\n答：……")
    law = Citation("中华人民共和国标准化法", "law", ("第二十七条",), None, 0.9, "")
    return Answer("……", (law, cited), 0.9, "faq", False, suggestions=suggestions)


# --- telling the kinds apart ------------------------------------------------------------------------


def test_each_kind_of_golden_file_is_recognised_from_its_lines() -> None:
    kinds = {
        name: load_golden_file(FIXTURES / f"{name}.jsonl") for name in ("questions", "dialogues", "faq_pairs")
    }
    assert {name: f.kind for name, f in kinds.items()} == {
        "questions": "questions",
        "dialogues": "dialogues",
        "faq_pairs": "faq_pairs",
    }
    (first, second) = kinds["dialogues"].dialogues
    assert [t.user for t in first.turns] == ["GB/T 19001-2016 还有效吗", "我要转人工"]
    assert first.turns[1].escalate is True and first.turns[1].contains == ()
    assert second.turns[0].mode == ("faq", "refusal")
    assert kinds["faq_pairs"].pairs[2] == FaqPair("f3", "GB/T 19001-2016 还有效吗", None, True)
    assert kinds["questions"].size == 3


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "turns": [{"user": "你好"}]}', '{"id": "b", "question": "问"}'], "mixes"),
        (['{"id": "a", "turns": [{"contains": ["x"]}]}'], "line 1"),
        (
            [
                '{"id": "a", "turns": [{"user": "x"}]}',
                '{"id": "b", "turns": [{"user": "y", "escalate": "yes"}]}',
            ],
            "line 2",
        ),
        (['{"id": "a", "question": "q", "faq": 3}'], "line 1"),
        (["not json"], "line 1"),
    ],
)
def test_malformed_or_mixed_files_are_refused_with_the_line(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(StdbotError, match=message):
        load_golden_file(path)


# --- per-turn checks ---------------------------------------------------------------------------------


def test_a_turn_passes_when_every_check_holds() -> None:
    turn = DialogueTurn("要钱吗", ("免费",), ("不收费", "免费"), ("以下条款",), False, ("faq",))
    assert check_turn(turn, answer("自我声明公开是免费的。", "faq"), "上一条回答") == ()


def test_every_failed_check_is_named() -> None:
    turn = DialogueTurn("要钱吗", ("免费", "平台"), ("不收费", "无需付费"), ("以下条款",), False, ("faq",))
    reply = answer("根据知识库，以下条款与您的问题最相关：平台……", "extractive", escalate=True)
    assert check_turn(turn, reply, reply.text) == (
        "missing:免费",
        "missing_any:不收费|无需付费",
        "excluded:以下条款",
        "escalate:True",
        "mode:extractive",
        "repeat",
    )


def test_only_a_word_for_word_repeat_counts_as_one() -> None:
    turn = DialogueTurn("再说一遍")
    assert check_turn(turn, answer("同一段话。\n"), "同一段话。") == ("repeat",)
    assert check_turn(turn, answer("上面已经回答过：同一段话。"), "同一段话。") == ()
    assert check_turn(turn, answer("同一段话。"), None) == ()


# --- FAQ precision and recall --------------------------------------------------------------------------


def test_the_chosen_faq_comes_from_the_faq_citation_and_suggestions_are_not_answers() -> None:
    assert chosen_faq(faq_answer("什么是对标达标？")) == "什么是对标达标？"
    assert chosen_faq(faq_answer("什么是对标达标？", suggestions=("a", "b"))) is None
    assert chosen_faq(answer("……", "extractive")) is None


def test_faq_precision_and_recall() -> None:
    def result(label: str | None, chosen: str | None, near_miss: bool = False) -> FaqResult:
        reply = faq_answer(chosen) if chosen else answer("……")
        return FaqResult(FaqPair("p", "问", label, near_miss), chosen_faq(reply), reply, 1.0)

    results = [
        result("A？", "A？"),  # right
        result("B？", "A？", near_miss=True),  # wrong FAQ
        result(None, "C？", near_miss=True),  # answered where none fits
        result("D？", None),  # missed
        result(None, None, near_miss=True),  # rightly declined
    ]
    metrics = faq_metrics(results)
    assert metrics["faq_answers"] == 3
    assert metrics["faq_precision"] == pytest.approx(1 / 3)
    assert metrics["faq_recall"] == pytest.approx(1 / 3)
    assert metrics["near_miss_wrong"] == pytest.approx(2 / 3)


# --- the passage-list shape ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "listed"),
    [
        ("根据知识库，以下条款与您的问题最相关：\n1. 《中华人民共和国标准化法》第二十七条\n……", True),
        ("1. 《企业标准化促进办法》第十四条\n企业应当……\n\n2. 常见问题“什么是对标达标？”\n……", True),
        ("需要。企业应当公开其执行的标准编号和名称。\n\n依据：《中华人民共和国标准化法》第二十七条", False),
        ("通常分四步：\n1. 选定产品和关键指标；\n2. 收集对应的国际标准；\n3. 制定改进措施。", False),
    ],
)
def test_a_passage_list_is_told_by_its_shape(text: str, listed: bool) -> None:
    assert is_passage_list(text) is listed


# --- a real run ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Answerer]:
    if not (SAMPLE / "faq.csv").is_file():
        pytest.skip("data/sample is missing")
    data_dir = tmp_path_factory.mktemp("kb")
    embeddings = UniversalSentenceEncoder()
    settings = Settings(data_dir=data_dir)
    build_knowledge_base([SAMPLE], settings, embeddings=embeddings)
    yield Answerer(open_knowledge_base(settings, embeddings=embeddings), settings)


def test_dialogues_run_each_in_a_conversation_of_its_own(answerer: Answerer) -> None:
    conversations: list[str | None] = []

    def ask(question: str, conversation: str | None) -> tuple[Answer, float]:
        conversations.append(conversation)
        started = time.perf_counter()
        return answerer.ask(question, conversation=conversation), (time.perf_counter() - started) * 1000

    golden = load_golden_file(FIXTURES / "dialogues.jsonl")
    report = evaluate_file(golden, answerer.kb.retriever.search, ask)
    assert conversations[0] == conversations[1] != conversations[2]
    assert all(c is not None for c in conversations)
    assert report.metrics["dialogues"] == 2 and report.metrics["turns"] == 3
    assert report.metrics["dialogue_pass"] == 0.5
    assert report.metrics["turn_pass"] == pytest.approx(2 / 3)
    (failing,) = report.failing_turns
    assert (failing.dialogue, failing.index) == ("t2", 1)
    assert failing.failures == ("missing:不存在的短语", "excluded:19001", "mode:catalog")
    data = json.loads(json.dumps(report.to_json(), ensure_ascii=False))
    assert data["kind"] == "dialogues"
    assert data["failing_turns"][0]["reasons"] == list(failing.failures)
    again = evaluate_file(golden, answerer.kb.retriever.search, ask)
    assert conversations[3] not in conversations[:3]  # a second run starts fresh conversations
    assert again.metrics["dialogue_pass"] == 0.5


def test_faq_pairs_and_questions_are_measured_on_the_real_chain(answerer: Answerer) -> None:
    def ask(question: str, conversation: str | None) -> tuple[Answer, float]:
        return answerer.ask(question, conversation=conversation), 1.0

    pairs = evaluate_file(load_golden_file(FIXTURES / "faq_pairs.jsonl"), answerer.kb.retriever.search, ask)
    assert pairs.kind == "faq_pairs"
    assert pairs.pairs[0].chosen == "什么是对标达标？" and pairs.pairs[0].correct
    assert pairs.pairs[2].chosen is None  # a catalogue answer is not an FAQ answer
    assert pairs.metrics["faq_recall"] == 1.0
    questions = evaluate_file(
        load_golden_file(FIXTURES / "questions.jsonl"), answerer.kb.retriever.search, ask
    )
    assert questions.kind == "questions"
    assert {"hit@5", "mrr", "passage_list", "escalation_recall"} <= set(questions.metrics)
    assert questions.metrics["escalation_recall"] == 1.0
