"""The release gate: a candidate may replace the active version only when it is measured and neither its
hit@5 nor its dialogue pass rate is lower; several golden files share one fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.settings import Settings
from ingest.build import build_knowledge_base
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.version_eval import evaluate_version, judge, load_golden_set

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "eval"


def test_not_worse_passes_and_worse_is_held_back() -> None:
    assert judge({"hit@5": 0.9}, {"hit@5": 0.9}).allowed
    assert judge({"hit@5": 0.95}, {"hit@5": 0.9}).reason == "not_worse"
    worse = judge({"hit@5": 0.85}, {"hit@5": 0.9})
    assert not worse.allowed and worse.reason == "worse"
    assert (worse.candidate, worse.active) == (0.85, 0.9)


def test_an_unmeasured_candidate_is_held_back_but_a_missing_reference_is_not() -> None:
    assert judge(None, {"hit@5": 0.9}).reason == "unmeasured"
    assert not judge({"mrr": 0.9}, {"hit@5": 0.9}).allowed
    assert judge({"hit@5": 0.2}, None).allowed
    assert judge(None, None, has_active=False).reason == "no_active"
    assert judge(None, {"hit@5": 1.0}, has_golden_set=False).reason == "no_golden_set"


def test_the_fingerprint_follows_the_golden_sets_contents(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    first_line = {"id": "g1", "question": "企业标准要公开吗", "relevant": [{"source": "标准化法"}]}
    path.write_text(json.dumps(first_line, ensure_ascii=False) + "\n", "utf-8")
    first = load_golden_set(path)
    assert len(first.questions) == 1 and first.fingerprint.startswith("golden.jsonl@")
    assert load_golden_set(path).fingerprint == first.fingerprint
    path.write_text(path.read_text("utf-8") + '{"id": "g2", "question": "强制性标准必须执行吗"}\n', "utf-8")
    assert load_golden_set(path).fingerprint != first.fingerprint


def test_a_lower_dialogue_pass_rate_holds_a_candidate_back_even_with_a_better_hit5() -> None:
    active = {"hit@5": 0.9, "dialogue_pass": 0.95}
    held = judge({"hit@5": 0.95, "dialogue_pass": 0.9}, active)
    assert not held.allowed and held.reason == "worse"
    assert (held.metric, held.candidate, held.active) == ("dialogue_pass", 0.9, 0.95)
    assert judge({"hit@5": 0.9, "dialogue_pass": 0.95}, active).allowed
    lower_hit = judge({"hit@5": 0.8, "dialogue_pass": 1.0}, active)
    assert lower_hit.reason == "worse" and lower_hit.metric == "hit@5"


def test_dialogue_files_alone_gate_on_the_dialogue_pass_rate() -> None:
    assert judge({"dialogue_pass": 0.9}, {"dialogue_pass": 0.9}).allowed
    worse = judge({"dialogue_pass": 0.8}, {"dialogue_pass": 0.9})
    assert not worse.allowed and worse.metric == "dialogue_pass"
    missing = judge({"hit@5": 1.0}, {"hit@5": 0.9, "dialogue_pass": 0.9})
    assert missing.reason == "unmeasured" and missing.metric == "dialogue_pass"


def test_the_fingerprint_of_several_files_follows_each_of_them(tmp_path: Path) -> None:
    questions, dialogues = tmp_path / "q.jsonl", tmp_path / "d.jsonl"
    questions.write_text('{"id": "g1", "question": "企业标准要公开吗"}\n', "utf-8")
    dialogues.write_text('{"id": "d1", "turns": [{"user": "团标是啥"}, {"user": "要钱吗"}]}\n', "utf-8")
    single = load_golden_set(questions)
    both = load_golden_set([questions, dialogues])
    assert both.fingerprint.startswith(single.fingerprint + "+d.jsonl@")
    assert len(both.questions) == 1 and len(both.dialogues) == 1
    assert load_golden_set([dialogues, questions]).fingerprint != both.fingerprint
    dialogues.write_text(dialogues.read_text("utf-8").replace("要钱吗", "收费吗"), "utf-8")
    changed = load_golden_set([questions, dialogues])
    assert changed.fingerprint != both.fingerprint
    assert changed.fingerprint.split("+")[0] == single.fingerprint


def test_a_version_is_measured_on_question_and_dialogue_files(tmp_path: Path) -> None:
    sample = ROOT / "data" / "sample"
    if not (sample / "faq.csv").is_file():
        pytest.skip("data/sample is missing")
    embeddings = UniversalSentenceEncoder()
    settings = Settings(data_dir=tmp_path / "var")
    build_knowledge_base([sample], settings, embeddings=embeddings)
    files = [FIXTURES / "questions.jsonl", FIXTURES / "dialogues.jsonl", FIXTURES / "faq_pairs.jsonl"]
    metrics = evaluate_version(settings, 1, load_golden_set(files), embeddings)
    assert metrics["questions"] == 3 and metrics["hit@5"] == 1.0
    assert metrics["dialogues"] == 2 and metrics["dialogue_pass"] == 0.5
    assert metrics["faq_recall"] == 1.0
    assert judge(metrics, {**metrics, "dialogue_pass": 1.0}).reason == "worse"
