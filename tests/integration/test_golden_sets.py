"""Quality floors on the golden sets, measured end to end on real builds (regression guards; the
benchmark reports the full figures)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from config.settings import Settings
from ingest.build import build_knowledge_base
from knowledge.chain import Answerer
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.evaluation import EvalReport, evaluate, load_golden
from knowledge.kb import open_knowledge_base
from knowledge.types import Answer

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
SOURCE_DIRS = ("laws", "regulations", "rules", "local", "catalogs")


def _evaluate(data_dir: Path, golden: Path, embeddings: UniversalSentenceEncoder) -> EvalReport:
    settings = Settings(data_dir=data_dir)
    answerer = Answerer(open_knowledge_base(settings, embeddings=embeddings), settings)

    def ask(question: str, conversation: str | None) -> tuple[Answer, float]:
        started = time.perf_counter()
        return answerer.ask(question, conversation=conversation), (time.perf_counter() - started) * 1000

    retriever = answerer.kb.retriever
    titles = frozenset(c.source for c in retriever.chunks)
    return evaluate(load_golden(golden), retriever.search, ask, titles=titles)


def test_sample_golden_set(tmp_path: Path) -> None:
    embeddings = UniversalSentenceEncoder()
    build_knowledge_base([ROOT / "data" / "sample"], Settings(data_dir=tmp_path), embeddings=embeddings)
    report = _evaluate(tmp_path, ROOT / "tests" / "golden" / "sample.jsonl", embeddings)
    metrics = report.metrics
    assert metrics["hit@5"] >= 0.85, report.to_json()
    assert metrics["mrr"] >= 0.7, report.to_json()
    assert metrics["escalation_recall"] == 1.0, report.to_json()
    assert metrics["escalation_precision"] >= 0.75, report.to_json()
    assert metrics["answer_contains"] >= 0.8, report.to_json()
    follow_up = next(
        r for r in report.results if r.question.conversation and "团体标准" in r.question.question
    )
    assert follow_up.contains and follow_up.rank is not None, follow_up


def test_shared_corpus_golden_set(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus absent")
    embeddings = UniversalSentenceEncoder()
    report = build_knowledge_base(
        [CORPUS / d for d in SOURCE_DIRS], Settings(data_dir=tmp_path), embeddings=embeddings
    )
    assert not report.failed
    result = _evaluate(tmp_path, ROOT / "bench" / "golden" / "corpus.jsonl", embeddings)
    assert result.metrics["hit@5"] >= 0.85, result.to_json()
    assert result.metrics["mrr"] >= 0.7, result.to_json()
    assert result.metrics["escalation_recall"] >= 0.85, result.to_json()
