"""Embeddings and keyword tokens cached by content hash, so a rebuild of unchanged sources neither
embeds nor tokenises them again."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

EmbedFn = Callable[[list[str]], np.ndarray]


def text_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


Tokenize = Callable[[str], list[str]]


class BuildCache:
    """SQLite tables of (model, text hash) → float32 vector and (tokenizer, text hash) → tokens."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60)  # may be shared by several builds at once
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors "
            "(key TEXT PRIMARY KEY, dim INTEGER NOT NULL, data BLOB NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, data TEXT NOT NULL)")

    def close(self) -> None:
        self._db.close()

    def embed(
        self,
        model_id: str,
        texts: Sequence[str],
        embed: EmbedFn,
        *,
        on_batch: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors for `texts` (in order) and how many of them came from the cache; `on_batch` is
        told how many texts have their vector so far (cached ones first)."""
        keys = [text_key(model_id, t) for t in texts]
        found = self._lookup(set(keys))
        cached = sum(1 for k in keys if k in found)
        missing = sorted({k: i for i, k in enumerate(keys) if k not in found}.items(), key=lambda kv: kv[1])
        counts = Counter(keys)
        done = cached
        if on_batch and done:
            on_batch(done)
        batch = 64
        for start in range(0, len(missing), batch):
            part = missing[start : start + batch]
            vectors = embed([texts[i] for _, i in part])
            rows = [
                (k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
                for (k, _), v in zip(part, vectors, strict=True)
            ]
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            self._db.commit()
            for (key, _), vector in zip(part, vectors, strict=True):
                found[key] = np.asarray(vector, dtype=np.float32)
            done += sum(counts[k] for k, _ in part)
            if on_batch:
                on_batch(done)
        if not keys:
            return np.zeros((0, 0), dtype=np.float32), 0
        return np.vstack([found[k] for k in keys]), cached

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, _dim, data in self._db.execute(
                f"SELECT key, dim, data FROM vectors WHERE key IN ({marks})", part
            ):
                found[key] = np.frombuffer(data, dtype=np.float32)
        return found

    def tokens(self, tokenizer_id: str, texts: Sequence[str], tokenize: Tokenize) -> list[list[str]]:
        """Keyword tokens for `texts` (in order), tokenising only texts not seen before."""
        keys = [text_key(tokenizer_id, t) for t in texts]
        found: dict[str, list[str]] = {}
        wanted = list(set(keys))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, data in self._db.execute(f"SELECT key, data FROM tokens WHERE key IN ({marks})", part):
                found[key] = json.loads(data)
        rows = []
        for key, text in zip(keys, texts, strict=True):
            if key not in found:
                found[key] = tokenize(text)
                rows.append((key, json.dumps(found[key], ensure_ascii=False)))
        self._db.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?)", rows)
        self._db.commit()
        return [found[k] for k in keys]
