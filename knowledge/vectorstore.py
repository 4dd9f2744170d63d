"""Dense vectors in Chroma: one collection per knowledge-base version, always with our own embeddings."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from config.errors import KnowledgeBaseError
from config.settings import ChromaSettings
from knowledge.types import Chunk

_ADD_BATCH = 2000


def embedding_text(chunk: Chunk) -> str:
    """What gets embedded for a chunk: its source title and chapter give the passage context."""
    head = chunk.source if chunk.kind not in ("faq", "catalog") else ""
    if chunk.chapter:
        head = f"{head} {chunk.chapter}".strip()
    return f"{head}\n{chunk.text}" if head else chunk.text


def connect(settings: ChromaSettings, data_dir: Path) -> Any:
    """A Chroma client: embedded under the data directory, or a `chroma run` server."""
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    client_settings = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.mode == "http":
        return chromadb.HttpClient(host=settings.host, port=settings.port, settings=client_settings)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=client_settings)


@dataclass(frozen=True)
class DenseMatch:
    chunk_id: str
    similarity: float


class VectorCollection:
    """One version's Chroma collection."""

    def __init__(self, client: Any, name: str, *, create: bool = False) -> None:
        self.name = name
        if create:
            self._collection = client.create_collection(
                name, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        else:
            try:
                self._collection = client.get_collection(name, embedding_function=None)
            except Exception as exc:  # chromadb raises several types for a missing collection
                raise KnowledgeBaseError(
                    f"向量库中找不到集合 / Chroma collection not found: {name} ({exc})"
                ) from None

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        for start in range(0, len(chunks), _ADD_BATCH):
            part = chunks[start : start + _ADD_BATCH]
            self._collection.add(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + len(part)],
                metadatas=[{"kind": c.kind, "status": c.status or ""} for c in part],
            )

    def count(self) -> int:
        return int(self._collection.count())

    def query(
        self,
        vector: np.ndarray,
        n: int,
        *,
        kinds: Collection[str] | None = None,
        statuses: Collection[str] | None = None,
    ) -> list[DenseMatch]:
        where: list[dict[str, Any]] = []
        if kinds:
            where.append({"kind": {"$in": sorted(kinds)}})
        if statuses:
            where.append({"status": {"$in": sorted(statuses)}})
        clause: dict[str, Any] | None = None
        if len(where) == 1:
            clause = where[0]
        elif where:
            clause = {"$and": where}
        result = self._collection.query(
            query_embeddings=vector.reshape(1, -1), n_results=n, where=clause, include=["distances"]
        )
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [DenseMatch(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]


def drop_collection(client: Any, name: str) -> None:
    """Delete a version's collection if it exists."""
    try:
        client.delete_collection(name)
    except Exception:  # already gone
        return
