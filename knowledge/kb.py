"""Opening the active knowledge-base version: its chunks, BM25 index, Chroma collection and catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from config.errors import KnowledgeBaseError
from config.settings import Settings
from knowledge.bm25_index import BM25Index
from knowledge.catalogue import Catalogue
from knowledge.embeddings import ArrayEmbeddings, build_embeddings
from knowledge.registry import Registry, VersionInfo
from knowledge.retriever import HybridRetriever
from knowledge.vectorstore import VectorCollection, connect
from knowledge.version_files import BM25_DIR, CATALOGUE_FILE, read_chunks


@dataclass
class KnowledgeBase:
    """Everything needed to answer from one version."""

    version: int
    info: VersionInfo
    retriever: HybridRetriever
    catalogue: Catalogue
    embeddings: ArrayEmbeddings


def open_knowledge_base(
    settings: Settings,
    *,
    version: int | None = None,
    embeddings: ArrayEmbeddings | None = None,
    today: date | None = None,
) -> KnowledgeBase:
    """The active version (or the one asked for); KnowledgeBaseError when there is none."""
    registry = Registry(settings.data_dir)
    state = registry.read()
    number = version if version is not None else state.active
    if number is None:
        raise KnowledgeBaseError(
            "知识库为空，请先导入资料：stdbot ingest PATH / "
            f"no active knowledge base in {settings.data_dir}; "
            "run `stdbot ingest PATH` first"
        )
    info = state.get(number)
    embeddings = embeddings or build_embeddings(settings.embedding)
    model_id = str(getattr(embeddings, "model_id", ""))
    if info.embedding != model_id:
        raise KnowledgeBaseError(
            f"知识库版本 {number} 用 {info.embedding} 建立，当前设置的嵌入模型是 {model_id}，请重新导入 / "
            f"version {number} was built with embedding {info.embedding}, "
            f"settings select {model_id}: re-ingest"
        )
    directory = registry.version_dir(number)
    return KnowledgeBase(
        version=number,
        info=info,
        retriever=_open_retriever(settings, directory, info, embeddings),
        catalogue=Catalogue.load(directory / CATALOGUE_FILE, today=today),
        embeddings=embeddings,
    )


def _open_retriever(
    settings: Settings, directory: Path, info: VersionInfo, embeddings: ArrayEmbeddings
) -> HybridRetriever:
    try:
        chunks = read_chunks(directory)
        bm25 = BM25Index.load(directory / BM25_DIR)
    except (OSError, ValueError) as exc:
        raise KnowledgeBaseError(
            f"知识库版本 {info.version} 的文件缺失或损坏 / version files unreadable: {exc}"
        ) from None
    vectors = VectorCollection(connect(settings.chroma, settings.data_dir), info.collection)
    return HybridRetriever(chunks, bm25, vectors, embeddings, settings.retrieval)
