"""FAQ direct-answer precision and recall on a labelled set of (question, FAQ question or none) pairs.

Builds data/sample in a temporary directory with the embedding backend the settings select
(`STDBOT_EMBEDDING__BACKEND=use|e5`), asks every question without a conversation and reports:

- precision: of the answers in mode faq, the share whose FAQ question equals the label;
- recall: of the pairs labelled with an FAQ, the share answered in mode faq with that FAQ;
- suggested: the share of questions answered with "您是不是想问" suggestions, and of the labelled pairs not
  answered directly, the share whose FAQ is among the suggestions; recall with one tap counts those too;
- near-miss false answers: near misses answered in mode faq with an FAQ other than the label.

    .venv/bin/python bench/faq_precision.py [--pairs tests/golden/faq_pairs.jsonl] [--show]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402
from ingest.build import build_knowledge_base  # noqa: E402
from knowledge.chain import Answerer  # noqa: E402
from knowledge.faq_match import parse_faq_text  # noqa: E402
from knowledge.kb import open_knowledge_base  # noqa: E402
from knowledge.types import Answer  # noqa: E402

PAIRS = ROOT / "tests" / "golden" / "faq_pairs.jsonl"
SAMPLE = ROOT / "data" / "sample"


@dataclass(frozen=True)
class Outcome:
    """One labelled pair and what the answer chain did with it."""

    pair: dict[str, Any]
    mode: str
    faq: str | None
    suggestions: tuple[str, ...]
    reasons: tuple[str, ...]


def answered_faq(answer: Answer) -> str | None:
    """The FAQ question a faq-mode answer gave (from its faq citation), else None."""
    if answer.mode != "faq":
        return None
    for citation in answer.citations:
        if citation.kind == "faq":
            return parse_faq_text(citation.text).question or None
    return None


def measure(outcomes: list[Outcome]) -> dict[str, float]:
    answered = [o for o in outcomes if o.mode == "faq"]
    labelled = [o for o in outcomes if o.pair["faq"]]
    correct = [o for o in answered if o.faq == o.pair["faq"]]
    near = [o for o in outcomes if o.pair.get("near_miss")]
    missed = [o for o in labelled if o.faq != o.pair["faq"]]
    return {
        "pairs": len(outcomes),
        "labelled": len(labelled),
        "near_misses": len(near),
        "faq_answers": len(answered),
        "precision": round(len(correct) / len(answered), 3) if answered else float("nan"),
        "recall": round(sum(o.faq == o.pair["faq"] for o in labelled) / len(labelled), 3),
        "suggestion_share": round(sum(bool(o.suggestions) for o in outcomes) / len(outcomes), 3),
        "missed_but_suggested": round(sum(o.pair["faq"] in o.suggestions for o in missed) / len(missed), 3)
        if missed
        else float("nan"),
        "recall_with_one_tap": round(
            sum(o.faq == o.pair["faq"] or o.pair["faq"] in o.suggestions for o in labelled) / len(labelled), 3
        ),
        "near_miss_false_answers": sum(o.mode == "faq" and o.faq != o.pair["faq"] for o in near),
        "false_answers": len(answered) - len(correct),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--show", action="store_true", help="print every wrong or missed pair")
    args = parser.parse_args()
    pairs = [json.loads(line) for line in args.pairs.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        build_knowledge_base([SAMPLE], settings)
        kb = open_knowledge_base(settings)
        answerer = Answerer(kb, settings)
        outcomes = []
        for pair in pairs:
            answer = answerer.ask(pair["question"])
            outcomes.append(
                Outcome(pair, answer.mode, answered_faq(answer), answer.suggestions, answer.reasons)
            )
    report = {"backend": settings.embedding.backend, **measure(outcomes)}
    if args.show:
        for o in outcomes:
            if o.faq != o.pair["faq"] and (o.mode == "faq" or o.pair["faq"]):
                kind = "WRONG" if o.mode == "faq" else "MISSED"
                print(
                    f"{kind} {o.pair['id']} {o.pair['question']!r} label={o.pair['faq']!r} got={o.faq!r} "
                    f"mode={o.mode} sugg={list(o.suggestions)} {[r for r in o.reasons if 'faq' in r]}"
                )
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
