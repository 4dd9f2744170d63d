"""Labelled (question, FAQ or none) pairs: FAQ direct-answer precision and recall. An answer counts as a
direct FAQ answer only in mode "faq"; the FAQ it chose is the question of its faq citation. Suggestions
("您是不是想问") are not answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import StdbotError
from knowledge.faq_match import parse_faq_text
from knowledge.types import Answer

Ask = Callable[[str, str | None], tuple[Answer, float]]


@dataclass(frozen=True)
class FaqPair:
    id: str
    question: str
    faq: str | None
    near_miss: bool = False


@dataclass(frozen=True)
class FaqResult:
    """What the bot did with one pair: the FAQ it answered with (None: no direct FAQ answer)."""

    pair: FaqPair
    chosen: str | None
    answer: Answer
    latency_ms: float

    @property
    def correct(self) -> bool:
        return self.chosen is not None and self.pair.faq is not None and _same(self.chosen, self.pair.faq)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.pair.id,
            "question": self.pair.question,
            "expected": self.pair.faq,
            "chosen": self.chosen,
            "mode": self.answer.mode,
            "near_miss": self.pair.near_miss,
        }


def is_faq_pair_line(raw: object) -> bool:
    """Whether one parsed JSONL line is an FAQ pair (it has "faq" and no "turns" or "relevant")."""
    return isinstance(raw, dict) and "faq" in raw and "turns" not in raw and "relevant" not in raw


def parse_faq_pairs(path: Path, lines: Sequence[tuple[int, dict[str, Any]]]) -> list[FaqPair]:
    """FAQ pairs from parsed lines (line number, object); a malformed one is an error naming its line."""
    pairs: list[FaqPair] = []
    for number, raw in lines:
        try:
            faq = raw["faq"]
            if faq is not None and not isinstance(faq, str):
                raise TypeError(f"faq must be a string or null, got {faq!r}")
            pairs.append(
                FaqPair(str(raw["id"]), str(raw["question"]), faq, bool(raw.get("near_miss", False)))
            )
        except (KeyError, TypeError) as exc:
            raise StdbotError(
                f"FAQ 评测集第 {number} 行格式错误 / FAQ pairs {path} line {number}: {exc}"
            ) from None
    return pairs


def chosen_faq(answer: Answer) -> str | None:
    """The FAQ question a direct FAQ answer rests on (None when the answer is not one: another mode, or
    a reply offering suggestions)."""
    if answer.mode != "faq" or answer.suggestions:
        return None
    for citation in answer.citations:
        if citation.kind == "faq" and citation.text:
            question = parse_faq_text(citation.text).question
            if question:
                return question
    return ""


def run_faq_pairs(pairs: Sequence[FaqPair], ask: Ask) -> list[FaqResult]:
    """Ask every pair's question on its own (no conversation)."""
    results = []
    for pair in pairs:
        answer, latency = ask(pair.question, None)
        results.append(FaqResult(pair, chosen_faq(answer), answer, latency))
    return results


def faq_metrics(results: Sequence[FaqResult]) -> dict[str, float]:
    """Precision: of direct FAQ answers, the share with the labelled FAQ. Recall: of pairs with a
    labelled FAQ, the share answered directly with it. Also the near misses answered wrongly."""
    answered = [r for r in results if r.chosen is not None]
    labelled = [r for r in results if r.pair.faq is not None]
    near = [r for r in results if r.pair.near_miss]
    return {
        "pairs": float(len(results)),
        "faq_answers": float(len(answered)),
        "faq_precision": sum(1 for r in answered if r.correct) / len(answered) if answered else 1.0,
        "faq_recall": sum(1 for r in labelled if r.correct) / len(labelled) if labelled else 1.0,
        "near_miss_wrong": (
            sum(1 for r in near if r.chosen is not None and not r.correct) / len(near) if near else 0.0
        ),
    }


def faq_misses(results: Sequence[FaqResult]) -> list[FaqResult]:
    """Pairs answered with a wrong FAQ, or with a labelled FAQ not answered directly."""
    return [r for r in results if (r.chosen is not None and not r.correct) or (r.pair.faq and not r.correct)]


def _same(a: str, b: str) -> bool:
    return a.strip().rstrip("？?") == b.strip().rstrip("？?")
