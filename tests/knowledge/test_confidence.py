"""The confidence formula: bounded, monotone in every signal, and fed by real retrieval signals."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from knowledge.confidence import (
    Evidence,
    confidence,
    coverage,
    evidence_from_hits,
    named_source_match,
    question_terms,
    retrieval_confidence,
    term_set,
)
from knowledge.types import Chunk, Hit

similarities = st.one_of(st.none(), st.floats(-1, 1))
bm25_scores = st.one_of(st.none(), st.floats(0, 100))
shares = st.floats(0, 1)
sources = st.sampled_from([None, True, False])
evidence = st.builds(Evidence, similarities, bm25_scores, shares, shares, sources)


@given(evidence)
def test_confidence_is_between_zero_and_one(e: Evidence) -> None:
    assert 0.0 <= confidence(e) <= 1.0


@given(evidence, st.floats(0, 1))
def test_confidence_never_falls_when_evidence_grows(e: Evidence, step: float) -> None:
    base = confidence(e)
    dense = None if e.dense_similarity is None else min(1.0, e.dense_similarity + step)
    assert confidence(replace(e, dense_similarity=dense)) >= base
    assert confidence(replace(e, bm25_score=(e.bm25_score or 0.0) + step * 10)) >= base
    assert confidence(replace(e, coverage=min(1.0, e.coverage + step))) >= base
    assert confidence(replace(e, margin=min(1.0, e.margin + step))) >= base


@given(evidence)
def test_naming_the_right_source_helps_and_the_wrong_one_hurts(e: Evidence) -> None:
    right = confidence(replace(e, source_match=True))
    none = confidence(replace(e, source_match=None))
    wrong = confidence(replace(e, source_match=False))
    assert right >= none >= wrong


def test_strong_and_weak_evidence_are_far_apart() -> None:
    strong = Evidence(dense_similarity=0.7, bm25_score=15.0, margin=0.3, coverage=0.9, source_match=True)
    weak = Evidence(dense_similarity=0.1, bm25_score=0.5, margin=0.0, coverage=0.1)
    assert confidence(strong) > 0.8
    assert confidence(weak) < 0.15


def test_question_terms_expand_colloquial_words() -> None:
    groups = question_terms("企标要公开吗")
    assert any("企业标准" in group and "企标" in group for group in groups)
    assert coverage(groups, term_set("企业标准应当公开")) == 1.0
    assert coverage(groups, term_set("计量器具应当检定")) == 0.0
    assert coverage((), term_set("任何文字")) == 0.0


def _hit(text: str, source: str, score: float, dense: float | None = 0.5, bm25: float | None = 5.0) -> Hit:
    return Hit(
        Chunk(id=text[:6], text=text, source=source, kind="law", clauses=("第二十七条",)), score, bm25, dense
    )


def test_evidence_comes_from_the_top_hit() -> None:
    hits = [
        _hit("企业应当公开其执行的标准。", "中华人民共和国标准化法", 0.04, dense=0.55, bm25=9.0),
        _hit("计量器具应当检定。", "中华人民共和国计量法", 0.01),
    ]
    e = evidence_from_hits("企业标准要公开吗", hits)
    assert e is not None
    assert (e.dense_similarity, e.bm25_score) == (0.55, 9.0)
    assert e.margin == 0.75
    assert e.coverage > 0.5
    assert evidence_from_hits("企业标准要公开吗", []) is None
    assert retrieval_confidence("企业标准要公开吗", []) == 0.0


def test_named_law_must_match_the_top_hit() -> None:
    hits = [_hit("甲", "中华人民共和国标准化法", 0.04), _hit("乙", "中华人民共和国计量法", 0.03)]
    assert named_source_match("标准化法第二十七条怎么规定", hits) is True
    assert named_source_match("计量法怎么规定", hits) is False
    assert named_source_match("企业标准要公开吗", hits) is None


def test_relevant_passages_score_above_unrelated_ones() -> None:
    question = "企业标准要自我声明公开吗"
    relevant = [
        _hit("本示例要求企业标准做自我声明公开，并接受监督。", "中华人民共和国标准化法", 0.04, 0.5, 9.0)
    ]
    unrelated = [_hit("计量器具应当定期检定。", "中华人民共和国计量法", 0.04, 0.1, 0.8)]
    assert retrieval_confidence(question, relevant) > retrieval_confidence(question, unrelated) + 0.3
