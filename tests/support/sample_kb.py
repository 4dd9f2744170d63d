"""The sample knowledge base (data/sample, plus any extra source folders) built for a test module with the
default embedding model, and an answerer over it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from config.settings import Settings
from ingest.build import build_knowledge_base
from knowledge.chain import Answerer
from knowledge.embeddings import ArrayEmbeddings, build_embeddings
from knowledge.kb import KnowledgeBase, open_knowledge_base

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def build_sample_kb(
    tmp_path_factory: pytest.TempPathFactory,
    *extra: Path,
    embeddings: ArrayEmbeddings | None = None,
    today: date | None = None,
    with_sample: bool = True,
) -> tuple[KnowledgeBase, Path]:
    """A new knowledge base of data/sample and `extra`, opened; and its data directory."""
    if with_sample and not (SAMPLE / "faq.csv").is_file():
        pytest.skip("data/sample is missing")
    data_dir = tmp_path_factory.mktemp("kb")
    settings = Settings(data_dir=data_dir)
    embeddings = embeddings or build_embeddings(settings.embedding)
    sources = [SAMPLE, *extra] if with_sample else list(extra)
    build_knowledge_base(sources, settings, embeddings=embeddings)
    return open_knowledge_base(settings, embeddings=embeddings, today=today), data_dir


def sample_answerer(
    tmp_path_factory: pytest.TempPathFactory, *extra: Path, with_sample: bool = True
) -> Answerer:
    """An answerer over a new knowledge base of data/sample and `extra`, with default settings."""
    kb, data_dir = build_sample_kb(tmp_path_factory, *extra, with_sample=with_sample)
    return Answerer(kb, Settings(data_dir=data_dir))
