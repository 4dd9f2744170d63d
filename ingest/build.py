"""Building a new knowledge-base version: collect sources, embed (through the cache), write a new
Chroma collection, the BM25 index and the catalogue, then register the version."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from config.errors import KnowledgeBaseError
from config.settings import Settings
from ingest.build_cache import BuildCache
from ingest.collect import Collected, FileReport, collect
from knowledge.bm25_index import BM25Index
from knowledge.catalogue import Catalogue
from knowledge.embeddings import ArrayEmbeddings, build_embeddings
from knowledge.registry import Registry, VersionInfo
from knowledge.tokenize import TOKENIZER_ID, tokenize
from knowledge.types import Chunk
from knowledge.vectorstore import VectorCollection, connect, drop_collection, embedding_text
from knowledge.version_files import BM25_DIR, CATALOGUE_FILE, write_chunks

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stages are "load", "embed", "index"."""


@dataclass(frozen=True)
class BuildReport:
    version: int
    activated: bool
    collected: Collected
    chunks: int
    records: int
    embedded: int
    cached: int
    seconds: float

    @property
    def failed(self) -> tuple[FileReport, ...]:
        return self.collected.failed


def build_knowledge_base(
    paths: Sequence[Path],
    settings: Settings,
    *,
    activate: bool = True,
    embeddings: ArrayEmbeddings | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Build and register a new version from `paths`; the active version is untouched until the
    new one is complete."""
    started = time.perf_counter()
    notify = progress or (lambda stage, done, total: None)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise KnowledgeBaseError(f"路径不存在 / path not found: {', '.join(missing)}")
    files_done = 0

    def on_file(_: FileReport) -> None:
        nonlocal files_done
        files_done += 1
        notify("load", files_done, 0)

    collected = collect(list(paths), chunk_chars=settings.ingest.chunk_chars, on_file=on_file)
    chunks = list(collected.chunks)
    if not chunks:
        raise KnowledgeBaseError("没有可导入的内容 / nothing to ingest: every file failed or was empty")

    embeddings = embeddings or build_embeddings(settings.embedding)
    model_id = embeddings.model_id
    registry = Registry(settings.data_dir)
    version = registry.reserve()
    directory = registry.version_dir(version)
    collection_name = f"stdbot_kb_v{version}"
    client = connect(settings.chroma, settings.data_dir)
    try:
        cache = BuildCache((settings.embedding.cache_dir or settings.data_dir) / "build_cache.sqlite")
        try:

            def on_batch(done: int) -> None:
                notify("embed", done, len(chunks))

            texts = [dense_text(c) for c in chunks]
            notify("embed", 0, len(chunks))
            embed = embeddings.embed_array
            vectors, cached = cache.embed(embeddings.cache_id, texts, embed, on_batch=on_batch)
            notify("embed", len(chunks), len(chunks))
            tokens = cache.tokens(TOKENIZER_ID, [_keyword_text(c) for c in chunks], tokenize)
        finally:
            cache.close()
        collection = VectorCollection(client, collection_name, create=True)
        collection.add(chunks, vectors)
        notify("index", 1, 3)
        BM25Index.build(tokens).save(directory / BM25_DIR)
        notify("index", 2, 3)
        write_chunks(directory, chunks)
        Catalogue(collected.records).save(directory / CATALOGUE_FILE)
        notify("index", 3, 3)
        info = VersionInfo(
            version=version,
            collection=collection_name,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            embedding=model_id,
            chunks=len(chunks),
            records=len(collected.records),
            sources=tuple(sorted(r.path for r in collected.loaded)),
        )
        registry.add(info, activate=activate)
    except BaseException:
        drop_collection(client, collection_name)
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return BuildReport(
        version=version,
        activated=activate,
        collected=collected,
        chunks=len(chunks),
        records=len(collected.records),
        embedded=len(chunks) - cached,
        cached=cached,
        seconds=time.perf_counter() - started,
    )


def dense_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its passage with source and chapter; a catalogue record only by
    its number and title (the first sentence), since its status and dates are answered from the
    catalogue and would only blur what the record is about."""
    text = embedding_text(chunk)
    if chunk.kind == "catalog":
        head, _, _ = text.partition("。")
        return head or text
    return text


def _keyword_text(chunk: Chunk) -> str:
    return f"{chunk.chapter or ''}\n{chunk.text}"
