"""Typed values that cross module boundaries: chunks, hits, citations, catalogue records, answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["law", "regulation", "rule", "local", "standard", "faq", "catalog", "doc"]
KINDS: tuple[str, ...] = ("law", "regulation", "rule", "local", "standard", "faq", "catalog", "doc")

AnswerMode = Literal["catalog", "faq", "extractive", "llm", "refusal"]


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a source: an article, a clause, an FAQ pair or a catalogue record."""

    id: str
    text: str
    source: str
    kind: str
    path: str = ""
    chapter: str | None = None
    clauses: tuple[str, ...] = ()
    standards: tuple[str, ...] = ()
    standard: str | None = None
    date: str | None = None
    status: str | None = None
    question: str | None = None
    content_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "kind": self.kind,
            "path": self.path,
            "chapter": self.chapter,
            "clauses": list(self.clauses),
            "standards": list(self.standards),
            "standard": self.standard,
            "date": self.date,
            "status": self.status,
            "question": self.question,
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(
            id=data["id"],
            text=data["text"],
            source=data["source"],
            kind=data["kind"],
            path=data.get("path", ""),
            chapter=data.get("chapter"),
            clauses=tuple(data.get("clauses", ())),
            standards=tuple(data.get("standards", ())),
            standard=data.get("standard"),
            date=data.get("date"),
            status=data.get("status"),
            question=data.get("question"),
            content_hash=data.get("content_hash", ""),
        )


@dataclass(frozen=True)
class Hit:
    """A chunk found for a question, with the fused score that ranked it and the signals behind it."""

    chunk: Chunk
    score: float
    bm25_score: float | None = None
    dense_similarity: float | None = None


@dataclass(frozen=True)
class Citation:
    """What an answer rests on; its JSON shape is the CLI's stable hit shape."""

    source: str
    kind: str
    clause: tuple[str, ...]
    standard: str | None
    score: float
    text: str

    @classmethod
    def from_hit(cls, hit: Hit) -> Citation:
        chunk = hit.chunk
        return cls(chunk.source, chunk.kind, chunk.clauses, chunk.standard, hit.score, chunk.text)

    @property
    def label(self) -> str:
        """Human citation such as 《中华人民共和国标准化法》第二十七条 or GB/T 19001-2016."""
        if self.standard and self.kind in ("catalog", "standard") and not self.clause:
            return self.standard
        if self.kind == "faq":
            return self.source.strip("《》")
        title = self.source if self.source.startswith("《") else f"《{self.source}》"
        clause = "、".join(self.clause[:3])
        if self.kind == "standard" and clause:
            return f"{title} {clause}"
        return f"{title}{clause}"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "clause": list(self.clause),
            "standard": self.standard,
            "score": round(self.score, 6),
            "text": self.text,
        }


@dataclass(frozen=True)
class CatalogueRecord:
    """One edition of a standard in the catalogue."""

    number: str
    title: str
    status: str
    approval_date: str | None = None
    effective_date: str | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    adopts: tuple[str, ...] = ()
    category: str | None = None
    mandatory: bool | None = None
    note: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "status": self.status,
            "approval_date": self.approval_date,
            "effective_date": self.effective_date,
            "replaced_by": self.replaced_by,
            "replaces": self.replaces,
            "adopts": list(self.adopts),
            "category": self.category,
            "mandatory": self.mandatory,
            "note": self.note,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatalogueRecord:
        return cls(
            number=data["number"],
            title=data["title"],
            status=data["status"],
            approval_date=data.get("approval_date"),
            effective_date=data.get("effective_date"),
            replaced_by=data.get("replaced_by"),
            replaces=data.get("replaces"),
            adopts=tuple(data.get("adopts", ())),
            category=data.get("category"),
            mandatory=data.get("mandatory"),
            note=data.get("note"),
            source=data.get("source", ""),
        )


@dataclass(frozen=True)
class Answer:
    """What the answer chain returns for one question."""

    text: str
    citations: tuple[Citation, ...]
    confidence: float
    mode: str
    escalate: bool
    question: str = ""
    reasons: tuple[str, ...] = field(default=())
    suggestions: tuple[str, ...] = ()

    def to_json(self, latency_ms: float | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "answer": self.text,
            "mode": self.mode,
            "confidence": round(self.confidence, 4),
            "escalate": self.escalate,
            "citations": [c.to_json() for c in self.citations],
            "suggestions": list(self.suggestions),
        }
        if latency_ms is not None:
            data["latency_ms"] = round(latency_ms, 2)
        return data
