"""The release gate: a candidate may replace the active version only when it is measured and its
golden-set hit@5 is not lower."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.version_eval import judge, load_golden_set


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
