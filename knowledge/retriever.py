"""Hybrid retrieval: BM25 over jieba tokens and dense search in Chroma, fused by weighted reciprocal
rank, then steered by what the question names (a standard number, a law, a place) and by authority."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from config.errors import StandardNumberError
from config.settings import RetrievalSettings
from knowledge.bm25_index import BM25Index
from knowledge.embeddings import ArrayEmbeddings
from knowledge.lexicon import PENALTY_CUES, PENALTY_MARKS
from knowledge.source_names import SourceNames
from knowledge.standard_numbers import find_standard_numbers, parse_standard_number
from knowledge.tokenize import normalise_text, tokenize
from knowledge.types import Chunk, Hit
from knowledge.vectorstore import VectorCollection

# Between passages that match equally well, national law goes before regulation before departmental
# rule (a tie-break, kept small: the better-matching article should still win). A local regulation
# is held back unless the question names its place.
AUTHORITY: dict[str, int] = {"law": 3, "regulation": 2, "rule": 1, "faq": 2, "standard": 1, "catalog": 1}


@dataclass
class _Candidate:
    index: int
    fused: float = 0.0
    bm25: float | None = None
    dense: float | None = None


class HybridRetriever:
    """Searches one knowledge-base version."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        bm25: BM25Index,
        vectors: VectorCollection | None,
        embeddings: ArrayEmbeddings | None,
        settings: RetrievalSettings,
    ) -> None:
        self.chunks = list(chunks)
        self.settings = settings
        self._bm25 = bm25
        self._vectors = vectors
        self._embeddings = embeddings
        self._position = {chunk.id: i for i, chunk in enumerate(self.chunks)}
        self._by_standard: dict[str, list[int]] = {}
        for i, chunk in enumerate(self.chunks):
            for number in {chunk.standard, *chunk.standards} - {None}:
                assert number is not None
                self._by_standard.setdefault(number, []).append(i)
                self._by_standard.setdefault(_key_of(number), []).append(i)
        self._sources = SourceNames(c.source for c in self.chunks if c.kind not in ("faq", "catalog"))
        self._kinds = np.array([c.kind for c in self.chunks])
        self._statuses = np.array([c.status or "" for c in self.chunks])

    def search(
        self,
        question: str,
        k: int = 5,
        *,
        kinds: Collection[str] | None = None,
        statuses: Collection[str] | None = None,
    ) -> list[Hit]:
        """The k best chunks for the question, best first."""
        text = normalise_text(question)
        if not text or not self.chunks:
            return []
        settings = self.settings
        allowed = self._mask(kinds, statuses)
        candidates: dict[int, _Candidate] = {}

        if settings.bm25_weight > 0:
            scores = self._bm25.scores(tokenize(text, expand=True))
            if allowed is not None:
                scores = np.where(allowed, scores, 0.0)
            for rank, index in enumerate(_top(scores, settings.candidates), start=1):
                cand = candidates.setdefault(index, _Candidate(index))
                cand.bm25 = float(scores[index])
                cand.fused += settings.bm25_weight / (settings.rrf_k + rank)

        if settings.dense_weight > 0 and self._vectors is not None and self._embeddings is not None:
            vector = self.query_vector(text)
            matches = self._vectors.query(vector, settings.candidates, kinds=kinds, statuses=statuses)
            for rank, match in enumerate(matches, start=1):
                position = self._position.get(match.chunk_id)
                if position is None:
                    continue
                cand = candidates.setdefault(position, _Candidate(position))
                cand.dense = match.similarity
                cand.fused += settings.dense_weight / (settings.rrf_k + rank)

        self._steer(text, candidates, allowed)
        ranked = sorted(candidates.values(), key=lambda c: (-c.fused, c.index))[:k]
        return [Hit(self.chunks[c.index], c.fused, c.bm25, c.dense) for c in ranked]

    def query_vector(self, text: str) -> np.ndarray:
        """The question embedded as a query (the model's LRU keeps recent ones, since one question
        is searched several times while it is answered)."""
        assert self._embeddings is not None
        return self._embeddings.query_vector(text)

    def _mask(self, kinds: Collection[str] | None, statuses: Collection[str] | None) -> np.ndarray | None:
        if not kinds and not statuses:
            return None
        mask = np.ones(len(self.chunks), dtype=bool)
        if kinds:
            mask &= np.isin(self._kinds, list(kinds))
        if statuses:
            mask &= np.isin(self._statuses, list(statuses))
        return mask

    def _steer(self, text: str, candidates: dict[int, _Candidate], allowed: np.ndarray | None) -> None:
        settings = self.settings
        numbers = [m.number for m in find_standard_numbers(text)]
        for number in numbers:
            exact = set(self._by_standard.get(number.canonical, ())) if number.year else set()
            for index in self._by_standard.get(number.key, ()):
                if allowed is not None and not allowed[index]:
                    continue
                cand = candidates.setdefault(index, _Candidate(index))
                chunk = self.chunks[index]
                own = chunk.standard is not None and _key_of(chunk.standard) == number.key
                boost = settings.standard_boost * (1.0 if own else 0.5)
                if exact and index not in exact:
                    boost *= 0.5
                cand.fused += boost
        named = self._sources.named_in(text)
        places = self._sources.places_in(text)
        about_penalty = any(cue in text for cue in PENALTY_CUES)
        for cand in candidates.values():
            chunk = self.chunks[cand.index]
            place = self._sources.place(chunk.source) if chunk.kind == "local" else None
            if chunk.source in named or (place is not None and place in places):
                cand.fused += settings.source_boost
            if about_penalty and _is_penalty(chunk):
                cand.fused += settings.source_boost / 2
            if place is None:
                cand.fused += settings.authority_boost * AUTHORITY.get(chunk.kind, 1)
            elif place not in places:
                cand.fused -= settings.local_penalty


def _is_penalty(chunk: Chunk) -> bool:
    return "法律责任" in (chunk.chapter or "") or any(mark in chunk.text for mark in PENALTY_MARKS)


def _top(scores: np.ndarray, n: int) -> list[int]:
    positive = int(np.count_nonzero(scores > 0))
    n = min(n, positive)
    if n <= 0:
        return []
    part = np.argpartition(-scores, n - 1)[:n]
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]


def _key_of(canonical: str) -> str:
    """The number without its year (GB/T 19001-2016 → GB/T 19001); text that is no number stays."""
    try:
        return parse_standard_number(canonical).key
    except StandardNumberError:
        return canonical
