from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import KnowledgeBaseError
from config.settings import EmbeddingSettings, Settings
from ingest.build import build_knowledge_base
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.kb import open_knowledge_base
from knowledge.registry import Registry

RULES = """# 示例产品标识管理办法

## 第一章 总则

第一条 为了规范示例产品的标识，制定本办法。

第二条 生产者应当在产品或者包装上标明产品名称、生产厂名和厂址。

## 第二章 监督

第三条 市场监督管理部门对产品标识进行监督抽查，发现标识不符合规定的，责令限期改正。

第四条 伪造产品产地的，没收违法所得，并处罚款。
"""


@pytest.fixture(scope="module")
def embeddings() -> UniversalSentenceEncoder:
    return UniversalSentenceEncoder()


def _corpus(root: Path) -> Path:
    folder = root / "sources"
    folder.mkdir()
    (folder / "示例产品标识管理办法(2024-01-01).md").write_text(RULES, encoding="utf-8")
    (folder / "faq.csv").write_text(
        "问题,答案,依据\n产品包装上必须写厂址吗,需要，生产者应当标明生产厂名和厂址。,《示例产品标识管理办法》第二条\n",
        encoding="utf-8",
    )
    return folder


def test_build_open_search_and_rollback(tmp_path: Path, embeddings: UniversalSentenceEncoder) -> None:
    settings = Settings(data_dir=tmp_path / "var", embedding=EmbeddingSettings(cache_dir=None))
    folder = _corpus(tmp_path)
    first = build_knowledge_base([folder], settings, embeddings=embeddings)
    assert first.version == 1 and first.activated and not first.failed
    assert first.chunks >= 5 and first.cached == 0

    kb = open_knowledge_base(settings, embeddings=embeddings)
    hits = kb.retriever.search("包装上要不要写厂家地址", 3)
    assert any("第二条" in h.chunk.clauses for h in hits)
    assert hits[0].score >= hits[-1].score

    second = build_knowledge_base([folder], settings, embeddings=embeddings)
    assert second.version == 2 and second.embedded == 0 and second.cached == second.chunks
    assert open_knowledge_base(settings, embeddings=embeddings).version == 2

    Registry(settings.data_dir).rollback()
    reopened = open_knowledge_base(settings, embeddings=embeddings)
    assert reopened.version == 1
    assert reopened.retriever.search("伪造产地怎么处罚", 1)[0].chunk.clauses == ("第四条",)


def test_build_without_activation_keeps_serving_old_version(
    tmp_path: Path, embeddings: UniversalSentenceEncoder
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    folder = _corpus(tmp_path)
    build_knowledge_base([folder], settings, embeddings=embeddings)
    report = build_knowledge_base([folder], settings, embeddings=embeddings, activate=False)
    assert not report.activated
    assert open_knowledge_base(settings, embeddings=embeddings).version == 1


def test_failed_file_is_reported_and_the_rest_ingests(
    tmp_path: Path, embeddings: UniversalSentenceEncoder
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    folder = _corpus(tmp_path)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not a pdf at all")
    report = build_knowledge_base([folder], settings, embeddings=embeddings)
    assert [Path(f.path).name for f in report.failed] == ["broken.pdf"]
    assert report.failed[0].error
    assert open_knowledge_base(settings, embeddings=embeddings).retriever.search("厂址", 1)


def test_nothing_to_ingest_registers_nothing(tmp_path: Path, embeddings: UniversalSentenceEncoder) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KnowledgeBaseError, match="nothing to ingest"):
        build_knowledge_base([empty], settings, embeddings=embeddings)
    assert Registry(settings.data_dir).read().versions == ()
    with pytest.raises(KnowledgeBaseError, match="stdbot ingest"):
        open_knowledge_base(settings, embeddings=embeddings)


def test_missing_path_is_named(tmp_path: Path, embeddings: UniversalSentenceEncoder) -> None:
    with pytest.raises(KnowledgeBaseError, match="no-such-folder"):
        build_knowledge_base(
            [tmp_path / "no-such-folder"], Settings(data_dir=tmp_path), embeddings=embeddings
        )
