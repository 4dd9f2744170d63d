"""Measuring one knowledge-base version on a golden set, and the release gate that compares a candidate
version with the active one before it may serve."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from knowledge.chain import Answerer
from knowledge.embeddings import ArrayEmbeddings
from knowledge.evaluation import GoldenQuestion, evaluate, load_golden
from knowledge.followup import ConversationMemory
from knowledge.kb import open_knowledge_base
from knowledge.types import Answer

GATE_METRIC = "hit@5"


@dataclass(frozen=True)
class GoldenSet:
    """A golden set and a fingerprint of its contents (metrics are comparable only on the same one)."""

    path: Path
    questions: tuple[GoldenQuestion, ...]
    fingerprint: str


def load_golden_set(path: Path) -> GoldenSet:
    """Read a golden-set JSONL file (StdbotError when it is missing or malformed)."""
    questions = tuple(load_golden(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return GoldenSet(path, questions, f"{path.name}@{digest}")


def evaluate_version(
    settings: Settings, version: int, golden: GoldenSet, embeddings: ArrayEmbeddings
) -> dict[str, float]:
    """Retrieval and answer metrics of `version` on `golden` (extractive answers: no LLM is called)."""
    kb = open_knowledge_base(settings, version=version, embeddings=embeddings)
    answerer = Answerer(kb, settings, chat_model=None, memory=ConversationMemory())

    def ask(question: str, conversation: str | None) -> tuple[Answer, float]:
        started = time.perf_counter()
        answer = answerer.ask(question, conversation=conversation)
        return answer, (time.perf_counter() - started) * 1000

    titles = frozenset(chunk.source for chunk in kb.retriever.chunks)
    report = evaluate(golden.questions, lambda q, k: kb.retriever.search(q, k), ask, titles=titles)
    return dict(report.metrics)


@dataclass(frozen=True)
class GateDecision:
    """Whether a candidate version may replace the active one without an admin insisting."""

    allowed: bool
    reason: str  # "no_golden_set" | "no_active" | "unmeasured" | "not_worse" | "worse"
    candidate: float | None = None
    active: float | None = None


def judge(
    candidate: Mapping[str, float] | None,
    active: Mapping[str, float] | None,
    *,
    has_golden_set: bool = True,
    has_active: bool = True,
) -> GateDecision:
    """Compare GATE_METRIC of two versions measured on the same golden set. A candidate that is not
    measured is held back (it cannot be shown not to be worse); equal is not worse."""
    if not has_golden_set:
        return GateDecision(True, "no_golden_set")
    if not has_active:
        return GateDecision(True, "no_active", _metric(candidate))
    wanted, current = _metric(candidate), _metric(active)
    if wanted is None:
        return GateDecision(False, "unmeasured", None, current)
    if current is None:
        return GateDecision(True, "not_worse", wanted, None)
    if wanted + 1e-9 < current:
        return GateDecision(False, "worse", wanted, current)
    return GateDecision(True, "not_worse", wanted, current)


def _metric(metrics: Mapping[str, float] | None) -> float | None:
    return None if metrics is None or GATE_METRIC not in metrics else float(metrics[GATE_METRIC])
