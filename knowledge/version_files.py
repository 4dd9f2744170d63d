"""The files of one knowledge-base version besides its Chroma collection: chunks, BM25, catalogue."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from knowledge.types import Chunk

CHUNKS_FILE = "chunks.jsonl"
CATALOGUE_FILE = "catalogue.jsonl"
BM25_DIR = "bm25"


def write_chunks(directory: Path, chunks: Iterable[Chunk]) -> None:
    path = directory / CHUNKS_FILE
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def read_chunks(directory: Path) -> list[Chunk]:
    with (directory / CHUNKS_FILE).open(encoding="utf-8") as lines:
        return [Chunk.from_dict(json.loads(line)) for line in lines if line.strip()]
