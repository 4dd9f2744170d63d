"""The dense term of confidence ramps over the embedding model's own similarity range."""

from __future__ import annotations

import pytest

from knowledge.confidence import retrieval_confidence
from knowledge.embeddings import E5Embeddings, UniversalSentenceEncoder
from knowledge.types import Chunk, Hit


def _hits(similarity: float) -> list[Hit]:
    chunk = Chunk(id="a", text="企业应当公开其执行的标准。", source="示例法", kind="law", clauses=("第一条",))
    return [Hit(chunk, 0.05, None, similarity)]


def test_the_same_cosine_means_less_for_e5_than_for_use() -> None:
    question = "天气怎么样"
    use_range, e5_range = UniversalSentenceEncoder.similarity_range, E5Embeddings.similarity_range
    use = retrieval_confidence(question, _hits(0.55), similarity_range=use_range)
    e5 = retrieval_confidence(question, _hits(0.55), similarity_range=e5_range)
    assert e5 == pytest.approx(0.05)  # below e5's floor only the margin term is left
    assert use == pytest.approx(0.40)
    assert retrieval_confidence(question, _hits(0.55)) == use


def test_e5_confidence_rises_across_its_range() -> None:
    low, high = E5Embeddings.similarity_range
    values = [
        retrieval_confidence("天气怎么样", _hits(s), similarity_range=(low, high))
        for s in (low - 0.02, (low + high) / 2, high, high + 0.02)
    ]
    assert values[0] < values[1] < values[2] == values[3]
