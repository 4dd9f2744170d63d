"""Measuring one knowledge-base version on its golden files, and the release gate that compares a
candidate version with the active one before it may serve.

Question files give hit@5, MRR and the answer figures; dialogue files give the dialogue pass rate; FAQ-pair
files give FAQ precision and recall. The gate holds a candidate back when any gate metric is below the
active version's."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from knowledge.chain import Answerer
from knowledge.conversation import ConversationMemory
from knowledge.embeddings import ArrayEmbeddings
from knowledge.eval_dialogues import Dialogue
from knowledge.eval_faq import FaqPair, faq_metrics, run_faq_pairs
from knowledge.evaluation import GoldenQuestion, evaluate
from knowledge.golden_files import GoldenFile, load_golden_file, run_dialogues
from knowledge.kb import open_knowledge_base
from knowledge.types import Answer

GATE_METRIC = "hit@5"
GATE_METRICS = ("hit@5", "dialogue_pass")


@dataclass(frozen=True)
class GoldenSet:
    """The golden files a version is measured on, and a fingerprint of their names and contents
    (metrics are comparable only on the same one)."""

    files: tuple[GoldenFile, ...]
    fingerprint: str

    @property
    def path(self) -> Path:
        return self.files[0].path

    @property
    def questions(self) -> tuple[GoldenQuestion, ...]:
        return tuple(q for f in self.files for q in f.questions)

    @property
    def dialogues(self) -> tuple[Dialogue, ...]:
        return tuple(d for f in self.files for d in f.dialogues)

    @property
    def pairs(self) -> tuple[FaqPair, ...]:
        return tuple(p for f in self.files for p in f.pairs)


def load_golden_set(paths: Path | Sequence[Path]) -> GoldenSet:
    """Read one or several golden files (StdbotError when one is missing or malformed). One file's
    fingerprint is `name@digest`; several join theirs with "+" in the order given."""
    listed = [paths] if isinstance(paths, Path) else list(paths)
    files = tuple(load_golden_file(path) for path in listed)
    prints = [f"{p.name}@{hashlib.sha256(p.read_bytes()).hexdigest()[:12]}" for p in listed]
    return GoldenSet(files, "+".join(prints))


def evaluate_version(
    settings: Settings, version: int, golden: GoldenSet, embeddings: ArrayEmbeddings
) -> dict[str, float]:
    """The metrics of `version` on every golden file (extractive answers: no LLM is called)."""
    kb = open_knowledge_base(settings, version=version, embeddings=embeddings)
    answerer = Answerer(kb, settings, chat_model=None, memory=ConversationMemory())

    def ask(question: str, conversation: str | None) -> tuple[Answer, float]:
        started = time.perf_counter()
        answer = answerer.ask(question, conversation=conversation)
        return answer, (time.perf_counter() - started) * 1000

    metrics: dict[str, float] = {}
    if golden.questions:
        titles = frozenset(chunk.source for chunk in kb.retriever.chunks)
        report = evaluate(golden.questions, lambda q, k: kb.retriever.search(q, k), ask, titles=titles)
        metrics |= report.metrics
    if golden.dialogues:
        dialogue = run_dialogues(golden.dialogues, ask).metrics
        metrics |= {k: v for k, v in dialogue.items() if not k.startswith(("latency", "passage_list"))}
    if golden.pairs:
        metrics |= faq_metrics(run_faq_pairs(golden.pairs, ask))
    return metrics


@dataclass(frozen=True)
class GateDecision:
    """Whether a candidate version may replace the active one without an admin insisting; `metric` is the
    gate metric the figures are of (the one that is worse, when held back)."""

    allowed: bool
    reason: str  # "no_golden_set" | "no_active" | "unmeasured" | "not_worse" | "worse"
    candidate: float | None = None
    active: float | None = None
    metric: str = GATE_METRIC


def judge(
    candidate: Mapping[str, float] | None,
    active: Mapping[str, float] | None,
    *,
    has_golden_set: bool = True,
    has_active: bool = True,
) -> GateDecision:
    """Compare the GATE_METRICS of two versions measured on the same golden set. A candidate that is not
    measured (or lacks a gate metric the active version has) is held back: it cannot be shown not to be
    worse; equal is not worse."""
    if not has_golden_set:
        return GateDecision(True, "no_golden_set")
    first = _first_measured(candidate)
    if not has_active:
        return GateDecision(True, "no_active", *_pair(first, candidate, None))
    if first is None:
        shown = _first_measured(active) or GATE_METRIC
        return GateDecision(False, "unmeasured", None, _value(active, shown), shown)
    for metric in GATE_METRICS:
        wanted, current = _value(candidate, metric), _value(active, metric)
        if current is None:
            continue
        if wanted is None:
            return GateDecision(False, "unmeasured", None, current, metric)
        if wanted + 1e-9 < current:
            return GateDecision(False, "worse", wanted, current, metric)
    return GateDecision(True, "not_worse", *_pair(first, candidate, active))


def _first_measured(metrics: Mapping[str, float] | None) -> str | None:
    return next((m for m in GATE_METRICS if _value(metrics, m) is not None), None)


def _pair(
    metric: str | None, candidate: Mapping[str, float] | None, active: Mapping[str, float] | None
) -> tuple[float | None, float | None, str]:
    if metric is None:
        return None, None, GATE_METRIC
    return _value(candidate, metric), _value(active, metric), metric


def _value(metrics: Mapping[str, float] | None, name: str) -> float | None:
    return None if metrics is None or name not in metrics else float(metrics[name])
