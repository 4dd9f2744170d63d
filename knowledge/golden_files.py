"""Golden files of three kinds, told apart by their lines: dialogue files (lines with "turns"), FAQ-pair
files (lines with "faq" and no "relevant"), and question files (everything else); each measured in the
way its kind needs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import StdbotError
from knowledge.eval_dialogues import Ask, Dialogue, dialogue_metrics, is_dialogue_line, parse_dialogues
from knowledge.eval_dialogues import run_dialogues as _run_dialogues
from knowledge.eval_faq import FaqPair, faq_metrics, is_faq_pair_line, parse_faq_pairs, run_faq_pairs
from knowledge.evaluation import (
    EvalReport,
    GoldenQuestion,
    Search,
    evaluate,
    is_passage_list,
    latency_metrics,
    load_golden,
)

KINDS = ("questions", "dialogues", "faq_pairs")
DIALOGUE_METRICS = ("dialogue_pass", "turn_pass")
FAQ_METRICS = ("faq_precision", "faq_recall", "near_miss_wrong")
QUESTION_METRICS = (
    "hit@1",
    "hit@5",
    "mrr",
    "escalation_precision",
    "escalation_recall",
    "declined_without_staff",
    "answer_contains",
)
ALL_METRICS = (*QUESTION_METRICS, *DIALOGUE_METRICS, *FAQ_METRICS, "passage_list")


@dataclass(frozen=True)
class GoldenFile:
    """One golden file and what it holds (only the field of its kind is filled)."""

    path: Path
    kind: str
    questions: tuple[GoldenQuestion, ...] = ()
    dialogues: tuple[Dialogue, ...] = ()
    pairs: tuple[FaqPair, ...] = ()

    @property
    def size(self) -> int:
        return len(self.questions) + len(self.dialogues) + len(self.pairs)


def load_golden_file(path: Path) -> GoldenFile:
    """Read a golden JSONL file of any kind (StdbotError when it is missing, malformed or mixed)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StdbotError(f"无法读取评测集 / cannot read golden set {path}: {exc}") from None
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise StdbotError(
                f"评测集第 {number} 行格式错误 / golden set {path} line {number}: {exc}"
            ) from None
        if not isinstance(raw, dict):
            raise StdbotError(
                f"评测集第 {number} 行不是对象 / golden set {path} line {number}: not an object"
            )
        parsed.append((number, raw))
    dialogue_lines = sum(1 for _, raw in parsed if is_dialogue_line(raw))
    faq_lines = sum(1 for _, raw in parsed if is_faq_pair_line(raw))
    if dialogue_lines and dialogue_lines == len(parsed):
        return GoldenFile(path, "dialogues", dialogues=tuple(parse_dialogues(path, parsed)))
    if faq_lines and faq_lines == len(parsed):
        return GoldenFile(path, "faq_pairs", pairs=tuple(parse_faq_pairs(path, parsed)))
    if dialogue_lines or faq_lines:
        raise StdbotError(
            f"评测集混用了多种格式 / golden set {path} mixes dialogues, FAQ pairs and questions"
        )
    return GoldenFile(path, "questions", questions=tuple(load_golden(path)))


def evaluate_file(
    golden: GoldenFile, search: Search, ask: Ask, *, titles: frozenset[str] = frozenset()
) -> EvalReport:
    """Measure one golden file: retrieval and answers for questions, pass rates for dialogues,
    precision and recall for FAQ pairs."""
    if golden.kind == "dialogues":
        return run_dialogues(golden.dialogues, ask)
    if golden.kind == "faq_pairs":
        results = run_faq_pairs(golden.pairs, ask)
        metrics = faq_metrics(results)
        metrics["passage_list"] = _share(is_passage_list(r.answer.text) for r in results)
        metrics |= latency_metrics([r.latency_ms for r in results])
        return EvalReport(metrics, kind="faq_pairs", pairs=tuple(results))
    return evaluate(golden.questions, search, ask, titles=titles)


def run_dialogues(dialogues: Sequence[Dialogue], ask: Ask) -> EvalReport:
    """The dialogue report: pass rates, repeats, passage-list share and latency over every turn."""
    turns = _run_dialogues(dialogues, ask)
    metrics = dialogue_metrics(turns)
    metrics["passage_list"] = _share(is_passage_list(t.answer.text) for t in turns)
    metrics |= latency_metrics([t.latency_ms for t in turns])
    return EvalReport(metrics, kind="dialogues", turns=tuple(turns))


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(1 for v in values if v) / len(values) if values else 0.0
