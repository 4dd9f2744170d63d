"""Retrieved passages for the knowledge tests: a Hit built from the few fields a test cares about."""

from __future__ import annotations

from knowledge.types import Chunk, Hit


def hit(
    text: str,
    source: str = "中华人民共和国标准化法",
    kind: str = "law",
    clauses: tuple[str, ...] = ("第二十七条",),
    score: float = 0.03,
    **fields: str | None,
) -> Hit:
    """A passage of `source` scored `score`; `fields` are further Chunk fields (id, chapter, question…)."""
    chunk_id = fields.pop("id", None) or f"{source}:{clauses}:{text[:8]}"
    return Hit(Chunk(chunk_id, text, source, kind, clauses=clauses, **fields), score)  # type: ignore[arg-type]
