"""Keyword search: BM25 (bm25s) over jieba tokens of the chunks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np


class BM25Index:
    """A BM25 index whose document i is chunk i of the version."""

    def __init__(self, model: bm25s.BM25) -> None:
        self._model = model
        vocab = model.vocab_dict or {}
        self._vocab = frozenset(vocab)

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]]) -> BM25Index:
        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index([list(tokens) or [""] for tokens in token_lists], show_progress=False)
        return cls(model)

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        return cls(bm25s.BM25.load(str(directory), show_progress=False, verbosity=0))

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query tokens."""
        known = [t for t in tokens if t in self._vocab]
        n_docs = int(self._model.scores["num_docs"])
        if not known:
            return np.zeros(n_docs, dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)
