"""Golden question sets and the metrics measured on them."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.errors import StdbotError
from knowledge.eval_dialogues import TurnResult
from knowledge.eval_faq import FaqResult, faq_misses
from knowledge.source_names import short_name
from knowledge.types import Answer, Hit

PASSAGE_LIST_LEAD = "以下条款"
_PASSAGE_ITEM = re.compile(
    r"^\s*\d{1,2}\s*[.、．)）]\s*(?:《|常见问题|GB|第[一二三四五六七八九十百零〇]+条)", re.M
)


def is_passage_list(text: str) -> bool:
    """Whether an answer is a numbered list of passages rather than an answer: its lead line announces
    the articles that follow (根据知识库，以下条款…), or it holds two or more numbered passage items
    ("1. 《…》第…条")."""
    lead = text.lstrip().split("\n", 1)[0]
    return PASSAGE_LIST_LEAD in lead or len(_PASSAGE_ITEM.findall(text)) >= 2


@dataclass(frozen=True)
class Relevant:
    """What makes a hit relevant: an article of a source, a standard number, or an FAQ question."""

    source: str | None = None
    clause: str | None = None
    standard: str | None = None
    faq: str | None = None

    def matches(self, hit: Hit, titles: frozenset[str] = frozenset()) -> bool:
        """`titles` are the knowledge base's source titles: a `source` that is exactly one of them
        (or its short name) must match exactly, so 标准化法 does not also match 标准化法实施条例."""
        chunk = hit.chunk
        if self.standard is not None:
            return chunk.standard == self.standard
        if self.faq is not None:
            return chunk.question is not None and chunk.question.strip() == self.faq.strip()
        if self.source is None or not source_matches(self.source, chunk.source, titles):
            return False
        return self.clause is None or self.clause in chunk.clauses


def source_matches(wanted: str, title: str, titles: frozenset[str]) -> bool:
    if wanted in (title, short_name(title)):
        return True
    exact_elsewhere = any(wanted in (t, short_name(t)) for t in titles)
    return not exact_elsewhere and wanted in title


@dataclass(frozen=True)
class GoldenQuestion:
    id: str
    question: str
    relevant: tuple[Relevant, ...]
    answer_contains: tuple[str, ...]
    expect: str
    conversation: str | None = None


@dataclass(frozen=True)
class QuestionResult:
    question: GoldenQuestion
    rank: int | None
    escalated: bool
    contains: bool | None
    latency_ms: float
    mode: str
    passage_list: bool = False


@dataclass(frozen=True)
class EvalReport:
    """Metrics of one golden file; the per-item results of its kind (questions, dialogue turns or FAQ
    pairs)."""

    metrics: dict[str, float]
    results: tuple[QuestionResult, ...] = field(default=())
    kind: str = "questions"  # "questions" | "dialogues" | "faq_pairs"
    turns: tuple[TurnResult, ...] = field(default=())
    pairs: tuple[FaqResult, ...] = field(default=())

    @property
    def failing_turns(self) -> list[TurnResult]:
        return [t for t in self.turns if not t.passed]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "metrics": {k: round(v, 4) for k, v in self.metrics.items()},
            "misses": [
                {"id": r.question.id, "question": r.question.question, "rank": r.rank, "mode": r.mode}
                for r in self.results
                if r.question.expect == "answer" and (r.rank is None or r.rank > 1)
            ],
        }
        if self.kind == "dialogues":
            data["failing_turns"] = [t.to_json() for t in self.failing_turns]
        if self.kind == "faq_pairs":
            data["faq_misses"] = [r.to_json() for r in faq_misses(self.pairs)]
        return data


def load_golden(path: Path) -> list[GoldenQuestion]:
    """Parse a golden JSONL file; a malformed line is an error naming its line number."""
    questions: list[GoldenQuestion] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StdbotError(f"无法读取评测集 / cannot read golden set {path}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            questions.append(
                GoldenQuestion(
                    id=str(raw["id"]),
                    question=str(raw["question"]),
                    relevant=tuple(Relevant(**r) for r in raw.get("relevant", ())),
                    answer_contains=tuple(raw.get("answer_contains", ())),
                    expect=raw.get("expect", "answer"),
                    conversation=raw.get("conversation"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StdbotError(
                f"评测集第 {number} 行格式错误 / golden set {path} line {number}: {exc}"
            ) from None
    return questions


Search = Callable[[str, int], list[Hit]]
Ask = Callable[[str, str | None], tuple[Answer, float]]


def evaluate(
    questions: Sequence[GoldenQuestion],
    search: Search,
    ask: Ask | None = None,
    *,
    titles: frozenset[str] = frozenset(),
) -> EvalReport:
    """Retrieval metrics from `search`; escalation, answer text and latency from `ask` when given.
    `titles` are the knowledge base's source titles (see Relevant.matches)."""
    results: list[QuestionResult] = []
    for q in questions:
        resolved, escalated, contains, latency, mode = q.question, False, None, 0.0, ""
        listed = False
        if ask is not None:
            answer, latency = ask(q.question, q.conversation)
            resolved, escalated, mode = answer.question or q.question, answer.escalate, answer.mode
            listed = is_passage_list(answer.text)
            if q.answer_contains:
                contains = all(p in answer.text for p in q.answer_contains)
        rank = None
        if q.relevant:
            hits = search(resolved, 10)
            rank = next(
                (i for i, h in enumerate(hits, 1) if any(r.matches(h, titles) for r in q.relevant)), None
            )
        results.append(QuestionResult(q, rank, escalated, contains, latency, mode, listed))
    return EvalReport(_metrics(results, with_answers=ask is not None), tuple(results))


def _metrics(results: Sequence[QuestionResult], *, with_answers: bool) -> dict[str, float]:
    ranked = [r for r in results if r.question.relevant]
    n = len(ranked) or 1
    metrics = {
        "questions": float(len(results)),
        "hit@1": sum(1 for r in ranked if r.rank == 1) / n,
        "hit@5": sum(1 for r in ranked if r.rank is not None and r.rank <= 5) / n,
        "mrr": sum(1 / r.rank for r in ranked if r.rank is not None and r.rank <= 10) / n,
    }
    if not with_answers:
        return metrics
    expected = [r for r in results if r.question.expect == "escalate"]
    flagged = [r for r in results if r.escalated]
    declined = [r for r in results if r.question.expect == "decline"]
    true_pos = sum(1 for r in flagged if r.question.expect == "escalate")
    checked = [r for r in results if r.contains is not None]
    latencies = sorted(r.latency_ms for r in results)
    metrics |= {
        "escalation_precision": true_pos / len(flagged) if flagged else 1.0,
        "escalation_recall": true_pos / len(expected) if expected else 1.0,
        "declined_without_staff": (
            sum(1 for r in declined if not r.escalated and r.mode == "refusal") / len(declined)
            if declined
            else 1.0
        ),
        "answer_contains": sum(1 for r in checked if r.contains) / len(checked) if checked else 1.0,
        "passage_list": sum(1 for r in results if r.passage_list) / (len(results) or 1),
        "latency_p50_ms": statistics.median(latencies) if latencies else 0.0,
        "latency_p95_ms": _percentile(latencies, 0.95),
    }
    return metrics


def latency_metrics(latencies_ms: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of answer latencies."""
    ordered = sorted(latencies_ms)
    return {
        "latency_p50_ms": statistics.median(ordered) if ordered else 0.0,
        "latency_p95_ms": _percentile(ordered, 0.95),
    }


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return float(sorted_values[index])
