"""How sure an answer is, from retrieval signals, as a number in [0, 1].

    confidence = clamp( w_dense  · ramp(dense_similarity, floor, ceiling)
                      + w_bm25   · bm25 / (bm25 + bm25_half)
                      + w_terms  · coverage
                      + w_margin · margin
                      + source_bonus  if the question names the top hit's source
                      − source_penalty if it names another source instead )

- dense_similarity: cosine of the question and the top passage (−1…1); absent counts as 0. The ramp
  runs over the embedding model's `similarity_range` (USE: 0.20…0.60; e5's cosines sit higher),
  else over the weights' dense_floor…dense_ceiling.
- bm25: the top passage's BM25 score (≥ 0), saturating; absent counts as 0.
- coverage: share of the question's terms (jieba tokens of two or more characters; a colloquial term
  also counts when its formal synonym is there) found in the top passage, its source name or clause ids.
- margin: (fused score of the 1st − of the 2nd) / fused score of the 1st; 1 when there is no 2nd.

Every term rises with its evidence, so the result is monotone in each signal. Term sets also serve
the FAQ matcher and passage trimming."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from knowledge.lexicon import SYNONYMS
from knowledge.source_names import SourceNames, short_name
from knowledge.tokenize import tokenize
from knowledge.types import Hit


def term_set(text: str, *, expand: bool = False) -> frozenset[str]:
    """The meaningful terms of `text` (jieba tokens without stop words; `expand` adds formal synonyms)."""
    return frozenset(tokenize(text, expand=expand))


def question_terms(question: str) -> tuple[frozenset[str], ...]:
    """The question's terms, each with its formal synonyms (企标 → {企标, 企业标准}); single characters
    count only when they have synonyms (卖 → 销售), as most are too common to be evidence."""
    groups = {
        term: frozenset((term, *SYNONYMS.get(term, ())))
        for term in tokenize(question)
        if len(term) > 1 or term in SYNONYMS
    }
    return tuple(groups.values())


def coverage(terms: Sequence[frozenset[str]], text_terms: frozenset[str]) -> float:
    """Share of the question's term groups with a member among the text's terms (0 without terms)."""
    return sum(1 for group in terms if group & text_terms) / len(terms) if terms else 0.0


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two term sets."""
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


def named_source_match(question: str, hits: Sequence[Hit]) -> bool | None:
    """True when the question names the top hit's source, False when it names another retrieved
    source but not the top one's, None when it names none of them."""
    if not hits:
        return None
    named = SourceNames(hit.chunk.source for hit in hits).named_in(question)
    if not named:
        return None
    return hits[0].chunk.source in named


@dataclass(frozen=True)
class Evidence:
    """The retrieval signals behind an answer's top passage."""

    dense_similarity: float | None
    bm25_score: float | None
    margin: float
    coverage: float
    source_match: bool | None = None


@dataclass(frozen=True)
class ConfidenceWeights:
    """Weights of the confidence formula (see the module docstring)."""

    dense: float = 0.40
    bm25: float = 0.20
    terms: float = 0.35
    margin: float = 0.05
    dense_floor: float = 0.20
    dense_ceiling: float = 0.60
    bm25_half: float = 8.0
    source_bonus: float = 0.10
    source_penalty: float = 0.20


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def confidence(evidence: Evidence, weights: ConfidenceWeights = ConfidenceWeights()) -> float:
    """The documented formula: a number in [0, 1], monotone in every signal of `evidence`."""
    dense = 0.0
    if evidence.dense_similarity is not None:
        span = weights.dense_ceiling - weights.dense_floor
        dense = _clamp((evidence.dense_similarity - weights.dense_floor) / span)
    bm25 = max(0.0, evidence.bm25_score or 0.0)
    score = (
        weights.dense * dense
        + weights.bm25 * bm25 / (bm25 + weights.bm25_half)
        + weights.terms * _clamp(evidence.coverage)
        + weights.margin * _clamp(evidence.margin)
    )
    if evidence.source_match is True:
        score += weights.source_bonus
    elif evidence.source_match is False:
        score -= weights.source_penalty
    return _clamp(score)


def passage_terms(hit: Hit) -> frozenset[str]:
    """The terms a question may find in a hit: its text, source name and clause ids."""
    chunk = hit.chunk
    return term_set(" ".join((chunk.text, short_name(chunk.source), *chunk.clauses)))


def evidence_from_hits(question: str, hits: Sequence[Hit]) -> Evidence | None:
    """The evidence of the top hit for `question`, or None without hits."""
    if not hits:
        return None
    top = hits[0]
    second = hits[1].score if len(hits) > 1 else 0.0
    margin = (top.score - second) / top.score if top.score > 0 else 0.0
    return Evidence(
        dense_similarity=top.dense_similarity,
        bm25_score=top.bm25_score,
        margin=margin,
        coverage=coverage(question_terms(question), passage_terms(top)),
        source_match=named_source_match(question, hits),
    )


def retrieval_confidence(
    question: str,
    hits: Sequence[Hit],
    weights: ConfidenceWeights = ConfidenceWeights(),
    *,
    similarity_range: tuple[float, float] | None = None,
) -> float:
    """Confidence of answering `question` from `hits` (0 without hits); `similarity_range` is the
    embedding model's (floor, ceiling) of question-to-passage cosines."""
    evidence = evidence_from_hits(question, hits)
    if evidence is None:
        return 0.0
    if similarity_range is not None:
        weights = replace(weights, dense_floor=similarity_range[0], dense_ceiling=similarity_range[1])
    return confidence(evidence, weights)
